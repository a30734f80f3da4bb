# run: rootless with subordinate IDs: when /etc/subuid and /etc/subgid give the user a range, the
# container gets it through newuidmap/newgidmap, so it has users other than root. The test gives nobody
# a range in a private mount namespace (files bound over /etc/subuid and /etc/subgid), host untouched.
. "$SYSPRIM_SOURCE_ROOT/test/e2e/lib.sh"
need_root
need_cmd setpriv newuidmap newgidmap unshare
if [ -z "${SYSPRIM_TEST_PRIVATE_MOUNTS:-}" ]; then
        rm -rf "$E2E_TMP" # exec skips the exit trap; the re-run makes its own
        SYSPRIM_TEST_PRIVATE_MOUNTS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
. "$SYSPRIM_SOURCE_ROOT/test/run/lib.sh"
echo "nobody:300000:65536" >"$E2E_TMP/subuid"
echo "nobody:300000:65536" >"$E2E_TMP/subgid"
for f in subuid subgid; do
        [ -e "/etc/$f" ] || skip "no /etc/$f to bind over"
        mount --bind "$E2E_TMP/$f" "/etc/$f"
done
HOST_MOUNTS=$(host_mounts) # the binds above are this test's, not the runtime's
chmod 755 "$E2E_TMP"
SP_AS="setpriv --reuid=65534 --regid=65534 --clear-groups"
$SP_AS test -x "$SYSPRIM" || skip "nobody cannot execute $SYSPRIM"
$SP_AS "$SYSPRIM" run --rootfs "$ROOTFS" true </dev/null >/dev/null 2>"$E2E_TMP/err" ||
        skip "rootless containers unavailable here: $(cat "$E2E_TMP/err")"
expect "the user is root, IDs 1.. come from the subordinate range" 0 "0 65534 1 1 300000 65536" \
        spr sh -c 'echo $(cat /proc/self/uid_map)'
expect "the same for groups" 0 "0 65534 1 1 300000 65536" spr sh -c 'echo $(cat /proc/self/gid_map)'
expect "-u 1000:1000 works inside" 0 "1000 1000" spr -u 1000:1000 sh -c 'echo $(id -u) $(id -g)'
mkdir -p "$E2E_TMP/vol" && chmod 777 "$E2E_TMP/vol"
expect "a file made by uid 1000 inside" 0 "" spr -u 1000 -v "$E2E_TMP/vol:/data" touch /data/f
check "... belongs to 300999 on the host" [ "$(stat -c %u "$E2E_TMP/vol/f")" = 300999 ]
SP_AS=
run_done
