#!/usr/bin/env bash
# --nat: the container reaches an "outside" network (a namespace this test makes, with no route back
# to the container's subnet) through masquerading; the rule exists once while containers use it and is
# gone after, ip_forward is put back; iptables is used where nft is missing; with neither, a clear error
# (once at least: a stale NAT record that a test running beside this one left may be released by
# the same run, and say so too).
# It runs in a network namespace of its own: ip_forward is per namespace, and other tests beside this
# one (net-leftover) turn it on in the host's while their NAT containers run.
. "$SYSPRIM_SOURCE_ROOT/test/run-net/own-netns.sh"
. "$SYSPRIM_SOURCE_ROOT/test/e2e/lib.sh"
. "$SYSPRIM_SOURCE_ROOT/test/run-net/lib.sh"
net_need nat
need_cmd nft unshare
BR=spnat
NET=(--net bridge --bridge $BR --subnet 10.215.0.0/24 --nat)
pids=()
forward_before=$(cat /proc/sys/net/ipv4/ip_forward)
on_exit 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait; ip link del spt-out0 2>/dev/null'

# The outside: a namespace held by a sleeping process, joined to the host by a veth pair.
unshare --net sleep 600 &
outside=$!
pids+=($outside)
for i in $(seq 50); do [ "$(readlink /proc/$outside/ns/net)" != "$(readlink /proc/self/ns/net)" ] && break; sleep 0.1; done
ip link add spt-out0 type veth peer name spt-out1 netns "$outside"
ip addr add 10.216.0.1/24 dev spt-out0
ip link set spt-out0 up
nsenter -t "$outside" -n ip addr add 10.216.0.2/24 dev spt-out1
nsenter -t "$outside" -n ip link set spt-out1 up
nsenter -t "$outside" -n ip link set lo up

# reach_outside NAME MESSAGE: a one-shot server in the outside on a free port says MESSAGE; a NAT
# container connects to it (its log: $E2E_TMP/outside-MESSAGE.out).
reach_outside() {
        local port
        port=$($TCP freeport)
        nsenter -t "$outside" -n $TCP serve 10.216.0.2 "$port" "$2" >"$E2E_TMP/outside-$2.out" 2>&1 &
        pids+=($!)
        wait_for_line listening "$E2E_TMP/outside-$2.out"
        testing "$1" "'$SYSPRIM' run ${NET[*]} -- busybox nc 10.216.0.2 $port </dev/null" "$2"
}
reach_outside "the container reaches the outside network through NAT" from-outside
wait "${pids[1]}"
testing "the outside saw the host's address, not the container's" \
        "grep peer= '$E2E_TMP/outside-from-outside.out'" "peer=10.216.0.1"
testing "the NAT table is gone with the last container" "nft list table ip sysprim_$BR >/dev/null 2>&1" "" 1
testing "ip_forward is as it was" "cat /proc/sys/net/ipv4/ip_forward" "$forward_before"

# Two containers with --nat: one rule, present while either runs.
start_bg n1 "${NET[@]}" -- busybox sh -c "$UP_AND_WAIT"
first=$pid
start_bg n2 "${NET[@]}" -- busybox sh -c "$UP_AND_WAIT"
second=$pid
check "both containers started" wait_for_line up "$E2E_TMP/n1.out"
check "both containers started" wait_for_line up "$E2E_TMP/n2.out"
testing "one masquerade rule for two containers" \
        "nft list table ip sysprim_$BR | grep -c 'ip saddr 10.215.0.0/24 ip daddr != 10.215.0.0/24 masquerade'" "1"
kill -TERM $first
wait $first
testing "the rule stays while a container uses it" "nft list table ip sysprim_$BR | grep -c masquerade" "1"
kill -TERM $second
wait $second
net_clean_check "nothing left after the NAT containers" $BR 10.215.0

# With NAT on, ip_forward is on: a neighbour routing the subnet through the host (the outside, here)
# must not reach the containers; the containers still reach it.
nsenter -t "$outside" -n ip route add 10.215.0.0/24 via 10.216.0.1
start_bg f1 "${NET[@]}" --ip 10.215.0.77 -- busybox sh -c 'echo up; exec busybox nc -l -p 9100 </dev/null'
check "a NAT container listening" wait_for_line up "$E2E_TMP/f1.out"
testing "a neighbour cannot open a connection into the subnet" "nsenter -t $outside -n $TCP blocked 10.215.0.77 9100 2" ""
reach_outside "...while the containers still reach it" still-out
kill -TERM $pid
wait $pid
nsenter -t "$outside" -n ip route del 10.215.0.0/24 via 10.216.0.1
net_clean_check "nothing left after the forward filter" $BR 10.215.0

# A bridge without NAT while NAT has the host forwarding: neither a neighbour routing its subnet through
# the host nor a NAT container reaches its containers; the host still does.
start_bg i1 "${NET[@]}" -- busybox sh -c "$UP_AND_WAIT"
forwarding=$pid
check "a NAT container keeps the host forwarding" wait_for_line up "$E2E_TMP/i1.out"
start_bg i2 --net bridge --bridge spiso --subnet 10.233.0.0/24 --ip 10.233.0.77 -- \
        busybox sh -c 'echo up; while :; do busybox nc -l -p 9100 </dev/null; done'
isolated=$pid
check "a container without NAT listening" wait_for_line up "$E2E_TMP/i2.out"
nsenter -t "$outside" -n ip route add 10.233.0.0/24 via 10.216.0.1
testing "the host forwards" "cat /proc/sys/net/ipv4/ip_forward" "1"
testing "a neighbour cannot open a connection into a bridge without NAT" \
        "nsenter -t $outside -n $TCP blocked 10.233.0.77 9100 2" ""
testing "nor can a container of a NAT bridge" \
        "'$SYSPRIM' run ${NET[*]} -- busybox sh -c 'busybox nc -w 2 10.233.0.77 9100 </dev/null && echo connected || echo blocked'" \
        "blocked"
testing "the host reaches it" "busybox nc -w 5 10.233.0.77 9100 </dev/null && echo connected" "connected"
# ...and nothing it sends is routed out: a datagram to the outside never arrives (a NAT container's does).
udp_probe() { # NAME RUN-ARGS...: a container sends a datagram to a listener in the outside, which
        local name=$1 port # prints it, or "nothing" after 3 s
        shift
        port=$($TCP freeport)
        nsenter -t "$outside" -n python3 -c "import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('10.216.0.2', $port)); s.settimeout(3)
print('ready', flush=True)
try: print(s.recvfrom(64)[0].decode())
except socket.timeout: print('nothing')" >"$E2E_TMP/$name.out" 2>&1 &
        local listener=$!
        wait_for_line ready "$E2E_TMP/$name.out"
        "$SYSPRIM" run "$@" -- python3 -c "import socket
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'hi', ('10.216.0.2', $port))"
        wait $listener
        sed -n 2p "$E2E_TMP/$name.out"
}
got=$(udp_probe u1 --net bridge --bridge spiso --subnet 10.233.0.0/24)
check "nothing a container of a bridge without NAT sends is routed out (got $got)" [ "$got" = nothing ]
got=$(udp_probe u2 "${NET[@]}")
check "...while a NAT container's datagram arrives (got $got)" [ "$got" = hi ]
kill -TERM $isolated
wait $isolated
kill -TERM $forwarding
wait $forwarding
nsenter -t "$outside" -n ip route del 10.233.0.0/24 via 10.216.0.1
net_clean_check "nothing left of the bridge without NAT" spiso 10.233.0
net_clean_check "nothing left of the NAT bridge beside it" $BR 10.215.0

# What a run killed half-way leaves: a record saying NAT with no table (here: the table deleted by
# hand while a container runs), or a table with no record. Neither may stick to the bridge.
start_bg k1 "${NET[@]}" -- busybox sh -c "$UP_AND_WAIT"
check "a NAT container started" wait_for_line up "$E2E_TMP/k1.out"
nft delete table ip sysprim_$BR
kill -TERM $pid
wait $pid
testing "its end cleans up without the table" "grep -c 'remove NAT' '$E2E_TMP/k1.out'" "0" 1
net_clean_check "nothing left when the table had gone first" $BR 10.215.0
testing "ip_forward is put back all the same" "cat /proc/sys/net/ipv4/ip_forward" "$forward_before"
testing "the bridge works without --nat after that" \
        "'$SYSPRIM' run --net bridge --bridge $BR --subnet 10.215.0.0/24 -- busybox echo ok" "ok"
nft add table ip sysprim_$BR
nft add chain ip sysprim_$BR postrouting '{ type nat hook postrouting priority srcnat; policy accept; }'
nft add rule ip sysprim_$BR postrouting ip saddr 10.215.0.0/24 ip daddr != 10.215.0.0/24 masquerade
start_bg k2 "${NET[@]}" -- busybox sh -c "$UP_AND_WAIT"
check "a NAT container started over a leftover table" wait_for_line up "$E2E_TMP/k2.out"
testing "one masquerade rule, not the leftover's and a new one" \
        "nft list table ip sysprim_$BR | grep -c masquerade" "1"
kill -TERM $pid
wait $pid
net_clean_check "nothing left after the leftover table" $BR 10.215.0

# Without nft (hidden in a private mount namespace): iptables.
nft_path=$(command -v nft)
if command -v iptables >/dev/null; then
        ipt_path=$(readlink -f "$(command -v iptables)")
        # iptables leaves its built-in nat chain after the last rule is deleted; the test removes the
        # table it caused, if it was not there before and holds no rule.
        nft list table ip nat >/dev/null 2>&1 || on_exit 'nft list table ip nat 2>/dev/null | grep -q -e masquerade -e jump -e dnat -e snat || nft delete table ip nat 2>/dev/null'
        # ...and its filter table, where the FORWARD rule goes.
        nft list table ip filter >/dev/null 2>&1 || on_exit 'nft list table ip filter 2>/dev/null | grep -v policy | grep -q -e drop -e accept -e jump -e reject || nft delete table ip filter 2>/dev/null'
        unshare -m --propagation private sh -c "mount --bind /dev/null '$nft_path' &&
                exec '$SYSPRIM' run ${NET[*]} -- busybox sh -c '$UP_AND_WAIT'" >"$E2E_TMP/ipt.out" 2>&1 &
        pid=$!
        pids+=($pid)
        check "a container started with iptables NAT" wait_for_line up "$E2E_TMP/ipt.out"
        testing "the iptables rule is there while it runs" \
                "iptables -w -t nat -S POSTROUTING | grep -c 'sysprim $BR'" "1"
        testing "...and the forward filter's" "iptables -w -S FORWARD | grep -c 'sysprim $BR'" "1"
        ipt=$pid
        # A run that sees nft joins, and is the last to leave: the NAT goes with the tool it was made
        # with (the record keeps it), not the one that run would use.
        start_bg ipt2 "${NET[@]}" -- busybox sh -c "$UP_AND_WAIT"
        check "a container that sees nft joins" wait_for_line up "$E2E_TMP/ipt2.out"
        kill -TERM $ipt
        wait $ipt
        kill -TERM $pid
        wait $pid
        net_clean_check "nothing left after iptables NAT" $BR 10.215.0
        testing "with neither nft nor iptables: a clear error, 125" \
                "unshare -m --propagation private sh -c \"mount --bind /dev/null '$nft_path' && mount --bind /dev/null '$ipt_path' && '$SYSPRIM' run ${NET[*]} -- true\" 2>&1 | grep -m1 -o 'install one (apt-get install nftables)'; exit \${PIPESTATUS[0]}" \
                "install one (apt-get install nftables)" 125
fi
net_clean_check "nothing left behind" $BR 10.215.0
# A bridge named "forward": its record once shared the files of the ip_forward bookkeeping, and NAT
# then waited forever on a lock it held itself.
testing "--nat on a bridge named forward" \
        "timeout 20 '$SYSPRIM' run --net bridge --bridge forward --subnet 10.232.0.0/24 --nat -- busybox echo ok" "ok"
net_clean_check "nothing left of bridge forward" forward 10.232.0
testing "ip_forward is as it was at the end" "cat /proc/sys/net/ipv4/ip_forward" "$forward_before"
e2e_done
