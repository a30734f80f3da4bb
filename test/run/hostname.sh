# run: the container has its own hostname (UTS namespace); the host's stays as it was.
. "$SYSPRIM_SOURCE_ROOT/test/e2e/lib.sh"
. "$SYSPRIM_SOURCE_ROOT/test/run/lib.sh"
host=$(hostname)
expect "default hostname" 0 "sysprim" spr hostname
expect "--hostname" 0 "box" spr --hostname box hostname
expect "HOSTNAME in the environment" 0 "box" spr --hostname box sh -c 'echo $HOSTNAME'
expect "changing it inside does not reach the host" 0 "" spr --cap-add SYS_ADMIN hostname changed
check "host hostname unchanged" [ "$(hostname)" = "$host" ]
run_done
