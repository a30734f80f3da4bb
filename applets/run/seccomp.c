/* The default seccomp profile, installed (see seccomp.h). The program was compiled from
 * seccomp_rules.c with libseccomp when sysprim was built: compiling it at every start cost ~250 us of
 * a ~4 ms container start. Part of `run`. */
#include "seccomp.h"

#include "sysprim/err.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "seccomp_filter.h"

int seccomp_install_default(struct err *e)
{
        struct sock_fprog program = {
                .len = (unsigned short)(sizeof(seccomp_default_program) / sizeof(seccomp_default_program[0])),
                .filter = (struct sock_filter *)seccomp_default_program,
        };
        /* As libseccomp's seccomp_load does by default: a filter without no_new_privs needs
         * CAP_SYS_ADMIN, which the container's default set has not. */
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return err_set(e, errno, "seccomp: set no_new_privs");
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) < 0)
                return err_set(e, errno, "seccomp: load the filter");
        return 0;
}
