# run: -u NAME[:GROUP] looks the names up in the container's /etc/passwd and /etc/group (as the
# container sees them, volumes included), never in the host's; an unknown name is exit 125.
. "$SYSPRIM_SOURCE_ROOT/test/e2e/lib.sh"
. "$SYSPRIM_SOURCE_ROOT/test/run/lib.sh"
ids='echo $(id -u) $(id -g) $HOME'
# The test root's own files: root and nobody (65534), groups root and nogroup (65534).
expect "-u NAME: its uid, primary group and home" 0 "65534 65534 /" spr -u nobody sh -c "$ids"
expect "-u NAME:GROUP" 0 "65534 0 /" spr -u nobody:root sh -c "$ids"
expect "-u NAME:GID" 0 "65534 7 /" spr -u nobody:7 sh -c "$ids"
expect "-u UID:GROUP" 0 "1000 65534 /" spr -u 1000:nogroup sh -c "$ids"
expect "-u root by name: HOME /root" 0 "0 0 /root" spr -u root sh -c "$ids"
expect "-u NAME has no supplementary groups" 0 "65534" spr -u nobody id -G
expect "-u NAME: not root, so no capabilities" 0 "0000000000000000" \
        spr -u nobody sh -c "awk '/^CapEff/ { print \$2 }' /proc/self/status"
expect "an unknown user: 125" 125 "" spr -u alice true
expect_stderr "...saying where it looked" "no user 'alice' in the container's /etc/passwd"
expect "an unknown group: 125" 125 "" spr -u nobody:staff true
expect_stderr "...saying where it looked" "no group 'staff' in the container's /etc/group"
# A user the host has (daemon, on any Debian) is unknown to the container.
if grep -q '^daemon:' /etc/passwd; then
        expect "a user of the host's is not the container's: 125" 125 "" spr -u daemon true
fi
# The container's files as the container sees them: here a volume over /etc/passwd and /etc/group.
cat >"$E2E_TMP/passwd" <<'END'
# comment
+nis-compat
root:x:0:0:root:/root:/bin/sh
broken:x:notanumber:1:broken:/:/bin/sh
short:x:5:5
alice:x:1234:2345:Alice:/home/alice:/bin/sh
END
cat >"$E2E_TMP/group" <<'END'
root:x:0:
staff:x:50:alice
END
vols=(-v "$E2E_TMP/passwd:/etc/passwd:ro" -v "$E2E_TMP/group:/etc/group:ro")
expect "a user only the container has" 0 "1234 2345 /home/alice" spr "${vols[@]}" -u alice sh -c "$ids"
expect "...with a group only the container has" 0 "1234 50 /home/alice" spr "${vols[@]}" -u alice:staff sh -c "$ids"
expect "-e HOME wins over the user's home" 0 "/elsewhere" spr "${vols[@]}" -u alice -e HOME=/elsewhere sh -c 'echo $HOME'
expect "-w and the user's home are independent" 0 "/srv" spr "${vols[@]}" -u alice -w /srv pwd
expect "a damaged entry: 125" 125 "" spr "${vols[@]}" -u broken true
expect_stderr "...says so" "the entry of user 'broken' in the container's /etc/passwd is damaged"
expect "a line with too few fields is no user" 125 "" spr "${vols[@]}" -u short true
# Without /etc/passwd at all.
mkdir -p "$E2E_TMP/empty"
expect "no /etc/passwd in the container: 125" 125 "" spr -v "$E2E_TMP/empty:/etc:ro" -u alice true
expect_stderr "...names the file" "no user 'alice' in the container's /etc/passwd"
expect "numbers need no /etc/passwd" 0 "1000 1000" spr -v "$E2E_TMP/empty:/etc:ro" -u 1000 sh -c 'echo $(id -u) $(id -g)'
expect "a malformed name is a usage error" 2 "" spr -u "a:b:c" true
expect "a name may not start with -" 2 "" spr -u -x true
expect "a uid out of range is a usage error, not a name" 2 "" spr -u 4294967295 true
run_done
