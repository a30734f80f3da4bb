# run: the default seccomp profile makes mount, unshare and keyctl fail with EPERM (even with
# CAP_SYS_ADMIN); --seccomp=unconfined lets them through.
. "$SYSPRIM_SOURCE_ROOT/test/e2e/lib.sh"
. "$SYSPRIM_SOURCE_ROOT/test/run/lib.sh"
[ -n "$RUN_PROBE" ] || skip "needs the probe helper"
for call in mount unshare keyctl; do
        expect "default profile: $call is EPERM" 1 "EPERM" spr --cap-add SYS_ADMIN probe "$call"
        expect "unconfined: $call succeeds" 0 "ok" spr --cap-add SYS_ADMIN --seccomp=unconfined probe "$call"
done
expect "the filter is installed" 0 "2" spr sh -c "awk '/^Seccomp:/ { print \$2 }' /proc/self/status"
expect "unconfined: no filter" 0 "0" spr --seccomp=unconfined sh -c "awk '/^Seccomp:/ { print \$2 }' /proc/self/status"
expect "an unknown profile is a usage error" 2 "" spr --seccomp=strict true
run_done
