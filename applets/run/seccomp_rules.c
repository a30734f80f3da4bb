/* The default seccomp profile's rules (see seccomp_rules.h). Part of `run`. */
#include "seccomp_rules.h"

#include <errno.h>
#include <sched.h>
#include <stddef.h>
#include <sys/ioctl.h>

/* Kernel and system state a container must not change, and interfaces with a history of exploits. */
static const char *const denied_syscalls[] = {
        /* replacing or extending the kernel */
        "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "create_module",
        "reboot", "swapon", "swapoff", "iopl", "ioperm",
        /* the filesystem tree: mounts and namespace changes */
        "mount", "umount", "umount2", "pivot_root", "move_mount", "open_tree", "fsopen", "fsconfig",
        "fsmount", "fspick", "mount_setattr", "unshare", "setns",
        /* kernel keyrings are not namespaced */
        "keyctl", "add_key", "request_key",
        /* tracing and powerful kernel interfaces */
        "bpf", "perf_event_open", "userfaultfd", "open_by_handle_at", "lookup_dcookie", "kcmp",
        "fanotify_init", "quotactl", "quotactl_fd", "acct", "nfsservctl", "get_kernel_syms",
        "query_module", "uselib", "_sysctl", "sysfs", "ustat", "vm86", "vm86old", "syslog",
        /* the clock is the host's */
        "clock_settime", "clock_adjtime", "settimeofday", "adjtimex", "stime",
};

/* clone() creating namespaces is unshare() by another name. */
static const unsigned long namespace_flags[] = {
        CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP,
};

int seccomp_default_rules(scmp_filter_ctx ctx, const char **what)
{
        int r;
        for (size_t i = 0; i < sizeof(denied_syscalls) / sizeof(denied_syscalls[0]); i++) {
                int nr = seccomp_syscall_resolve_name(denied_syscalls[i]);
                if (nr == __NR_SCMP_ERROR)
                        continue; /* not on this architecture */
                if ((r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0)) < 0 && r != -EEXIST) {
                        *what = denied_syscalls[i];
                        return r;
                }
        }
        *what = "clone";
        for (size_t i = 0; i < sizeof(namespace_flags) / sizeof(namespace_flags[0]); i++)
                /* clone's flags are its first argument on x86-64 (the order differs on s390). */
                if ((r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                                          SCMP_A0(SCMP_CMP_MASKED_EQ, namespace_flags[i], namespace_flags[i]))) < 0)
                        return r;
        /* clone3 passes its flags in memory, out of seccomp's sight: ENOSYS makes the C library fall back
         * to clone(), which is filtered above (Docker does the same). */
        *what = "clone3";
        if ((r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0)) < 0)
                return r;
        /* The caller's terminal is shared: no pushing input into it (TIOCSTI) or console tricks. */
        *what = "ioctl";
        if ((r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
                                  SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCSTI))) < 0 ||
            (r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
                                  SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCLINUX))) < 0)
                return r;
        *what = NULL;
        return 0;
}
