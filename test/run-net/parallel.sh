#!/usr/bin/env bash
# Ten containers started at the same moment get ten different addresses (allocation is locked and
# recorded), and all of it is released afterwards.
. "$SYSPRIM_SOURCE_ROOT/test/e2e/lib.sh"
. "$SYSPRIM_SOURCE_ROOT/test/run-net/lib.sh"
net_need parallel
BR=sppar
pids=()
on_exit 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait'
# Each container prints its address and stays until told to stop: they all overlap.
for i in $(seq 10); do
        start_bg "c$i" --net bridge --bridge $BR --subnet 10.214.0.0/24 -- \
                busybox sh -c "busybox ip -4 -o addr show eth0 | busybox awk '{print \$4}'; $UP_AND_WAIT"
done
ok=1
for i in $(seq 10); do wait_for_line up "$E2E_TMP/c$i.out" || ok=0; done
check "all ten containers started" test $ok = 1
testing "ten different addresses" "grep -h '^10\.' '$E2E_TMP'/c*.out | sort -u | wc -l" "10"
testing "all in the subnet" "grep -h '^10\.' '$E2E_TMP'/c*.out | grep -c '^10\.214\.0\.[0-9]*/24$'" "10"
testing "ten veths on the bridge" "ip -o link show master $BR | wc -l" "10"
for p in "${pids[@]}"; do kill -TERM "$p"; done
for p in "${pids[@]}"; do wait "$p"; done
pids=()
net_clean_check "nothing left behind" $BR 10.214.0
e2e_done
