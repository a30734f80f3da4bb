# run: the container has its own network namespace holding only the loopback interface, up.
. "$SYSPRIM_SOURCE_ROOT/test/e2e/lib.sh"
. "$SYSPRIM_SOURCE_ROOT/test/run/lib.sh"
expect "only lo" 0 "lo" spr ls /sys/class/net
expect "lo is up" 0 "0x9" spr cat /sys/class/net/lo/flags
expect "loopback works" 0 "hello" spr sh -c 'nc -l -p 7777 -w 5 127.0.0.1 & sleep 0.2; echo hello | nc -w 2 127.0.0.1 7777; wait'
run_done
