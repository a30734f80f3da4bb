#!/usr/bin/env bash
# --net bridge on the default bridge sysprim0 (10.88.0.1/16): a server inside is reached from the host
# at the container's address, the container reaches a server on 10.88.0.1, and nothing is left after.
. "$SYSPRIM_SOURCE_ROOT/test/e2e/lib.sh"
. "$SYSPRIM_SOURCE_ROOT/test/run-net/lib.sh"
net_need bridge
# The default bridge is shared by every container on the host: a test must not disturb real ones.
ip link show sysprim0 >/dev/null 2>&1 && skip "bridge sysprim0 exists (containers running): not touching it"
[ -e "$STATE_DIR/sysprim0.state" ] && skip "$STATE_DIR/sysprim0.state exists: containers running"
pids=()
on_exit 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait'

# Host -> container: a one-shot server inside, at a fixed address.
"$SYSPRIM" run --net bridge --ip 10.88.0.10 -- busybox sh -c 'echo hello-from-container | busybox nc -l -p 8000' \
        >"$E2E_TMP/server.out" 2>&1 &
pids+=($!)
testing "host reaches a server inside at the container's address" "$TCP get 10.88.0.10 8000" "hello-from-container"
wait "${pids[0]}"
check "the server's container exited 0" test $? = 0
testing "the bridge is gone with its last container" "ip link show sysprim0 2>/dev/null" "" 1

# Container -> host: a server on 10.88.0.1 (bound before the bridge exists, IP_FREEBIND).
port=$($TCP freeport)
$TCP serve 10.88.0.1 "$port" hello-from-host >"$E2E_TMP/host.out" 2>&1 &
pids+=($!)
wait_for_line listening "$E2E_TMP/host.out"
testing "the container reaches a server on 10.88.0.1" \
        "'$SYSPRIM' run --net bridge -- busybox nc 10.88.0.1 $port </dev/null" "hello-from-host"
wait "${pids[1]}"
testing "the host's server saw the container's address" "grep peer= '$E2E_TMP/host.out'" "peer=10.88.0.2"

# /etc/hosts and /etc/resolv.conf inside.
testing "/etc/hosts names the container" \
        "'$SYSPRIM' run --net bridge --hostname web1 -- busybox grep web1 /etc/hosts" "10.88.0.2	web1"
expected=$(grep '^nameserver' /etc/resolv.conf | grep -v -e ' 127\.' -e ' ::1' || true)
testing "/etc/resolv.conf has the host's resolvers" \
        "'$SYSPRIM' run --net bridge -- busybox grep '^nameserver' /etc/resolv.conf" "$expected" $([ -n "$expected" ] && echo 0 || echo 1)
testing "a route to the world through the bridge" \
        "'$SYSPRIM' run --net bridge -- busybox ip route | busybox grep default" "default via 10.88.0.1 dev eth0 "

net_clean_check "nothing left behind" sysprim0 10.88.0
e2e_done
