/* sysprim's init, PID 1 of the container (see init.h). Part of the `run` applet.
 * Signals stay blocked and are taken with sigwaitinfo(): a blocked signal is never discarded, even by
 * PID 1 of a namespace, which the kernel otherwise protects from signals it has no handler for. */
#include "init.h"
#include "container.h"

#include "sysprim/log.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Whether the command's file exists, where execvp() would have found it (the PATH of the current
 * environment when the name has no '/'). execve()'s ENOENT also means that a file the command needs
 * is missing: its #! interpreter, or its ELF program interpreter (the dynamic loader). No allocation:
 * this runs in init's vfork child. */
static bool command_file_exists(const char *name)
{
        struct stat st;
        if (strchr(name, '/'))
                return stat(name, &st) == 0;
        const char *path = getenv("PATH");
        if (path == NULL || name[0] == '\0')
                return false;
        char candidate[PATH_MAX];
        for (;;) {
                size_t length = strcspn(path, ":");
                /* An empty PATH entry is the current directory. */
                int n = snprintf(candidate, sizeof(candidate), "%.*s/%s", (int)length, length ? path : ".", name);
                if (n > 0 && (size_t)n < sizeof(candidate) && stat(candidate, &st) == 0 && S_ISREG(st.st_mode))
                        return true;
                if (path[length] == '\0')
                        return false;
                path += length + 1;
        }
}

noreturn void init_exec_command(const struct container *c)
{
        /* A clean signal state: a disposition of SIG_IGN survives exec, and a shell cannot even trap a
         * signal that was ignored when it started (the caller may have been a background job). */
        for (int sig = 1; sig < NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        signal(sig, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        /* execvp() searches the PATH of the current environment, so install the container's first. */
        environ = c->env;
        execvp(c->argv[0], c->argv);
        int saved = errno;
        if (saved == ENOENT) {
                /* 127 either way, as bash; but say which file is missing, as bash 5.2 does. */
                if (command_file_exists(c->argv[0]))
                        log_error("%s: cannot execute: required file not found (its #! interpreter or its "
                                  "ELF loader is missing in the container)", c->argv[0]);
                else
                        log_error("%s: command not found", c->argv[0]);
                _exit(EXIT_NOT_FOUND);
        }
        log_error("%s: cannot execute: %s", c->argv[0], strerror(saved));
        _exit(EXIT_NOT_EXECUTABLE);
}

noreturn void init_run(const struct container *c)
{
        /* vfork: the command's process borrows init's memory until its exec instead of copying it. It
         * only resets signals, sets `environ` (which init never reads) and execs or _exits. */
        pid_t command = vfork();
        if (command < 0) {
                int saved = errno;
                if (saved == EAGAIN && c->pids_limit == 1)
                        log_error("init: start the command: --pids 1 leaves it no room (sysprim's init counts "
                                  "as one; give 2 or more, or --no-init)");
                else
                        log_error("init: start the command: %s", strerror(saved));
                _exit(EXIT_RUNTIME_FAILED);
        }
        if (command == 0)
                init_exec_command(c);
        prctl(PR_SET_NAME, "sysprim-init"); /* what `ps` shows for PID 1 inside */

        sigset_t all;
        sigfillset(&all);
        for (;;) {
                siginfo_t info;
                int sig = sigwaitinfo(&all, &info);
                if (sig < 0)
                        continue; /* EINTR */
                if (sig != SIGCHLD) {
                        /* A signal from the terminal already reached the command through its process
                         * group; forwarding it again would deliver it twice. */
                        if (info.si_code != SI_KERNEL)
                                kill(command, sig);
                        continue;
                }
                int status;
                pid_t pid;
                while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
                        if (pid != command)
                                continue; /* an orphan that ended here: reaped, nothing more */
                        /* Leaving ends the namespace: the kernel kills whatever is still running. */
                        if (WIFEXITED(status))
                                _exit(WEXITSTATUS(status));
                        _exit(128 + WTERMSIG(status));
                }
        }
}
