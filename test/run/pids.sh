# run: --pids contains a fork bomb: the number of processes stops at the limit, the host is unharmed.
. "$SYSPRIM_SOURCE_ROOT/test/e2e/lib.sh"
. "$SYSPRIM_SOURCE_ROOT/test/run/lib.sh"
need_limit --pids 16
[ -n "$RUN_PROBE" ] || skip "needs the probe helper"
# 60 children against a limit of 16: init and the probe count too, so 14 start.
expect "the process count stops at the limit" 0 "14" spr --pids 16 probe fork 60
# A real fork bomb, until the limit refuses a fork (at most 10 s); when the probe exits, init leaves
# and the kernel ends the rest.
expect "a fork bomb is contained" 0 "contained" spr --pids 64 probe forkbomb 10000
check "the host can still fork" /bin/true
expect "an out-of-range value is a usage error" 2 "" spr --pids 0 true
expect "--pids 1 with init: refused, saying why" 125 "" spr --pids 1 true
expect_stderr "...naming the limit and the way out" "--pids 1 leaves it no room"
expect "--pids 1 with --no-init: the command alone fits" 0 "" spr --pids 1 --no-init true
run_done
