# run: the container has its own network namespace holding only the loopback interface, up.
. "$SYSPRIM_SOURCE_ROOT/test/e2e/lib.sh"
. "$SYSPRIM_SOURCE_ROOT/test/run/lib.sh"
expect "only lo" 0 "lo" spr ls /sys/class/net
expect "lo is up" 0 "0x9" spr cat /sys/class/net/lo/flags
# The client retries until the listener is up (bounded), so there is no race with its start.
expect "loopback works" 0 "hello" spr sh -c 'nc -l -p 7777 -w 10 127.0.0.1 & i=0
        until echo hello | nc -w 2 127.0.0.1 7777 2>/dev/null; do
                i=$((i + 1)); [ $i -gt 200 ] && break; usleep 50000
        done; wait'
run_done
