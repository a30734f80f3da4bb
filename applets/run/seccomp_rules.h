/* The default seccomp profile's rules: a deny-list in the spirit of Docker's, answering EPERM (never
 * killing). Compiled to BPF with libseccomp when sysprim is built (seccomp_gen.c), so a container start
 * only hands the kernel the finished program (seccomp.c). Part of `run`. */
#ifndef SYSPRIM_RUN_SECCOMP_RULES_H
#define SYSPRIM_RUN_SECCOMP_RULES_H

#include <seccomp.h>

/* Add the rules to ctx (made with seccomp_init(SCMP_ACT_ALLOW)). 0, or -errno with *what naming the
 * rule that failed. */
int seccomp_default_rules(scmp_filter_ctx ctx, const char **what);

#endif
