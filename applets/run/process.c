/* Process identity by pid and start time (see process.h). Part of the `run` applet. */
#include "process.h"

#include "sysprim/util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

unsigned long long process_start_time(pid_t pid)
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
