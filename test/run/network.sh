# run: the container has its own network namespace holding only the loopback interface, up.
. "$SYSPRIM_SOURCE_ROOT/test/e2e/lib.sh"
. "$SYSPRIM_SOURCE_ROOT/test/run/lib.sh"
expect "only lo" 0 "lo" spr ls /sys/class/net
expect "lo is up" 0 "0x9" spr cat /sys/class/net/lo/flags
# A server on 127.0.0.1 inside, and a client that retries (bounded) until the server is up.
expect "loopback works" 0 "hello" spr sh -c 'mkdir /tmp/www && echo hello > /tmp/www/f
        httpd -f -p 127.0.0.1:8080 -h /tmp/www & i=0
        until wget -q -O - http://127.0.0.1:8080/f 2>/dev/null; do
                i=$((i + 1)); [ $i -gt 200 ] && break; usleep 50000
        done; kill $!'
run_done
