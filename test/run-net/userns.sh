#!/usr/bin/env bash
# Networking with user namespaces: --userns as root joins the bridge like any container; a rootless
# `sysprim run` gets a clear refusal for --net bridge and still its own hosts file with --net none.
. "$SYSPRIM_SOURCE_ROOT/test/e2e/lib.sh"
. "$SYSPRIM_SOURCE_ROOT/test/run-net/lib.sh"
net_need userns
"$SYSPRIM" run --help | grep -q -- '--userns' || skip "sysprim run has no --userns yet"
BR=spuser
NET=(--net bridge --bridge $BR --subnet 10.209.0.0/24)

testing "--userns: eth0 on the bridge" \
        "'$SYSPRIM' run --userns ${NET[*]} -- busybox ip -4 -o addr show eth0 | busybox awk '{print \$4}'" "10.209.0.2/24"
port=$($TCP freeport)
$TCP serve 10.209.0.1 "$port" hello-userns >"$E2E_TMP/host.out" 2>&1 &
server=$!
on_exit "kill $server 2>/dev/null"
wait_for_line listening "$E2E_TMP/host.out"
testing "--userns: reaches the bridge's address" \
        "'$SYSPRIM' run --userns ${NET[*]} -- busybox nc 10.209.0.1 $port </dev/null" "hello-userns"
wait $server
testing "--userns: /etc/hosts names the container" \
        "'$SYSPRIM' run --userns ${NET[*]} --hostname uns -- busybox grep uns /etc/hosts" "10.209.0.2	uns"
net_clean_check "--userns: nothing left behind" $BR 10.209.0

# Rootless: an unprivileged user (nobody) runs sysprim run.
if command -v setpriv >/dev/null && [ "$(cat /proc/sys/kernel/unprivileged_userns_clone 2>/dev/null || echo 1)" = 1 ]; then
        AS_NOBODY="setpriv --reuid 65534 --regid 65534 --clear-groups --"
        testing "rootless --net bridge is refused with the reason" \
                "cd /; HOME=/ $AS_NOBODY '$SYSPRIM' run ${NET[*]} -- true 2>&1 | grep -c 'needs root'; exit \${PIPESTATUS[0]}" "1" 125
        if $AS_NOBODY "$SYSPRIM" run -- true >/dev/null 2>&1; then
                testing "rootless --net none: /etc/hosts names the container" \
                        "cd /; $AS_NOBODY '$SYSPRIM' run --hostname rl -- busybox grep rl /etc/hosts" "127.0.1.1	rl"
        fi
        net_clean_check "rootless: nothing left behind" $BR 10.209.0
fi
e2e_done
