# run: --mem is enforced by the kernel: a process allocating past it is OOM-killed, the runtime says so
# and exits 137.
. "$SYSPRIM_SOURCE_ROOT/test/e2e/lib.sh"
. "$SYSPRIM_SOURCE_ROOT/test/run/lib.sh"
need_limit --mem 64M
[ -n "$RUN_PROBE" ] || skip "needs the probe helper"
expect "within the limit" 0 "survived" spr --mem 64M probe alloc 16
expect "past the limit: killed, 137" 137 "" spr --mem 32M probe alloc 256
expect_stderr "the message names the limit" "sysprim run: killed: out of memory (limit 32M)"
expect "--stats reports the OOM kill" 137 "" spr --mem 32M --stats probe alloc 256
expect_stderr "--stats: oom line" "stats: oom killer fired"
expect "--stats after a normal run" 0 "survived" spr --stats probe alloc 8
expect_stderr "--stats: peak memory line" "stats: peak memory"
expect_stderr "--stats: cpu time line" "stats: cpu time"
expect_stderr "--stats: no oom" "stats: oom killer not fired"
expect "a malformed size is a usage error" 2 "" spr --mem lots true
expect_stderr "usage error names the option" "--mem"
run_done
