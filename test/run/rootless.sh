# run: rootless containers. An ordinary user (nobody, through setpriv) gets a user namespace in which
# they are root; host files keep their owners and stay unwritable; limits without a delegated cgroup
# are refused with the reason. And --userns as root: the container's root is an unprivileged host uid.
. "$SYSPRIM_SOURCE_ROOT/test/e2e/lib.sh"
. "$SYSPRIM_SOURCE_ROOT/test/run/lib.sh"
need_cmd setpriv
[ "$(cat /proc/sys/user/max_user_namespaces 2>/dev/null || echo 1)" != 0 ] || skip "user namespaces disabled"
[ "$(cat /proc/sys/kernel/unprivileged_userns_clone 2>/dev/null || echo 1)" = 1 ] ||
        skip "unprivileged user namespaces disabled (kernel.unprivileged_userns_clone)"

# --userns as root first: the container's root is the start of root's subordinate range (or 100000).
vol=$E2E_TMP/volume
mkdir -p "$vol"
expect "--userns: uid 0 inside" 0 "0" spr --userns id -u
expect "--userns: mapped to an unprivileged host uid" 0 "yes" \
        spr --userns sh -c 'awk "\$1 == 0 && \$2 != 0 { print \"yes\" }" /proc/self/uid_map'
outside=$("$SYSPRIM" run --rootfs "$ROOTFS" --userns awk '$1 == 0 { print $2 }' /proc/self/uid_map </dev/null)
chmod 777 "$vol"
expect "--userns: a file made inside" 0 "" spr --userns -v "$vol:/data" touch /data/made-inside
check "--userns: ... belongs to the mapped uid on the host" [ "$(stat -c %u "$vol/made-inside")" = "$outside" ]
expect "--userns: the host's root-owned files are not root's inside" 0 "65534" spr --userns stat -c %u /bin/busybox
expect "--userns: the default capability set, within the namespace" 0 "00000000a00425fb" \
        spr --userns sh -c "awk '/^CapEff/ { print \$2 }' /proc/self/status"

# Rootless: nobody must reach the binary and the root filesystem. Where they cannot, or the kernel
# refuses unprivileged user namespaces, this half is left out (and said so); failures above still count.
chmod 755 "$E2E_TMP"
SP_AS="setpriv --reuid=65534 --regid=65534 --clear-groups"
if ! $SP_AS test -x "$SYSPRIM"; then
        echo "SKIP (rootless half): nobody cannot execute $SYSPRIM"
        run_done
fi
if ! $SP_AS "$SYSPRIM" run --rootfs "$ROOTFS" true </dev/null >/dev/null 2>"$E2E_TMP/err"; then
        echo "SKIP (rootless half): rootless containers unavailable here: $(cat "$E2E_TMP/err")"
        [ "$E2E_FAILED" -eq 0 ] && [ "$E2E_PASSED" -eq 0 ] && skip "rootless containers unavailable here"
        run_done
fi
echo host >"$vol/host-file"
chmod 644 "$vol/host-file"
chmod 755 "$vol"
expect "rootless: id -u is 0 inside" 0 "0" spr id -u
expect "rootless: the caller's uid is root inside" 0 "0 65534 1" spr sh -c 'echo $(cat /proc/self/uid_map)'
expect "rootless: host files keep their owners (root shows as the overflow uid)" 0 "65534" \
        spr -v "$vol:/data" stat -c %u /data/host-file
expect "rootless: a host-only file cannot be written" 1 "" spr -v "$vol:/data" sh -c 'echo x >> /data/host-file'
expect_stderr "rootless: refused with EACCES" "Permission denied"
check "rootless: the host file is unchanged" [ "$(cat "$vol/host-file")" = host ]
expect "rootless: a host directory cannot be written" 1 "" spr -v "$vol:/data" touch /data/new
check "rootless: nothing created on the host" [ ! -e "$vol/new" ]
expect "rootless: root-owned files of the root filesystem stay unwritable" 1 "" spr sh -c 'echo x >> /etc/passwd'
expect "rootless: own PID namespace" 0 "2 1" spr sh -c 'echo $$ $PPID'
expect "rootless: only lo" 0 "lo" spr ls /sys/class/net
expect "rootless: seccomp and no_new_privs" 0 "2 1" \
        spr sh -c "echo \$(awk '/^(Seccomp|NoNewPrivs):/ { print \$2 }' /proc/self/status | sort -r)"
expect "rootless: writes to the copy-on-write root work" 0 "ok" spr sh -c 'mkdir /new && echo ok > /new/f && cat /new/f'
expect "rootless: --mem without a delegated cgroup is refused" 125 "" spr --mem 64M true
expect_stderr "rootless: ... with the reason" "cannot apply the limits rootless: they need a cgroup delegated"
expect "rootless: --stats works without a cgroup" 0 "" spr --stats true
expect_stderr "rootless: --stats reports CPU time" "stats: cpu time"
SP_AS=
run_done
