/* Process identity by pid and start time (see process.h). Part of the `run` applet. */
#include "process.h"

#include "sysprim/util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned long long read_start_time(pid_t pid)
{
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        _cleanup_free_ char *stat = NULL;
        size_t len;
        if (util_read_file(path, &stat, &len) < 0)
                return 0;
        char *p = strrchr(stat, ')');
        if (p == NULL)
                return 0;
        /* After ") " come fields 3 (state) .. ; the start time is field 22. */
        p += 2;
        for (int field = 3; field < 22 && p; field++) {
                p = strchr(p, ' ');
                if (p)
                        p++;
        }
        return p ? strtoull(p, NULL, 10) : 0;
}

unsigned long long process_start_time(pid_t pid)
{
        /* This process's own is asked for by the cgroup name, its record and a bridge's record:
         * read /proc once. Keyed by pid, so a forked child reads its own. */
        static pid_t self;
        static unsigned long long self_start;
        if (pid != getpid())
                return read_start_time(pid);
        if (self != pid || self_start == 0) {
                self_start = read_start_time(pid);
                self = pid;
        }
        return self_start;
}

bool process_exists(pid_t pid)
{
        /* EPERM: it exists, but belongs to someone we may not signal. */
        return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

bool process_alive(pid_t pid, unsigned long long start_time)
{
        if (!process_exists(pid))
                return false;
        unsigned long long now = process_start_time(pid);
        return now != 0 && now == start_time;
}
