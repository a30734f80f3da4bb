/* A process named by its pid and start time, so that a record of it outlives neither the process nor
 * a later one that reuses the pid. Part of the `run` applet. */
#ifndef SYSPRIM_RUN_PROCESS_H
#define SYSPRIM_RUN_PROCESS_H

#include <stdbool.h>
#include <sys/types.h>

/* The start time of process `pid` (field 22 of /proc/PID/stat, clock ticks since boot); 0 when there
 * is no such process. */
unsigned long long process_start_time(pid_t pid);

/* Whether a process `pid` exists (whoever it is: the pid may have been reused). */
bool process_exists(pid_t pid);

/* Whether the process recorded as (`pid`, `start_time`) is still running: a process of that pid
 * exists and started at that time (not a later one that reuses the pid). */
bool process_alive(pid_t pid, unsigned long long start_time);

#endif
