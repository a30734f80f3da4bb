# run: a `sysprim run` killed with SIGKILL cannot remove its cgroups; the next run does, going by the
# record /run/sysprim/cgroup/PID-STARTTIME. Only cgroups whose owner is gone (a live process that
# reuses the pid does not count) and that are empty are removed.
. "$SYSPRIM_SOURCE_ROOT/test/e2e/lib.sh"
. "$SYSPRIM_SOURCE_ROOT/test/run/lib.sh"
need_limit --mem 64M --pids 50 --cpus 1
RECORDS=/run/sysprim/cgroup
shared=$E2E_TMP/shared
mkdir -p "$shared"
cgroups_of() { find /sys/fs/cgroup -maxdepth 6 -type d -name "sysprim-run-$1-*" 2>/dev/null; }

# A container with every limit, so that it has a cgroup in each hierarchy that has the controller.
"$SYSPRIM" run --rootfs "$ROOTFS" --mem 64M --pids 50 --cpus 1 -v "$shared:/shared" \
        sh -c 'touch /shared/ready; sleep 30' </dev/null >/dev/null 2>&1 &
pid=$!
wait_for '[ -e "$shared/ready" ]'
check "while it runs: its cgroups exist" [ -n "$(cgroups_of "$pid")" ]
check "while it runs: they are recorded" [ -n "$(ls "$RECORDS/$pid"-* 2>/dev/null)" ]
kill -KILL "$pid"
wait "$pid"
# The container dies with its runtime (parent-death signal); then its cgroups are empty.
wait_for '! cat $(cgroups_of "$pid" | sed "s|$|/cgroup.procs|") 2>/dev/null | grep -q .'
left=$(cgroups_of "$pid")
check "after SIGKILL: its cgroups are left behind" [ -n "$left" ]
SYSPRIM_LOG=info expect "the next run (without limits) succeeds" 0 "" spr true
expect_stderr "the next run says what it removed" "left behind by a sysprim run that was killed"
check "after the next run: the killed run's cgroups are gone" [ -z "$(cgroups_of "$pid")" ]
check "after the next run: its record is gone" [ -z "$(ls "$RECORDS/$pid"-* 2>/dev/null)" ]

# Planted records, for cgroups the test makes itself beside the ones runs make.
own=$(awk -F: '$2 == "pids" { print $3 }' /proc/self/cgroup)
parent=/sys/fs/cgroup/pids${own%/}
if [ ! -e "$parent/cgroup.procs" ]; then
        own=$(awk -F: '$1 == "0" { print $3 }' /proc/self/cgroup)
        parent=/sys/fs/cgroup/unified${own%/}
        [ -e "$parent/cgroup.procs" ] || parent=/sys/fs/cgroup${own%/}
fi
sleep 60 &
live=$!
live_start=$(awk '{ print $22 }' "/proc/$live/stat")
dead=$(sh -c 'echo $$')
sleep 60 &
busy_process=$!
reused="$parent/sysprim-run-$live-1"   # the pid lives, but its start time is not the recorded one
owned="$parent/sysprim-run-$live-$live_start"
busy="$parent/sysprim-run-$dead-2"
cleanup_planted() {
        kill "$live" "$busy_process" 2>/dev/null
        wait "$live" "$busy_process" 2>/dev/null
        rmdir "$reused" "$owned" "$busy" 2>/dev/null
        rm -f "$RECORDS/$live-1" "$RECORDS/$live-$live_start" "$RECORDS/$dead-2"
        rmdir "$RECORDS" /run/sysprim 2>/dev/null
}
on_exit cleanup_planted
mkdir -p "$RECORDS" "$reused" "$owned" "$busy"
echo "$busy_process" >"$busy/cgroup.procs"
echo "$reused" >"$RECORDS/$live-1"
echo "$owned" >"$RECORDS/$live-$live_start"
echo "$busy" >"$RECORDS/$dead-2"
expect "a run with planted records succeeds" 0 "" spr true
check "a reused pid (another start time) counts as dead: its cgroup is removed" [ ! -e "$reused" ]
check "...and its record" [ ! -e "$RECORDS/$live-1" ]
check "a live owner's cgroup stays" [ -d "$owned" ]
check "...and its record" [ -e "$RECORDS/$live-$live_start" ]
check "a dead owner's cgroup that still has a process stays" [ -d "$busy" ]
check "...and its record" [ -e "$RECORDS/$dead-2" ]
kill "$busy_process"
wait "$busy_process" 2>/dev/null
expect "once the process is gone, the next run succeeds" 0 "" spr true
check "...and removes that cgroup" [ ! -e "$busy" ]
check "...and its record" [ ! -e "$RECORDS/$dead-2" ]
echo /etc >"$RECORDS/$dead-3"
expect "a record naming something other than a container cgroup" 0 "" spr true
check "...leaves that alone" [ -d /etc ]
rm -f "$RECORDS/$dead-3"
cleanup_planted
run_done
