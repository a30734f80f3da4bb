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

/* The PATH the command is looked up in: the container's, or execvp()'s default without one. */
static const char *search_path(void)
{
        const char *path = getenv("PATH");
        return path ? path : "/bin:/usr/bin";
}

/* The next place `name` may be in: "<entry>/<name>" for the next entry of *path (an empty entry is
 * the current directory) into candidate; false when the entries are used up. */
static bool next_candidate(const char **path, const char *name, char candidate[PATH_MAX])
{
        while (*path) {
                const char *entry = *path;
                size_t length = strcspn(entry, ":");
                *path = entry[length] ? entry + length + 1 : NULL;
                int n = snprintf(candidate, PATH_MAX, "%.*s/%s", (int)length, length ? entry : ".", name);
                if (n > 0 && n < PATH_MAX)
                        return true;
        }
        return false;
}

/* Whether the command's file exists, where the search below would have found it. execve()'s ENOENT
 * also means that a file the command needs is missing: its #! interpreter, or its ELF program
 * interpreter (the dynamic loader). No allocation: this runs in init's vfork child. */
static bool command_file_exists(const char *name)
{
        struct stat st;
        if (strchr(name, '/'))
                return stat(name, &st) == 0;
        if (name[0] == '\0')
                return false;
        const char *path = search_path();
        char candidate[PATH_MAX];
        while (next_candidate(&path, name, candidate))
                if (stat(candidate, &st) == 0 && S_ISREG(st.st_mode))
                        return true;
        return false;
}

/* execvp() without its fallback of running a file the kernel refuses (ENOEXEC: another machine's
 * ELF, a truncated one, a script without #!) through /bin/sh as a script: such a file is "Exec format
 * error", exit 126, as runc and crun say. Returns the errno to report. */
static int exec_command(char *const argv[])
{
        const char *name = argv[0];
        if (strchr(name, '/') || name[0] == '\0') {
                execve(name, argv, environ);
                return name[0] ? errno : ENOENT;
        }
        const char *path = search_path();
        char candidate[PATH_MAX];
        bool denied = false;
        while (next_candidate(&path, name, candidate)) {
                execve(candidate, argv, environ);
                if (errno == EACCES)
                        denied = true; /* as execvp: keep looking, report it if nothing else runs */
                else if (errno != ENOENT && errno != ENOTDIR && errno != ESTALE && errno != ENODEV &&
                         errno != ETIMEDOUT)
                        return errno;
        }
        return denied ? EACCES : ENOENT;
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
        /* The search uses the PATH of the current environment, so install the container's first. */
        environ = c->env;
        int saved = exec_command(c->argv);
        if (saved == ENOENT) {
                /* 127 either way, as bash; but say which file is missing, as bash 5.2 does. */
                if (command_file_exists(c->argv[0]))
                        log_error("%s: cannot execute: required file not found (its #! interpreter or its "
                                  "ELF loader is missing in the container)", c->argv[0]);
                else if (c->rootfs)
                        log_error("%s: command not found in the root filesystem %s", c->argv[0], c->rootfs);
                else
                        log_error("%s: command not found", c->argv[0]);
                _exit(EXIT_NOT_FOUND);
        }
        log_error("%s: cannot execute: %s", c->argv[0], strerror(saved));
        _exit(EXIT_NOT_EXECUTABLE);
}

noreturn void init_run(const struct container *c)
{
        /* Not dumpable: a process of the container needs CAP_SYS_PTRACE (not in the default set) to
         * attach to init; one that stopped it under ptrace left `sysprim run` waiting for ever. Before
         * the command starts, so it cannot attach first; its exec makes it dumpable again. */
        prctl(PR_SET_DUMPABLE, 0);
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
