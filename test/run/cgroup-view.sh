# run: the container sees its own cgroups at /sys/fs/cgroup, read-only, where a program looks for its
# limits on a host (v1: /sys/fs/cgroup/memory/memory.limit_in_bytes, v2: /sys/fs/cgroup/memory.max),
# with its cgroup as the root; without a cgroup of its own nothing of the host's is shown there.
. "$SYSPRIM_SOURCE_ROOT/test/e2e/lib.sh"
. "$SYSPRIM_SOURCE_ROOT/test/run/lib.sh"
need_limit --mem 64M --pids 16

limit='cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes'
expect "--mem: the limit is where a program reads it" 0 "67108864" spr --mem 64M sh -c "$limit"
pids='cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max'
expect "--pids with --mem: both hierarchies" 0 "67108864
16" spr --mem 64M --pids 16 sh -c "$limit; $pids"
# The cgroup's process list has the container's PIDs: its cgroup is the root of the view.
procs='cat /sys/fs/cgroup/cgroup.procs 2>/dev/null || cat /sys/fs/cgroup/memory/cgroup.procs'
expect "the view's root is the container's cgroup" 0 "init's there" spr --mem 64M sh -c \
        "{ $procs; } | grep -qx 1 && echo \"init's there\""
expect "the view is read-only" 0 "refused" spr --mem 64M sh -c \
        '{ echo 1 >/sys/fs/cgroup/memory.max || echo 1 >/sys/fs/cgroup/memory/memory.limit_in_bytes; } 2>/dev/null ||
         mkdir /sys/fs/cgroup/x 2>/dev/null || echo refused'
expect "no limits: nothing of the host's cgroups" 0 "" spr ls -A /sys/fs/cgroup
expect "a cgroup line is the namespace's root" 0 "/" spr --mem 64M sh -c \
        'grep -E "^0::|[:,]memory[:,]" /proc/self/cgroup | tail -n 1 | cut -d: -f3'
run_done
