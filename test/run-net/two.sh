#!/usr/bin/env bash
# Two containers on one bridge reach each other; each sees the other's address as the peer.
. "$SYSPRIM_SOURCE_ROOT/test/e2e/lib.sh"
. "$SYSPRIM_SOURCE_ROOT/test/run-net/lib.sh"
net_need two
BR=sptwo
NET=(--net bridge --bridge $BR --subnet 10.213.0.0/24)
pids=()
on_exit 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait'

"$SYSPRIM" run "${NET[@]}" --ip 10.213.0.50 -- busybox sh -c 'echo from-a | busybox nc -l -p 9000' \
        >"$E2E_TMP/a.out" 2>&1 &
pids+=($!)
# B retries until A listens (A may still be starting).
testing "container B reaches container A" \
        "'$SYSPRIM' run ${NET[*]} -- busybox sh -c 'for i in \$(busybox seq 250); do busybox nc 10.213.0.50 9000 </dev/null && exit 0; busybox sleep 0.1; done; exit 1'" \
        "from-a"
wait "${pids[0]}"
check "container A exited 0" test $? = 0
testing "B got the next free address while A held .50" \
        "'$SYSPRIM' run ${NET[*]} -- busybox ip -4 -o addr show eth0 | busybox awk '{print \$4}'" "10.213.0.2/24"

# IPv4 only: IPv6 is off on the bridge and on the containers' eth0, so no container can hand the host
# or its neighbours routes by router advertisement (CVE-2020-13401's kind); lo keeps ::1.
if [ -e /proc/sys/net/ipv6 ]; then
        start_bg v6 "${NET[@]}" -- busybox sh -c "$UP_AND_WAIT"
        check "a container started" wait_for_line up "$E2E_TMP/v6.out"
        testing "IPv6 is off on the bridge" "cat /proc/sys/net/ipv6/conf/$BR/disable_ipv6" "1"
        testing "...and on the container's eth0, not on its lo" \
                "'$SYSPRIM' run ${NET[*]} -- busybox sh -c 'busybox cat /proc/sys/net/ipv6/conf/eth0/disable_ipv6 /proc/sys/net/ipv6/conf/lo/disable_ipv6'" \
                $'1\n0'
        kill -TERM $pid
        wait $pid
fi

net_clean_check "nothing left behind" $BR 10.213.0
e2e_done
