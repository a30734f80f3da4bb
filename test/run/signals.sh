# run: signals to `sysprim run` reach the command through our init (and the container goes away
# cleanly); --no-init hands them to the command as PID 1.
. "$SYSPRIM_SOURCE_ROOT/test/e2e/lib.sh"
. "$SYSPRIM_SOURCE_ROOT/test/run/lib.sh"
shared=$E2E_TMP/shared
mkdir -p "$shared"

# signal_test NAME SIGNAL WANT_STATUS WANT_OUTPUT [OPTIONS]: a command that reports the signal it got.
signal_test() {
        local name=$1 sig=$2 want_rc=$3 want_out=$4 pid rc
        shift 4
        rm -f "$shared/ready"
        "$SYSPRIM" run --rootfs "$ROOTFS" -v "$shared:/shared" "$@" sh -c \
                "trap 'echo got $sig; exit 7' $sig; touch /shared/ready; while :; do sleep 0.05; done" \
                </dev/null >"$E2E_TMP/out" 2>"$E2E_TMP/err" &
        pid=$!
        if ! wait_for '[ -e "$shared/ready" ]'; then
                fail "$name: container did not start" "$(cat "$E2E_TMP/err")"
                kill -KILL "$pid"
                wait "$pid"
                return
        fi
        kill "-$sig" "$pid"
        wait "$pid"
        rc=$?
        leak_check "$pid"
        if [ "$rc" = "$want_rc" ] && [ "$(cat "$E2E_TMP/out")" = "$want_out" ]; then
                pass "$name"
        else
                fail "$name" "status $rc (want $want_rc), output: $(cat "$E2E_TMP/out")" "$(cat "$E2E_TMP/err")"
        fi
}
signal_test "SIGTERM is forwarded" TERM 7 "got TERM"
signal_test "SIGINT is forwarded" INT 7 "got INT"
signal_test "SIGHUP is forwarded" HUP 7 "got HUP"
signal_test "SIGUSR1 is forwarded" USR1 7 "got USR1"
signal_test "--no-init: SIGTERM reaches PID 1's handler" TERM 7 "got TERM" --no-init

# An untrapped SIGTERM ends the command: 128+15.
rm -f "$shared/ready"
"$SYSPRIM" run --rootfs "$ROOTFS" -v "$shared:/shared" sh -c 'touch /shared/ready; exec sleep 30' \
        </dev/null >/dev/null 2>&1 &
pid=$!
wait_for '[ -e "$shared/ready" ]'
sleep 0.1 # the exec from sh to sleep
kill -TERM "$pid"
wait "$pid"
rc=$?
leak_check "$pid"
check "an untrapped SIGTERM: status 143" [ "$rc" = 143 ]
run_done
