# run: our init reaps orphans that end inside the container (no zombie stays behind).
. "$SYSPRIM_SOURCE_ROOT/test/e2e/lib.sh"
. "$SYSPRIM_SOURCE_ROOT/test/run/lib.sh"
# A subshell starts `sleep` and exits at once: sleep is orphaned to PID 1. When it ends, only PID 1 can
# reap it. The command waits (up to 10 s) for the sleep to disappear from /proc entirely.
script='(sleep 0.2 &); i=0
while grep -qs "^sleep$" /proc/[0-9]*/comm; do
        i=$((i + 1)); [ $i -gt 200 ] && { echo "zombie left"; exit 1; }; usleep 50000
done; echo reaped'
expect "orphans are reaped by init" 0 "reaped" spr sh -c "$script"
# Many at once.
expect "a hundred orphans are reaped" 0 "reaped" spr sh -c "for n in \$(seq 100); do (true &); done; ${script}"
run_done
