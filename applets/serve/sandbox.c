/* The serve applet's confinement: no_new_privs and a libseccomp allow-list holding only the system
 * calls the event loops, the file cache and the allocator make. Anything else (execve, socket,
 * connect, ptrace ...) fails with EPERM, so a bug in the server cannot start a shell or reach out.
 * Server layer. */
#include "sandbox.h"

#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>

/* Plain allow, no argument filter. */
static const int allowed_syscalls[] = {
        /* the event loop and sockets */
        SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_pwait2), SCMP_SYS(epoll_ctl),
        SCMP_SYS(accept4), SCMP_SYS(read), SCMP_SYS(readv), SCMP_SYS(recvfrom), SCMP_SYS(write),
        SCMP_SYS(writev), SCMP_SYS(sendto), SCMP_SYS(sendfile), SCMP_SYS(shutdown), SCMP_SYS(close),
        SCMP_SYS(setsockopt), SCMP_SYS(getsockopt), SCMP_SYS(getsockname), SCMP_SYS(getpeername),
        SCMP_SYS(fcntl), SCMP_SYS(poll), SCMP_SYS(ppoll),
        /* files beneath the root: open, stat, list */
        SCMP_SYS(openat), SCMP_SYS(openat2), SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(statx),
        SCMP_SYS(lseek), SCMP_SYS(pread64), SCMP_SYS(getdents64), SCMP_SYS(readlinkat),
        SCMP_SYS(inotify_add_watch), SCMP_SYS(inotify_rm_watch), /* the file cache's directory watches */
        /* SIGHUP: the access log is reopened in place */
        SCMP_SYS(dup3),
        /* memory (the allocator, thread stacks) */
        SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise),
        SCMP_SYS(mincore), /* calloc of a big recycled block: which pages to write, which to drop */
        /* threads, time, signals, exit */
        SCMP_SYS(futex), SCMP_SYS(set_robust_list), SCMP_SYS(rseq), SCMP_SYS(sched_yield),
        SCMP_SYS(sched_getaffinity), SCMP_SYS(clock_gettime), SCMP_SYS(clock_nanosleep),
        SCMP_SYS(nanosleep), SCMP_SYS(gettimeofday), SCMP_SYS(getpid), SCMP_SYS(gettid),
        SCMP_SYS(tgkill), SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask), SCMP_SYS(sigaltstack),
        SCMP_SYS(restart_syscall), SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(getrandom),
};

int sandbox_enter(struct err *e)
{
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return err_set(e, errno, "prctl(PR_SET_NO_NEW_PRIVS)");
        scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
        if (ctx == NULL)
                return err_set(e, ENOMEM, "seccomp_init");
        int rc = 0;
        for (size_t i = 0; i < sizeof(allowed_syscalls) / sizeof(allowed_syscalls[0]) && rc == 0; i++)
                rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed_syscalls[i], 0);
        /* Memory may be mapped and protected, never made executable: no code injected at run time. */
        if (rc == 0)
                rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
                                      SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
        if (rc == 0)
                rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
                                      SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
        /* Threads only (never a new process); clone3 hides its flags from seccomp, so it reports
         * ENOSYS and the C library falls back to clone. */
        if (rc == 0)
                rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                                      SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
        if (rc == 0)
                rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
        /* Every thread, including ones started before the filter. */
        if (rc == 0)
                rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
        if (rc == 0)
                rc = seccomp_load(ctx);
        seccomp_release(ctx);
        if (rc < 0)
                return err_set(e, -rc, "install the seccomp filter");
        return 0;
}
