# run: the container's root decides what its /etc/passwd, /etc/group and volume targets are; none of
# them may stall the set-up (a FIFO blocks an open, /dev/zero never ends a line), and a set-up that
# takes long anyway ends on SIGTERM, SIGINT or SIGHUP: exit 128+N, nothing left behind.
. "$SYSPRIM_SOURCE_ROOT/test/e2e/lib.sh"
. "$SYSPRIM_SOURCE_ROOT/test/run/lib.sh"
# A run still going when the test ends (killed by meson's timeout, say) goes with it.
running=
on_exit '[ -z "$running" ] || kill -KILL "$running" 2>/dev/null'

# within SECONDS ARGS...: `sysprim run ARGS` like sp, but a run still going after SECONDS (set-up
# hanging) is killed and reported; its status is then 137.
within() {
        local seconds=$1 pid rc i
        shift
        "$SYSPRIM" run "$@" </dev/null &
        pid=$!
        running=$pid
        for i in $(seq $((seconds * 20))); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.05
        done
        if kill -0 "$pid" 2>/dev/null; then
                echo "still running after ${seconds}s: killed" >&2
                kill -KILL "$pid"
        fi
        wait "$pid"
        rc=$?
        leak_check "$pid"
        return "$rc"
}

# Roots of their own: the shared one must stay as it is.
zero_root=$E2E_TMP/zero-root
make_rootfs "$zero_root"
ln -sf /dev/zero "$zero_root/etc/passwd"
ln -sf /dev/zero "$zero_root/etc/group"
fifo_root=$E2E_TMP/fifo-root
make_rootfs "$fifo_root"
rm -f "$fifo_root/etc/passwd" "$fifo_root/etc/group"
mkfifo "$fifo_root/etc/passwd" "$fifo_root/etc/group" "$fifo_root/etc/fifo"
mkdir -p "$fifo_root/etc/dir"
echo volume >"$E2E_TMP/file"

expect "/etc/passwd is /dev/zero: 125" 125 "" within 20 --rootfs "$zero_root" -u alice true
expect_stderr "...saying what is wrong" "the container's /etc/passwd is not a regular file"
expect "/etc/group is /dev/zero: 125" 125 "" within 20 --rootfs "$zero_root" -u 1000:staff true
expect_stderr "...saying what is wrong" "the container's /etc/group is not a regular file"
expect "/etc/passwd is a FIFO: 125" 125 "" within 20 --rootfs "$fifo_root" -u alice true
expect_stderr "...saying what is wrong" "the container's /etc/passwd is not a regular file"
expect "/etc/group is a FIFO: 125" 125 "" within 20 --rootfs "$fifo_root" -u 1000:staff true
expect "numbers read neither file" 0 "" within 20 --rootfs "$fifo_root" -u 1000:1000 true
expect "a volume on a FIFO: mounted, never opened" 0 "volume" \
        within 20 --rootfs "$fifo_root" -v "$E2E_TMP/file:/etc/fifo" cat /etc/fifo
expect "a file volume on a directory: 125" 125 "" within 20 --rootfs "$fifo_root" -v "$E2E_TMP/file:/etc/dir" true
expect "a file volume on a missing path is created" 0 "volume" \
        within 20 --rootfs "$fifo_root" -v "$E2E_TMP/file:/new/dir/file" cat /new/dir/file

# A set-up that takes long: /etc/passwd a regular file of 1 TiB of zeros (sparse), one line that never
# ends, as a volume. SIGTERM, SIGINT or SIGHUP to `sysprim run` ends it with 128+N and removes its
# cgroup (--pids makes one), however far the set-up has come.
need_limit --pids 20
truncate -s 1T "$E2E_TMP/huge" || skip "cannot make a sparse file of 1 TiB in $E2E_TMP"
interrupt_test() {
        local sig=$1 want=$2 pid rc i
        "$SYSPRIM" run --rootfs "$ROOTFS" --pids 20 -v "$E2E_TMP/huge:/etc/passwd:ro" -u alice true \
                </dev/null >"$E2E_TMP/out" 2>"$E2E_TMP/err" &
        pid=$!
        running=$pid
        # Readiness: the container's first process exists (then it is in its set-up, or about to be).
        wait_for "[ -n \"\$(cat /proc/$pid/task/$pid/children 2>/dev/null)\" ]"
        sleep 0.5
        kill "-$sig" "$pid"
        for i in $(seq 400); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.05
        done
        if kill -0 "$pid" 2>/dev/null; then
                kill -KILL "$pid"
                wait "$pid"
                fail "SIG$sig during set-up: still running 20 s later (killed)"
                leak_check "$pid"
                # What SIGKILL left behind goes with the next run, once the container is gone too.
                wait_for "! find /sys/fs/cgroup -maxdepth 6 -type d -name 'sysprim-run-$pid-*' \
                        -exec cat {}/cgroup.procs \; 2>/dev/null | grep -q ."
                "$SYSPRIM" run --rootfs "$ROOTFS" true </dev/null
                return
        fi
        wait "$pid"
        rc=$?
        leak_check "$pid"
        if [ "$rc" = "$want" ]; then
                pass "SIG$sig during set-up: status $want"
        else
                fail "SIG$sig during set-up: status $rc (want $want)" "$(cat "$E2E_TMP/err")"
        fi
}
interrupt_test TERM 143
interrupt_test INT 130
interrupt_test HUP 129
run_done
