# run: the container has its own PID tree: our init is PID 1, the command its child, no host process.
. "$SYSPRIM_SOURCE_ROOT/test/e2e/lib.sh"
. "$SYSPRIM_SOURCE_ROOT/test/run/lib.sh"
expect "the command is PID 2, its parent PID 1" 0 "2 1" spr sh -c 'echo $$ $PPID'
expect "PID 1 is sysprim's init" 0 "1" spr sh -c 'grep -c sysprim /proc/1/cmdline'
expect "--no-init: the command is PID 1" 0 "1" spr --no-init sh -c 'echo $$'
# init is not dumpable: the command cannot stop it under ptrace (which left `run` waiting for ever).
expect "the command cannot ptrace init" 1 "EPERM" spr probe ptrace-init
expect "only the container's processes are visible" 0 "1 2" \
        spr sh -c 'cd /proc && echo [0-9]*'
expect "the host's PID of the test is not visible" 0 "absent" spr sh -c "test -e /proc/$$ && echo present || echo absent"
run_done
