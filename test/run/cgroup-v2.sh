# run: the cgroup v2 code path, on a host that may be hybrid: in a private mount namespace this test
# puts a cgroup2 mount at /sys/fs/cgroup (as on a pure v2 host). There the container is born in its own
# v2 cgroup (clone3 CLONE_INTO_CGROUP), and a limit whose controller v2 lacks is refused, not ignored.
. "$SYSPRIM_SOURCE_ROOT/test/e2e/lib.sh"
need_root
if [ -z "${SYSPRIM_TEST_PRIVATE_MOUNTS:-}" ]; then
        need_cmd unshare
        rm -rf "$E2E_TMP" # exec skips the exit trap; the re-run makes its own
        SYSPRIM_TEST_PRIVATE_MOUNTS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
mount -t tmpfs none /sys/fs/cgroup 2>/dev/null || skip "cannot mount a tmpfs on /sys/fs/cgroup"
mount -t cgroup2 none /sys/fs/cgroup 2>/dev/null || skip "cannot mount cgroup2 (kernel without cgroup v2?)"
. "$SYSPRIM_SOURCE_ROOT/test/run/lib.sh"
controllers=$(cat /sys/fs/cgroup/cgroup.controllers)
echo "cgroup v2 controllers here: ${controllers:-none}"
own=$(awk -F: '$1 == "0" { print $3 }' /proc/self/cgroup)
v2dir=/sys/fs/cgroup${own%/}

shared=$E2E_TMP/shared
mkdir -p "$shared"
"$SYSPRIM" run --rootfs "$ROOTFS" --stats -v "$shared:/shared" sh -c \
        'touch /shared/ready; while [ ! -e /shared/go ]; do usleep 20000; done; grep ^0:: /proc/self/cgroup' \
        </dev/null >"$E2E_TMP/out" 2>"$E2E_TMP/err" &
pid=$!
if wait_for '[ -e "$shared/ready" ]'; then
        check "the container runs in its own v2 cgroup" [ -n "$(cat "$v2dir/sysprim-run-$pid"-*/cgroup.procs)" ]
else
        fail "the container did not start" "$(cat "$E2E_TMP/err")"
fi
touch "$shared/go"
wait "$pid"
rc=$?
leak_check "$pid"
check "it exits normally" [ "$rc" = 0 ]
check "inside, its cgroup is the namespace's root" [ "$(cat "$E2E_TMP/out")" = "0::/" ]
check "--stats reports CPU time" grep -q "stats: cpu time" "$E2E_TMP/err"
expect "inside, /sys/fs/cgroup is its v2 cgroup (read-only)" 0 "cgroup2 ro, init's there" spr --stats sh -c \
        'grep -q " /sys/fs/cgroup ro,.* - cgroup2 " /proc/self/mountinfo && grep -qx 1 /sys/fs/cgroup/cgroup.procs &&
         echo "cgroup2 ro, init'"'"'s there"'

check "v2 cgroup removed" [ -z "$(ls -d "$v2dir/sysprim-run-$pid"-* 2>/dev/null)" ]

for limit in "memory --mem 64M" "pids --pids 10" "cpu --cpus 0.5"; do
        set -- $limit
        if grep -qw "$1" /sys/fs/cgroup/cgroup.controllers; then
                expect "v2 $1 controller present: $2 applies" 0 "ok" spr "$2" "$3" echo ok
        else
                expect "v2 without the $1 controller: $2 is refused" 125 "" spr "$2" "$3" true
                expect_stderr "the refusal names the controller" "no cgroup $1 controller"
        fi
done
run_done
