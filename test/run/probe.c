/* A static helper the `run` tests copy into their busybox root filesystem: it makes the system calls
 * and workloads that busybox cannot (keyctl, a memory hog, a CPU burner). Test code, not the runtime.
 * Usage: probe mount|unshare|keyctl|clone-newns|clone3|tiocsti|ptrace-init
 *                                    -> "ok" or the errno name
 *        probe alloc MIB              -> touches MIB MiB, prints "survived"
 *        probe burn MS                -> spins for MS wall milliseconds, prints "cpu_ms wall_ms"
 *        probe fork N                 -> starts up to N sleeping children, prints how many started
 *        probe forkbomb MS            -> every process forks without end; prints "contained" once
 *                                        a fork of its own is refused (EAGAIN), or after MS ms
 *                                        "not contained" */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int report(long result)
{
        if (result >= 0) {
                puts("ok");
                return 0;
        }
        puts(errno == EPERM ? "EPERM" : errno == ENOSYS ? "ENOSYS" : strerror(errno));
        return 1;
}

static double now_ms(clockid_t clock)
{
        struct timespec ts;
        clock_gettime(clock, &ts);
        return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
        if (argc < 2)
                return 2;
        if (strcmp(argv[1], "mount") == 0)
                return report(mount("probe", "/tmp", "tmpfs", 0, NULL));
        if (strcmp(argv[1], "unshare") == 0)
                return report(unshare(CLONE_NEWUTS));
        if (strcmp(argv[1], "keyctl") == 0) /* KEYCTL_GET_KEYRING_ID of the session keyring, creating it */
                return report(syscall(SYS_keyctl, 0, -3, 1, 0, 0));
        if (strcmp(argv[1], "clone-newns") == 0) { /* a child in a new mount namespace: unshare by clone */
                long pid = syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0);
                if (pid == 0)
                        _exit(0);
                if (pid > 0)
                        waitpid((pid_t)pid, NULL, 0);
                return report(pid);
        }
        if (strcmp(argv[1], "clone3") == 0) { /* clone_args too short: EINVAL unless filtered */
                char args[8] = { 0 };
                return report(syscall(SYS_clone3, args, sizeof(args)));
        }
        if (strcmp(argv[1], "ptrace-init") == 0) { /* attach to PID 1 (and let it go again) */
                long r = ptrace(PTRACE_ATTACH, 1, NULL, NULL);
                int saved = errno;
                if (r == 0) {
                        waitpid(1, NULL, __WALL);
                        ptrace(PTRACE_DETACH, 1, NULL, NULL);
                }
                errno = saved;
                return report(r);
        }
        if (strcmp(argv[1], "tiocsti") == 0) { /* on stdin; ENOTTY where that is no terminal, unless filtered */
                char c = 'x';
                return report(ioctl(0, TIOCSTI, &c));
        }
        if (strcmp(argv[1], "alloc") == 0 && argc > 2) {
                /* Blocks are chained and read back, so no compiler may elide the allocations. */
                long mib = atol(argv[2]);
                char **head = NULL;
                for (long i = 0; i < mib; i++) {
                        char **block = malloc(1 << 20);
                        if (block == NULL) {
                                puts("malloc failed");
                                return 1;
                        }
                        memset(block, (int)i, 1 << 20);
                        *block = (char *)head;
                        head = block;
                }
                unsigned long sum = 0;
                for (char **block = head; block; block = (char **)*block)
                        sum += (unsigned char)((char *)block)[4096];
                printf("survived%s\n", sum == (unsigned long)-1 ? " (checksum)" : "");
                return 0;
        }
        if (strcmp(argv[1], "burn") == 0 && argc > 2) {
                double wall0 = now_ms(CLOCK_MONOTONIC), cpu0 = now_ms(CLOCK_PROCESS_CPUTIME_ID);
                double limit = atof(argv[2]);
                volatile unsigned long spin = 0;
                while (now_ms(CLOCK_MONOTONIC) - wall0 < limit)
                        for (int i = 0; i < 10000; i++)
                                spin++;
                printf("%.0f %.0f\n", now_ms(CLOCK_PROCESS_CPUTIME_ID) - cpu0, now_ms(CLOCK_MONOTONIC) - wall0);
                return 0;
        }
        if (strcmp(argv[1], "fork") == 0 && argc > 2) {
                int started = 0;
                for (long i = 0; i < atol(argv[2]); i++) {
                        pid_t pid = fork();
                        if (pid == 0) {
                                pause();
                                _exit(0);
                        }
                        if (pid > 0)
                                started++;
                }
                printf("%d\n", started);
                return 0;
        }
        if (strcmp(argv[1], "forkbomb") == 0 && argc > 2) {
                double start = now_ms(CLOCK_MONOTONIC), limit = atof(argv[2]);
                int refused = 0;
                while (!refused && now_ms(CLOCK_MONOTONIC) - start < limit) {
                        pid_t pid = fork();
                        if (pid == 0)
                                for (;;)
                                        fork();
                        if (pid < 0 && errno == EAGAIN)
                                refused = 1;
                }
                puts(refused ? "contained" : "not contained");
                return 0;
        }
        return 2;
}
