#!/usr/bin/env bash
# --net bridge refuses a subnet that overlaps a network already in use (an interface's address, a
# route, the default route's gateway), as Docker and podman do: the bridge's address would shadow it
# (192.0.2.0/24 over the host's own 192.0.2.2/24 made its gateway 192.0.2.1 a local address). All in
# a network namespace of the test's own, with a veth pair it makes there.
. "$SYSPRIM_SOURCE_ROOT/test/e2e/lib.sh"
. "$SYSPRIM_SOURCE_ROOT/test/run-net/lib.sh"
net_need overlap
need_cmd unshare

# in_netns SCRIPT: SCRIPT in a new network namespace holding spo0 (192.0.2.2/24, default route via
# 192.0.2.1) and spo1 (no address; a route to 203.0.113.0/25 through the router 198.18.0.1).
in_netns() {
        unshare --net bash -c "
                ip link set lo up
                ip link add spo0 type veth peer name spo1 && ip addr add 192.0.2.2/24 dev spo0 &&
                ip link set spo0 up && ip link set spo1 up && ip route add default via 192.0.2.1 &&
                ip route add 198.18.0.1/32 dev spo1 && ip route add 203.0.113.0/25 via 198.18.0.1 || exit 99
                $1"
}
run_bridge() { echo "'$SYSPRIM' run --net bridge --bridge spovl --subnet $1 -- true"; }

testing "a subnet holding an interface's address is refused (125)" "$(declare -f in_netns); in_netns \"$(run_bridge 192.0.2.0/24)\"" "" 125
check "...the message names the network and the interface" \
        grep -q -- "--subnet 192.0.2.0/24 overlaps 192.0.2.0/24, in use on spo0; pick another --subnet" "$E2E_TMP/stderr"
testing "a wider one too" "$(declare -f in_netns); in_netns \"$(run_bridge 192.0.0.0/16)\"" "" 125
testing "one that a route's destination lies in" "$(declare -f in_netns); in_netns \"$(run_bridge 203.0.113.64/26)\"" "" 125
check "...names the route's network" grep -q "overlaps 203.0.113.0/25, in use on spo1" "$E2E_TMP/stderr"
testing "one that holds a router" "$(declare -f in_netns); in_netns \"$(run_bridge 198.18.0.0/24)\"" "" 125
testing "a free subnet works" "$(declare -f in_netns); in_netns \"$(run_bridge 198.51.100.0/24) && echo ran\"" "ran"
net_clean_check "nothing left of spovl" spovl 198.51.100
e2e_done
