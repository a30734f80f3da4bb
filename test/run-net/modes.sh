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
# Each refused value says why and what is taken (the first line; the second is the --help hint).
says_why() { # NAME EXPECTED-FIRST-LINE OPTIONS...
        local name=$1 line=$2
        shift 2
        testing "$name says why" "'$SYSPRIM' run $* -- true 2>&1 | sed -n 1p; exit \${PIPESTATUS[0]}" "$line" 2
}
says_why "--net foo" "sysprim run: --net: unknown mode 'foo' (expected none, host or bridge)" --net foo
says_why "--bridge 'a b'" "sysprim run: --bridge: 'a b' has a space, which a bridge name cannot have (a letter, \
then letters, digits or _: it also names the bridge's NAT table)" --net bridge --bridge "'a b'"
says_why "--bridge sp-x" "sysprim run: --bridge: 'sp-x' has '-', which a bridge name cannot have (a letter, then \
letters, digits or _: it also names the bridge's NAT table)" --net bridge --bridge sp-x
says_why "--bridge 0br" "sysprim run: --bridge: '0br' starts with '0', not a letter (a letter, then letters, digits \
or _: it also names the bridge's NAT table)" --net bridge --bridge 0br
says_why "a 16-character --bridge" "sysprim run: --bridge: 'abcdefghijklmnop' has 16 characters; a network \
interface name has at most 15" --net bridge --bridge abcdefghijklmnop
says_why "--ip 10.0.0" "sysprim run: --ip: '10.0.0' is not an IPv4 address (expected four numbers from 0 to 255 \
joined by dots, such as 10.88.0.5)" --net bridge --ip 10.0.0
says_why "--ip 127.0.0.5" "sysprim run: --ip: '127.0.0.5' is not a unicast address (0.0.0.0/8, 127.0.0.0/8 and \
224.0.0.0 upwards cannot be a container's)" --net bridge --ip 127.0.0.5
says_why "--ip of the bridge" "sysprim run: --ip: '10.218.0.1' is the bridge's own address in 10.218.0.0/24 (a \
container takes 10.218.0.2 to 10.218.0.254)" "${NET[@]}" --ip 10.218.0.1
says_why "--ip of the network" "sysprim run: --ip: '10.218.0.0' is the network address of 10.218.0.0/24 (a container \
takes 10.218.0.2 to 10.218.0.254)" "${NET[@]}" --ip 10.218.0.0
says_why "--ip of the broadcast" "sysprim run: --ip: '10.218.0.255' is the broadcast address of 10.218.0.0/24 (a \
container takes 10.218.0.2 to 10.218.0.254)" "${NET[@]}" --ip 10.218.0.255
says_why "--ip outside" "sysprim run: --ip: '10.219.0.5' is outside the bridge's subnet 10.218.0.0/24 (a container \
takes 10.218.0.2 to 10.218.0.254)" "${NET[@]}" --ip 10.219.0.5

# Run-time refusals (125) while a container holds 10.218.0.9.
start_bg holder "${NET[@]}" --ip 10.218.0.9 -- busybox sh -c "$UP_AND_WAIT"
check "a container holds 10.218.0.9" wait_for_line up "$E2E_TMP/holder.out"
testing "an address in use is refused" \
        "'$SYSPRIM' run ${NET[*]} --ip 10.218.0.9 -- true 2>&1; echo rc=\$?" \
        "sysprim run: --net bridge: --ip 10.218.0.9: in use by another container (run by process $pid)
rc=125"
says_why "-p 0:80" "sysprim run: --publish: '0:80': a port is a number from 1 to 65535" --net bridge -p 0:80

# Without --subnet the bridge's record says its subnet, so the address is checked then (125).
testing "--ip of a bridge in use, without --subnet, says why" \
        "'$SYSPRIM' run --net bridge --bridge $BR --ip 10.218.0.1 -- true 2>&1; echo rc=\$?" \
        "sysprim run: --net bridge: --ip: '10.218.0.1' is the bridge's own address in 10.218.0.0/24 (a container takes 10.218.0.2 to 10.218.0.254)
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
