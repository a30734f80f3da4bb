#!/usr/bin/env bash
# Release on every exit path: SIGTERM and SIGINT to `sysprim run` (forwarded to the container, then
# everything undone), and SIGKILL, which cannot be caught: the next run on the bridge reclaims what the
# killed one held (its address, veth and, with a limit, its cgroup).
. "$SYSPRIM_SOURCE_ROOT/test/e2e/lib.sh"
. "$SYSPRIM_SOURCE_ROOT/test/run-net/lib.sh"
net_need leftover
BR=spleft
NET=(--net bridge --bridge $BR --subnet 10.212.0.0/24)
pids=()
on_exit 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; wait'
start_waiting() {   # start_waiting NAME [RUN-ARGS...]: a container that says it is up and then sleeps
        local name=$1
        shift
        start_bg "$name" "${NET[@]}" "$@" -p 127.0.0.1:$port:80 -- busybox sh -c "$UP_AND_WAIT"
        wait_for_line up "$E2E_TMP/$name.out"
}

for sig in TERM INT; do
        port=$($TCP freeport)
        start_waiting "$sig"
        testing "SIG$sig: the veth exists while it runs" "ip -o link show master $BR | wc -l" "1"
        kill -$sig "$pid"
        wait "$pid"
        rc=$?
        check "SIG$sig: sysprim run ended with the container's signal status" test "$rc" -ge 128
        check "SIG$sig: the published port is closed" $TCP refused 127.0.0.1 "$port"
        net_clean_check "SIG$sig: nothing left behind" $BR 10.212.0
done

# With a limit the killed run also leaves a cgroup, where the host has a pids controller to limit with.
limit=(--pids 50)
if ! "$SYSPRIM" run --net none --pids 50 -- busybox true </dev/null >/dev/null 2>&1; then
        echo "no cgroup pids controller here: the SIGKILL case runs without a limit and a cgroup"
        limit=()
fi
port=$($TCP freeport)
start_waiting KILL "${limit[@]}"
[ ${#limit[@]} -eq 0 ] || check "SIGKILL: the container has a cgroup while it runs" \
        test -n "$(find /sys/fs/cgroup -maxdepth 6 -type d -name "sysprim-run-$pid-*" 2>/dev/null)"
kill -9 "$pid"
wait "$pid" 2>/dev/null
# The container dies with its runtime (parent-death signal); the bridge and the state entry stay
# until the next run on this bridge notices that the owner is gone.
for i in $(seq 100); do ip -o link show master $BR 2>/dev/null | grep -q . || break; sleep 0.1; done
testing "SIGKILL: the next run gets the dead one's address" \
        "'$SYSPRIM' run ${NET[*]} -- busybox ip -4 -o addr show eth0 | busybox awk '{print \$4}'" "10.212.0.2/24"
net_clean_check "SIGKILL: nothing left after the next run" $BR 10.212.0
check "SIGKILL: its cgroup is gone after the next run" \
        test -z "$(find /sys/fs/cgroup -maxdepth 6 -type d -name "sysprim-run-$pid-*" 2>/dev/null)"

# Again, but the next run is on no bridge at all: it releases what the killed one held just the same.
port=$($TCP freeport)
start_waiting KILL2 --nat
kill -9 "$pid"
wait "$pid" 2>/dev/null
for i in $(seq 100); do ip -o link show master $BR 2>/dev/null | grep -q . || break; sleep 0.1; done
# A run in another network namespace has records of its own: it leaves this one's alone (it took
# the killed run's record for one of its own bridges, removed it and left the bridge and NAT table).
testing "SIGKILL: a run in another network namespace" "unshare --net '$SYSPRIM' run --net none -- busybox echo ok" "ok"
check "SIGKILL: the record still names the killed run" grep -q "^container 10.212.0.2 $pid " "$STATE_DIR/$BR.state"
testing "SIGKILL: the next run, with --net none, succeeds" "'$SYSPRIM' run --net none -- busybox echo ok" "ok"
net_clean_check "SIGKILL: nothing left after a run on no bridge (NAT included)" $BR 10.212.0
e2e_done
