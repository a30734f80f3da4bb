# run: --cpus caps CPU time per wall time (CFS quota): a busy loop gets about that share of a CPU.
. "$SYSPRIM_SOURCE_ROOT/test/e2e/lib.sh"
. "$SYSPRIM_SOURCE_ROOT/test/run/lib.sh"
need_limit --cpus 0.25
[ -n "$RUN_PROBE" ] || skip "needs the probe helper"
# Spin for 1 s of wall time with a quarter of a CPU: CPU time must stay well under the wall time.
spr --cpus 0.25 probe burn 1000 >"$E2E_TMP/burn" 2>"$E2E_TMP/err"
read -r cpu_ms wall_ms <"$E2E_TMP/burn"
echo "cpu ${cpu_ms:-?} ms over ${wall_ms:-?} ms wall"
check "CPU time capped (under half the wall time at --cpus 0.25)" \
        [ -n "${cpu_ms:-}" ] && [ "$((cpu_ms * 2))" -lt "$wall_ms" ]
expect "a malformed value is a usage error" 2 "" spr --cpus fast true
run_done
