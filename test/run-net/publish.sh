#!/usr/bin/env bash
# -p/--publish HOSTPORT:CONTAINERPORT: a connection to 127.0.0.1:HOSTPORT on the host reaches a server
# inside; the port is closed again when the container exits.
. "$SYSPRIM_SOURCE_ROOT/test/e2e/lib.sh"
. "$SYSPRIM_SOURCE_ROOT/test/run-net/lib.sh"
net_need publish
BR=sppub
pids=()
on_exit 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait'
port=$($TCP freeport)
"$SYSPRIM" run --net bridge --bridge $BR --subnet 10.217.0.0/24 -p 127.0.0.1:$port:80/tcp -- \
        busybox sh -c 'echo published | busybox nc -l -p 80' >"$E2E_TMP/c.out" 2>&1 &
pids+=($!)
testing "127.0.0.1:HOSTPORT reaches the server inside" "$TCP get 127.0.0.1 $port" "published"
wait "${pids[0]}"
check "the container exited 0" test $? = 0
pids=()
check "the host port is closed after exit" $TCP refused 127.0.0.1 "$port"

# A bigger transfer through the forwarder (much more than its 64 KiB buffer).
port=$($TCP freeport)
start_bg big --net bridge --bridge $BR --subnet 10.217.0.0/24 -p $port:8080 -- busybox sh -c \
        'busybox head -c 3000000 /dev/urandom >/tmp/blob; busybox md5sum </tmp/blob; busybox nc -l -p 8080 </tmp/blob'
wait_for_line ' -' "$E2E_TMP/big.out"
$TCP get 127.0.0.1 $port | md5sum >"$E2E_TMP/received.md5"
wait "$pid"
pids=()
testing "3 MB through the published port arrive intact" "cat '$E2E_TMP/received.md5'" "$(head -1 "$E2E_TMP/big.out")"

# The host port is taken: set-up fails (125) after the clone, and still releases everything.
port=$($TCP freeport)
$TCP serve 127.0.0.1 "$port" x >"$E2E_TMP/taken.out" 2>&1 &
pids+=($!)
wait_for_line listening "$E2E_TMP/taken.out"
testing "a host port already taken is a runtime error (125)" \
        "'$SYSPRIM' run --net bridge --bridge $BR --subnet 10.217.0.0/24 -p 127.0.0.1:$port:80 -- true 2>&1 | grep -c 'Address already in use'; exit \${PIPESTATUS[0]}" "1" 125
testing "--publish without a container port is a usage error" \
        "'$SYSPRIM' run --net bridge -p 8080 -- true" "" 2
testing "--publish of udp is a usage error" "'$SYSPRIM' run --net bridge -p 8080:80/udp -- true" "" 2
net_clean_check "nothing left behind" $BR 10.217.0
e2e_done
