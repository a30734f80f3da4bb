# Shared set-up for the `run` end-to-end tests: root check, a busybox-static root filesystem built by
# the test, and a leak check after every container (no cgroup, mount or temporary directory left).
# Source after test/e2e/lib.sh. The probe helper's path is the script's first argument.
need_root
RUN_PROBE=${1:-}
BUSYBOX=${BUSYBOX:-/bin/busybox}
[ -x "$BUSYBOX" ] || skip "needs busybox-static ($BUSYBOX)"
ldd "$BUSYBOX" >/dev/null 2>&1 && skip "$BUSYBOX is not static (install busybox-static)"
[ -d /sys/fs/cgroup ] || skip "needs /sys/fs/cgroup"

# make_rootfs DIR: bin/busybox with one link per applet, the probe, empty proc sys dev tmp root, passwd.
make_rootfs() {
        local dir=$1 applet
        mkdir -p "$dir/bin" "$dir/proc" "$dir/sys" "$dir/dev" "$dir/tmp" "$dir/root" "$dir/etc"
        cp "$BUSYBOX" "$dir/bin/busybox"
        for applet in $("$BUSYBOX" --list); do
                [ "$applet" = busybox ] || ln -sf busybox "$dir/bin/$applet"
        done
        [ -n "$RUN_PROBE" ] && cp "$RUN_PROBE" "$dir/bin/probe"
        printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' >"$dir/etc/passwd"
        printf 'root:x:0:\nnogroup:x:65534:\n' >"$dir/etc/group"
}
ROOTFS=$E2E_TMP/rootfs
make_rootfs "$ROOTFS"
ROOTFS_LISTING=$(cd "$ROOTFS" && find . | sort)

# need_limit OPTION VALUE...: skip unless the host can apply each limit (`sysprim run` refuses one with
# "no cgroup ... controller" where neither cgroup v2 nor a v1 mount has the controller, e.g. inside a
# container that was given no cgroup hierarchy). Any other failure is left for the test to report.
need_limit() {
        while [ $# -ge 2 ]; do
                if ! "$SYSPRIM" run --rootfs "$ROOTFS" "$1" "$2" true </dev/null >/dev/null 2>"$E2E_TMP/limit-err" &&
                        grep -q "no cgroup .* controller" "$E2E_TMP/limit-err"; then
                        skip "$1: $(cat "$E2E_TMP/limit-err")"
                fi
                shift 2
        done
}

# The host's mounts, as "mount-point fstype" lines, to compare after each container.
host_mounts() { awk '{ for (i = 7; $i != "-"; i++); print $5, $(i + 1) }' /proc/self/mountinfo | sort; }
HOST_MOUNTS=$(host_mounts)

# Failures found by the leak check go to the test's stderr even when a caller redirected stderr.
exec 3>&2
# leak_check PID: after `sysprim run` (runtime process PID) ended, nothing it made may remain.
LEAKS=0
leak_check() {
        local pid=$1 found
        found=$(find /sys/fs/cgroup -maxdepth 6 -type d -name "sysprim-run-$pid-*" 2>/dev/null)
        if [ -n "$found" ]; then
                fail "leak: cgroup left behind" "$found" 2>&3
                LEAKS=$((LEAKS + 1))
        fi
        found=$(ls -d /run/sysprim/cgroup/"$pid"-* 2>/dev/null)
        if [ -n "$found" ]; then
                fail "leak: cgroup record left behind" "$found" 2>&3
                LEAKS=$((LEAKS + 1))
        fi
        if [ "$(host_mounts)" != "$HOST_MOUNTS" ]; then
                fail "leak: host mounts changed" "$(diff <(echo "$HOST_MOUNTS") <(host_mounts))" 2>&3
                LEAKS=$((LEAKS + 1))
        fi
        if [ "$(cd "$ROOTFS" && find . | sort)" != "$ROOTFS_LISTING" ]; then
                fail "leak: the root filesystem directory changed" \
                        "$(diff <(echo "$ROOTFS_LISTING") <(cd "$ROOTFS" && find . | sort))" 2>&3
                LEAKS=$((LEAKS + 1))
        fi
        found=$(find /tmp /var/tmp /run -maxdepth 1 -name 'sysprim-run*' 2>/dev/null)
        if [ -n "$found" ]; then
                fail "leak: temporary files left behind" "$found" 2>&3
                LEAKS=$((LEAKS + 1))
        fi
}

# sp ARGS...: `sysprim run ARGS` with stdout/stderr passed through, then the leak check; returns its
# status. stdin is /dev/null (background job) unless SP_STDIN names a file.
sp() {
        local rc
        # SP_AS: a command prefix that changes the user (it must exec, keeping the PID).
        ${SP_AS:-} "$SYSPRIM" run "$@" <"${SP_STDIN:-/dev/null}" &
        local pid=$!
        wait "$pid"
        rc=$?
        leak_check "$pid"
        return "$rc"
}

# spr ARGS...: sp with the test root filesystem.
spr() { sp --rootfs "$ROOTFS" "$@"; }

# wait_for CONDITION...: up to 10 s for a shell condition to hold (readiness, not timing).
wait_for() {
        local i
        for i in $(seq 200); do
                eval "$1" && return 0
                sleep 0.05
        done
        return 1
}

# expect NAME WANT_STATUS WANT_STDOUT COMMAND...: run COMMAND (usually sp/spr) in this shell, compare its
# status and stdout. Its stderr stays in $E2E_TMP/err for expect_stderr.
expect() {
        local name=$1 want_rc=$2 want_out=$3 rc out
        shift 3
        "$@" >"$E2E_TMP/out" 2>"$E2E_TMP/err"
        rc=$?
        out=$(cat "$E2E_TMP/out")
        if [ "$rc" = "$want_rc" ] && [ "$out" == "$want_out" ]; then
                pass "$name"
        else
                fail "$name" "command: $*" "status $rc (want $want_rc)" "stdout: $out" "want:   $want_out" \
                        "stderr: $(cat "$E2E_TMP/err")"
        fi
}

# expect_stderr NAME TEXT: the last expect's stderr contains TEXT.
expect_stderr() {
        if grep -qF -- "$2" "$E2E_TMP/err"; then
                pass "$1"
        else
                fail "$1" "stderr lacks: $2" "stderr: $(cat "$E2E_TMP/err")"
        fi
}

run_done() {
        [ "$LEAKS" -eq 0 ] && pass "nothing left behind after any container"
        e2e_done
}
