#!/usr/bin/env bash
# A run killed (SIGKILL) at any point of its network setup leaves nothing that the next run, on any
# bridge, does not release: no bridge, NAT table, rule, record or lock file, and ip_forward as it was.
# strace kills it at each of its record writes (rename) and netlink requests (sendto) in turn, and at
# its wait for nft. In a network namespace of its own, as net-nat (ip_forward is per namespace).
. "$SYSPRIM_SOURCE_ROOT/test/run-net/own-netns.sh"
. "$SYSPRIM_SOURCE_ROOT/test/e2e/lib.sh"
. "$SYSPRIM_SOURCE_ROOT/test/run-net/lib.sh"
net_need killedsetup
need_cmd strace nft
forward_before=$(cat /proc/sys/net/ipv4/ip_forward)
points=()
for n in 1 2 3 4 5 6; do points+=("rename:$n"); done
for n in $(seq 1 14); do points+=("sendto:$n"); done
points+=("wait4:1" "wait4:2")
for point in "${points[@]}"; do
        call=${point%:*} n=${point#*:}
        strace -f -o /dev/null -e trace="$call" -e inject="$call:signal=KILL:when=$n" \
                "$SYSPRIM" run --net bridge --bridge spks --subnet 10.237.0.0/24 --nat -- true >/dev/null 2>&1
        # The next run, on another bridge, releases what the killed one left.
        "$SYSPRIM" run --net bridge --bridge spkt --subnet 10.238.0.0/24 -- true >"$E2E_TMP/next.out" 2>&1 ||
                fail "killed at $call $n: the next run failed" "$(cat "$E2E_TMP/next.out")"
        net_clean_check "killed at $call $n: nothing left" spks 10.237.0
        testing "killed at $call $n: ip_forward as it was" "cat /proc/sys/net/ipv4/ip_forward" "$forward_before"
done
testing "no file left" "ls -A '$STATE_DIR' 2>/dev/null; true" ""
e2e_done
