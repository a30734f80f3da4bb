# run: everything is removed on the failure paths too: a set-up failure inside the container after
# its cgroup exists, an exec failure, an OOM kill, a signal to the runtime.
. "$SYSPRIM_SOURCE_ROOT/test/e2e/lib.sh"
. "$SYSPRIM_SOURCE_ROOT/test/run/lib.sh"
need_limit --mem 64M --pids 50 --cpus 1
expect "set-up failure inside the container: 125" 125 "" spr --mem 64M --pids 50 --tmpfs /proc/sysprim-nope true
expect_stderr "set-up failure: message" "/proc/sysprim-nope"
expect "exec failure with limits: 127" 127 "" spr --mem 64M --cpus 1 --pids 50 /nonexistent
expect "OOM with every limit: 137" 137 "" spr --mem 16M --cpus 1 --pids 50 sh -c 'x=$(head -c 100000000 /dev/zero | tr "\0" a)'
shared=$E2E_TMP/shared
mkdir -p "$shared"
for sig in INT TERM; do
        rm -f "$shared/ready"
        "$SYSPRIM" run --rootfs "$ROOTFS" --mem 64M --pids 50 -v "$shared:/shared" \
                sh -c 'touch /shared/ready; sleep 30 & sleep 30 & wait' </dev/null >/dev/null 2>&1 &
        pid=$!
        wait_for '[ -e "$shared/ready" ]'
        kill "-$sig" "$pid"
        wait "$pid"
        rc=$?
        leak_check "$pid"
        check "SIG$sig to the runtime: the container ends (status $rc)" [ "$rc" -gt 128 ]
done
# SIGTERM at once, during set-up: the container, if there is one yet, ends, and nothing is left. The
# signal goes as soon as the runtime has been exec'd (before that it would hit the forked shell, whose
# traps would run), so it lands in set-up, wherever the scheduler puts it.
for sig in TERM HUP; do  # not INT: a script's background job starts with SIGINT ignored
        "$SYSPRIM" run --rootfs "$ROOTFS" --mem 64M sleep 30 </dev/null >/dev/null 2>&1 &
        pid=$!
        for _ in $(seq 2000); do [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$SYSPRIM" ] && break; done
        kill "-$sig" "$pid"
        wait "$pid"
        rc=$?
        leak_check "$pid"
        check "SIG$sig during set-up: the container ends (status $rc)" [ "$rc" -gt 128 ]
done
run_done
