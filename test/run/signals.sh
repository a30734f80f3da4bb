# run: signals to `sysprim run` reach the command through our init (and the container goes away
# cleanly); --no-init hands them to the command as PID 1, and one that would end any other process
# ends it there too.
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

# --no-init: the command is PID 1, and the kernel drops a signal PID 1 neither catches, ignores nor
# blocks. One that would end any other process ends it (SIGKILL from the runtime), with the status of
# that signal; one it ignores still changes nothing.
# no_init_start SCRIPT: `sysprim run --no-init sh -c SCRIPT` in the background (pid in $pid), until
# SCRIPT touches /shared/ready.
no_init_start() {
        rm -f "$shared/ready"
        "$SYSPRIM" run --rootfs "$ROOTFS" -v "$shared:/shared" --no-init sh -c "$1" \
                </dev/null >/dev/null 2>"$E2E_TMP/err" &
        pid=$!
        wait_for '[ -e "$shared/ready" ]' || fail "--no-init: container did not start" "$(cat "$E2E_TMP/err")"
}
# ended PID [RUNTIME]: wait up to 20 s for our child PID to end: its status in $rc. Still running then:
# kill RUNTIME (the `sysprim run`, PID itself by default) and PID, and say so in $rc.
ended() {
        local child=$1 runtime=${2:-$1} i
        for i in $(seq 400); do
                kill -0 "$child" 2>/dev/null || break
                sleep 0.05
        done
        if kill -0 "$child" 2>/dev/null; then
                kill -KILL "$runtime" "$child" 2>/dev/null
                wait "$child"
                rc="still running 20 s later (killed)"
        else
                wait "$child"
                rc=$?
        fi
}
for sig_status in TERM:143 INT:130 HUP:129; do
        sig=${sig_status%:*}
        no_init_start 'touch /shared/ready; exec sleep 30'
        kill "-$sig" "$pid"
        ended "$pid"
        leak_check "$pid"
        check "--no-init: an unhandled SIG$sig ends the command: ${sig_status#*:} (got $rc)" \
                [ "$rc" = "${sig_status#*:}" ]
done
no_init_start "trap '' TERM; touch /shared/ready; exec sleep 30"
kill -TERM "$pid"
sleep 1
check "--no-init: a SIGTERM the command ignores leaves it running" kill -0 "$pid"
kill -INT "$pid"
ended "$pid"
leak_check "$pid"
check "...and SIGINT then ends it: 130 (got $rc)" [ "$rc" = 130 ]

# Ctrl-C on a terminal: SIGINT from the kernel to the foreground process group, runtime and command.
if command -v script >/dev/null 2>&1; then
        rm -f "$shared/ready" "$E2E_TMP/pid"
        mkfifo "$E2E_TMP/keys"
        # script -e: its status is the command's, here the runtime's.
        script -qec "echo \$\$ >'$E2E_TMP/pid'; exec '$SYSPRIM' run --rootfs '$ROOTFS' -v '$shared:/shared' \
                --no-init sh -c 'touch /shared/ready; exec sleep 30'" /dev/null <"$E2E_TMP/keys" >/dev/null 2>&1 &
        terminal=$!
        exec 5>"$E2E_TMP/keys"
        wait_for '[ -e "$shared/ready" ]'
        printf '\003' >&5
        ended "$terminal" "$(cat "$E2E_TMP/pid")"
        exec 5>&-
        leak_check "$(cat "$E2E_TMP/pid")"
        check "--no-init: Ctrl-C on the terminal ends the command: 130 (got $rc)" [ "$rc" = 130 ]
fi
run_done
