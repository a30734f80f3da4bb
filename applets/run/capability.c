/* Capabilities by name and applying a set to the current process. Part of the `run` applet. */
#include "capability.h"

#include "sysprim/err.h"
#include "sysprim/log.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Index = capability number, as in linux/capability.h. */
static const char *const capability_names[] = {
        "chown", "dac_override", "dac_read_search", "fowner", "fsetid", "kill", "setgid", "setuid",
        "setpcap", "linux_immutable", "net_bind_service", "net_broadcast", "net_admin", "net_raw",
        "ipc_lock", "ipc_owner", "sys_module", "sys_rawio", "sys_chroot", "sys_ptrace", "sys_pacct",
        "sys_admin", "sys_boot", "sys_nice", "sys_resource", "sys_time", "sys_tty_config", "mknod",
        "lease", "audit_write", "audit_control", "setfcap", "mac_override", "mac_admin", "syslog",
        "wake_alarm", "block_suspend", "audit_read", "perfmon", "bpf", "checkpoint_restore",
};

static int last_capability(void)
{
        static int last = -1;
        if (last < 0) {
                char buf[16] = { 0 };
                FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
                if (f && fgets(buf, sizeof(buf), f))
                        last = atoi(buf);
                if (f)
                        fclose(f);
                if (last <= 0 || last > 63)
                        last = CAP_LAST_CAP;
        }
        return last;
}

uint64_t capability_all(void)
{
        int last = last_capability();
        return last >= 63 ? UINT64_MAX : (UINT64_C(1) << (last + 1)) - 1;
}

int capability_parse(const char *name, uint64_t *bits)
{
        if (strcasecmp(name, "all") == 0) {
                *bits = capability_all();
                return 0;
        }
        if (strncasecmp(name, "cap_", 4) == 0)
                name += 4;
        for (size_t i = 0; i < sizeof(capability_names) / sizeof(capability_names[0]); i++) {
                if (strcasecmp(name, capability_names[i]) == 0) {
                        *bits = UINT64_C(1) << i;
                        return 0;
                }
        }
        return -EINVAL;
}

int capability_limit_bounding(uint64_t set, struct err *e)
{
        int last = last_capability();
        for (int cap = 0; cap <= last; cap++) {
                if (set & (UINT64_C(1) << cap))
                        continue;
                if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
                        return err_set(e, errno, "drop capability %s from the bounding set",
                                       cap < 41 ? capability_names[cap] : "?");
        }
        return 0;
}

int capability_set(uint64_t set, struct err *e)
{
        struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
        struct __user_cap_data_struct data[2];
        /* A capability the runtime does not hold itself (a restricted caller) cannot be given. */
        if (syscall(SYS_capget, &header, data) == 0) {
                uint64_t held = (uint64_t)data[0].permitted | ((uint64_t)data[1].permitted << 32);
                for (int cap = 0; cap < 64; cap++)
                        if ((set & ~held) & (UINT64_C(1) << cap))
                                log_warn("capability %s: the runtime does not hold it; left out",
                                         cap < 41 ? capability_names[cap] : "?");
                set &= held;
        }
        /* Inheritable empty: a process of the container that leaves uid 0 (su, login) and then executes
         * a program with inheritable file capabilities must not gain them (CVE-2022-24769 in Moby and
         * runc, CVE-2022-27650 in crun). */
        for (int i = 0; i < 2; i++) {
                uint32_t word = (uint32_t)(set >> (32 * i));
                data[i].effective = data[i].permitted = word;
                data[i].inheritable = 0;
        }
        if (syscall(SYS_capset, &header, data) < 0)
                return err_set(e, errno, "set capabilities");
        return 0;
}
