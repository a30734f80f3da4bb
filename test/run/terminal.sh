# run: the caller's terminal works inside: the command sees a terminal and a shell gets job control.
. "$SYSPRIM_SOURCE_ROOT/test/e2e/lib.sh"
. "$SYSPRIM_SOURCE_ROOT/test/run/lib.sh"
need_cmd script
# script(1) gives the runtime a pseudo-terminal as its controlling terminal, like an interactive login.
in_terminal() { script -qec "$1" /dev/null </dev/null | tr -d '\r'; }
out=$(in_terminal "'$SYSPRIM' run --rootfs '$ROOTFS' sh -c 'test -t 0 && test -t 1 && echo terminal'")
check "the command's stdin and stdout are the terminal" [ "$out" = terminal ]
# Job control: a shell with -m puts a job in its own process group, in the foreground and back.
out=$(in_terminal "'$SYSPRIM' run --rootfs '$ROOTFS' sh -c 'set -m; sleep 1 & jobs; fg >/dev/null; echo fg-status=\$?' 2>&1")
echo "$out"
check "job control is on (no 'job control turned off')" eval '! echo "$out" | grep -q "job control turned off"'
check "a background job is listed and brought to the foreground" eval 'echo "$out" | grep -q "fg-status=0"'
check "/dev/tty is usable" [ "$(in_terminal "'$SYSPRIM' run --rootfs '$ROOTFS' sh -c 'echo ok > /dev/tty'")" = ok ]
# The caller's terminal has a name inside (its devpts is not there): /dev/console, as bubblewrap.
check "tty(1) names the terminal /dev/console" [ "$(in_terminal "'$SYSPRIM' run --rootfs '$ROOTFS' tty")" = /dev/console ]
if "$SYSPRIM" run --userns --rootfs "$ROOTFS" true </dev/null >/dev/null 2>&1; then
        check "...with --userns too" [ "$(in_terminal "'$SYSPRIM' run --userns --rootfs '$ROOTFS' tty")" = /dev/console ]
fi
check "without a terminal there is no /dev/console" [ "$("$SYSPRIM" run --rootfs "$ROOTFS" sh -c 'test -e /dev/console && echo present || echo absent' </dev/null)" = absent ]
run_done
