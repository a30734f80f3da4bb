#!/usr/bin/env bash
# --net none (the default), host and bridge; the options' usage errors; run-time refusals (address in
# use, a foreign bridge, another subnet for a bridge in use), each leaving nothing behind.
. "$SYSPRIM_SOURCE_ROOT/test/e2e/lib.sh"
. "$SYSPRIM_SOURCE_ROOT/test/run-net/lib.sh"
net_need modes
BR=spmode
NET=(--net bridge --bridge $BR --subnet 10.218.0.0/24)
pids=()
on_exit 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait; ip link del spforeign 2>/dev/null; ip link del spmodeveth 2>/dev/null'
host_netns=$(readlink /proc/self/ns/net)

testing "--net none (default): only lo" "'$SYSPRIM' run -- busybox ls /sys/class/net" "lo"
testing "--net none: a namespace of its own" \
        "'$SYSPRIM' run --net none -- busybox readlink /proc/self/ns/net | grep -vc '^$host_netns\$'" "1"
testing "--net host: the host's namespace" "'$SYSPRIM' run --net host -- busybox readlink /proc/self/ns/net" "$host_netns"
testing "--net host: /etc/hosts names the container" \
        "'$SYSPRIM' run --net host --hostname hostbox -- busybox grep -c hostbox /etc/hosts" "1"
testing "--net bridge: lo and eth0" "'$SYSPRIM' run ${NET[*]} -- busybox ls /sys/class/net" "eth0
lo"
testing "--net bridge: eth0's MAC follows its address" \
        "'$SYSPRIM' run ${NET[*]} -- busybox cat /sys/class/net/eth0/address" "02:73:0a:da:00:02"

# Usage errors (2), before anything is created.
testing "--net bogus" "'$SYSPRIM' run --net bogus -- true" "" 2
testing "--subnet without a prefix" "'$SYSPRIM' run --net bridge --subnet 10.1.0.0 -- true" "" 2
testing "--subnet /31" "'$SYSPRIM' run --net bridge --subnet 10.1.0.0/31 -- true" "" 2
testing "--ip not an address" "'$SYSPRIM' run --net bridge --ip 300.1.1.1 -- true" "" 2
testing "--ip outside the subnet" "'$SYSPRIM' run ${NET[*]} --ip 10.219.0.5 -- true" "" 2
testing "--ip of the bridge itself" "'$SYSPRIM' run ${NET[*]} --ip 10.218.0.1 -- true" "" 2
testing "--ip without --net bridge" "'$SYSPRIM' run --ip 10.88.0.5 -- true" "" 2
testing "--nat without --net bridge" "'$SYSPRIM' run --net host --nat -- true" "" 2
testing "--bridge with a dash" "'$SYSPRIM' run --net bridge --bridge sp-x -- true" "" 2
testing "usage errors say which option" "'$SYSPRIM' run --net bridge --subnet 10.1.0.0 -- true 2>&1 | head -1" \
        "sysprim run: --subnet: invalid value '10.1.0.0' (expected a unicast range such as 10.89.0.0/24, prefix length 8 to 30)"
testing "--subnet /31 says why" "'$SYSPRIM' run --net bridge --subnet 10.9.9.0/31 -- true 2>&1 | sed -n 1p; exit \${PIPESTATUS[0]}" \
        "sysprim run: --subnet: '10.9.9.0/31' is too small: a /31 leaves no address for a container besides the bridge's (prefix length 8 to 30; a /30 holds one container)" 2

# Run-time refusals (125) while a container holds 10.218.0.9.
start_bg holder "${NET[@]}" --ip 10.218.0.9 -- busybox sh -c "$UP_AND_WAIT"
check "a container holds 10.218.0.9" wait_for_line up "$E2E_TMP/holder.out"
testing "an address in use is refused" \
        "'$SYSPRIM' run ${NET[*]} --ip 10.218.0.9 -- true 2>&1; echo rc=\$?" \
        "sysprim run: --net bridge: --ip 10.218.0.9: in use by another container (run by process $pid)
rc=125"
testing "another subnet for a bridge in use is refused" \
        "'$SYSPRIM' run --net bridge --bridge $BR --subnet 10.219.0.0/24 -- true 2>&1 | grep -c 'in use with subnet 10.218.0.0/24'; exit \${PIPESTATUS[0]}" \
        "1" 125
kill -TERM $pid
wait $pid
pids=()

ip link add spforeign type bridge
testing "a bridge sysprim did not make is not taken over" \
        "'$SYSPRIM' run --net bridge --bridge spforeign --subnet 10.218.0.0/24 -- true 2>&1 | grep -c 'not made by sysprim'; exit \${PIPESTATUS[0]}" \
        "1" 125
testing "and is left alone" "ip -o link show spforeign | grep -c spforeign" "1"
ip link del spforeign
# A link of another kind is named for what it is, not called a foreign bridge.
testing "--bridge lo: not a bridge" "'$SYSPRIM' run --net bridge --bridge lo -- true 2>&1; echo rc=\$?" \
        "sysprim run: --net bridge: lo is a loopback device, not a bridge; pick another name with --bridge
rc=125"
testing "and lo is left alone" "ip -o link show lo | grep -c 'LOOPBACK,UP'; ip -o -4 addr show dev lo" \
        "1
$(ip -o -4 addr show dev lo)"
testing "and no record of it" "ls '$STATE_DIR' 2>/dev/null | grep -c '^lo\.'; true" "0"
ip link add spmodeveth type veth peer name spmodeveth1
testing "a veth: says its kind" \
        "'$SYSPRIM' run --net bridge --bridge spmodeveth --subnet 10.218.0.0/24 -- true 2>&1; echo rc=\$?" \
        "sysprim run: --net bridge: spmodeveth is a veth link, not a bridge; pick another name with --bridge
rc=125"
testing "and is left alone" "ip -o link show spmodeveth | grep -c spmodeveth" "1"
ip link del spmodeveth

testing "the command's exit status passes through" "'$SYSPRIM' run ${NET[*]} -- sh -c 'exit 7'" "" 7
testing "command not found: 127" "'$SYSPRIM' run ${NET[*]} -- /nonexistent 2>/dev/null" "" 127
net_clean_check "nothing left behind" $BR 10.218.0
e2e_done
