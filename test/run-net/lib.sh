# Helpers for the run-net end-to-end tests (sourced after test/e2e/lib.sh). Each test uses a bridge
# and subnet of its own, so the tests can run in parallel, and checks that nothing of it is left.
TCP="python3 $SYSPRIM_SOURCE_ROOT/test/run-net/tcp.py"
STATE_DIR=/run/sysprim/net/ns-$(stat -L -c %i /proc/self/ns/net)  # this network namespace's records

# net_need NAME: root, tools, bridges; then wait until no other run of test NAME (another build
# directory's suite, say) is using the same bridge and subnet.
net_need() {
        need_root
        need_cmd ip python3 busybox nsenter
        [ -e /proc/self/ns/net ] || skip "no network namespaces"
        $TCP lock "$1" $$ >"$E2E_TMP/lock.out" 2>&1 &
        local holder=$! i
        on_exit "kill $holder 2>/dev/null"
        for i in $(seq 500); do grep -q -e locked -e busy "$E2E_TMP/lock.out" 2>/dev/null && break; sleep 0.1; done
        grep -q locked "$E2E_TMP/lock.out" || skip "another run of this test keeps its bridge busy"
        ip link add "sptp$1" type bridge 2>/dev/null || skip "cannot create a bridge"
        ip link del "sptp$1"
}

# sp_hex A.B.C: the hex prefix of the host veth names of addresses in A.B.C.0/24 (sp + 8 hex digits).
sp_hex() { printf 'sp%02x%02x%02x' $(echo "$1" | tr . ' '); }

# net_clean_check NAME BRIDGE A.B.C: after the containers exited, nothing of BRIDGE is left: the link,
# veths of its subnet, NAT (nft table or iptables rule), state file, hosts/resolv.conf folders.
net_clean_check() {
        local name=$1 bridge=$2 prefix=$3 left=""
        ip link show "$bridge" >/dev/null 2>&1 && left+=" bridge $bridge;"
        ip -o link show | grep -q "$(sp_hex "$prefix")" && left+=" veth $(ip -o link show | grep "$(sp_hex "$prefix")");"
        ip -o -4 addr show | grep -q " $prefix\." && left+=" address $(ip -o -4 addr show | grep " $prefix\.");"
        if command -v nft >/dev/null; then
                nft list table ip "sysprim_$bridge" >/dev/null 2>&1 && left+=" nft table sysprim_$bridge;"
        fi
        if command -v iptables >/dev/null; then
                iptables -w -t nat -S POSTROUTING 2>/dev/null | grep -q "sysprim $bridge" && left+=" iptables rule;"
                iptables -w -S FORWARD 2>/dev/null | grep -q "sysprim $bridge" && left+=" iptables forward rule;"
        fi
        ip rule show | grep -q -e "to $prefix\." -e "iif $bridge " && \
                left+=" rule $(ip rule show | grep -e "to $prefix\." -e "iif $bridge ");"
        [ -e "$STATE_DIR/$bridge.state" ] && left+=" state $(cat "$STATE_DIR/$bridge.state");"
        [ -e "$STATE_DIR/$bridge.lock" ] && left+=" lock file;"
        if [ -z "$left" ]; then pass "$name"; else fail "$name" "left behind:$left"; fi
}

# wait_for FILE...: until every FILE exists (the container got that far); 30 s at most.
wait_for() {
        local i f missing
        for i in $(seq 300); do
                missing=0
                for f in "$@"; do [ -e "$f" ] || missing=1; done
                [ $missing = 0 ] && return 0
                sleep 0.1
        done
        return 1
}

# wait_for_line TEXT FILE: until FILE has a line with TEXT (a server is ready); 10 s at most.
wait_for_line() {
        local i
        for i in $(seq 100); do grep -q "$1" "$2" 2>/dev/null && return 0; sleep 0.1; done
        return 1
}

# start_bg NAME RUN-ARGS...: `sysprim run RUN-ARGS` in the background, output in $E2E_TMP/NAME.out;
# its pid in $pid (and appended to pids). Containers that print "up" and sleep are told to stop
# with SIGTERM, which sysprim run forwards.
start_bg() {
        local name=$1
        shift
        # A script's background jobs start with SIGINT ignored; give sysprim run the default back.
        python3 -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])' \
                "$SYSPRIM" run "$@" >"$E2E_TMP/$name.out" 2>&1 &
        pid=$!
        pids+=($pid)
}
UP_AND_WAIT="echo up; exec busybox sleep 600"
