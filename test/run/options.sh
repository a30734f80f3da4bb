# run: the process options: a clean environment, -e, -w, -u (numeric; names: user.sh), and --help.
. "$SYSPRIM_SOURCE_ROOT/test/e2e/lib.sh"
. "$SYSPRIM_SOURCE_ROOT/test/run/lib.sh"
expect "a clean environment" 0 "HOME=/root HOSTNAME=sysprim PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
        env -u TERM SECRET=1 "$SYSPRIM" run --rootfs "$ROOTFS" sh -c 'env | grep -v "^PWD=\|^SHLVL=\|^_=" | sort | tr "\n" " " | sed "s/ \$//"'
expect "the caller's environment cannot be read from PID 1" 0 "0" \
        env SYSPRIM_TEST_SECRET=do-not-leak "$SYSPRIM" run --rootfs "$ROOTFS" --cap-add SYS_PTRACE \
        sh -c 'grep -c do-not-leak /proc/1/environ || true'
expect "TERM passes through" 0 "xterm-test" env TERM=xterm-test "$SYSPRIM" run --rootfs "$ROOTFS" sh -c 'echo $TERM'
expect "-e KEY=VALUE" 0 "v1 v2" spr -e K1=v1 --env K2=v2 sh -c 'echo $K1 $K2'
expect "-e overrides a default" 0 "/bin" spr -e PATH=/bin sh -c 'echo $PATH'
expect "-e KEY takes the caller's value" 0 "from-caller" env PASSED=from-caller "$SYSPRIM" run --rootfs "$ROOTFS" -e PASSED sh -c 'echo $PASSED'
expect "-e =x is a usage error" 2 "" spr -e =x true
# -e KEY more than once: its last value, in its first place (a default's, for PATH); keys that merely
# share a beginning (A, AB) are different keys.
expect "-e: a repeated key keeps its first place and takes its last value" 0 "PATH=/x:/bin
HOME=/root
HOSTNAME=sysprim
A=3
AB=4
B=2
C=" env -u TERM "$SYSPRIM" run --rootfs "$ROOTFS" -e A=1 -e PATH=/x:/bin -e AB=4 -e B=2 -e A=3 -e C= env
# Many -e options cost one sort, not a scan of the earlier ones for each: 200,000 took 42 s that way,
# and take a fraction of a second now. Bounded at 30 s (killed then), far from either. Their argv is
# about 4 MB, so the stack limit, which bounds it, is raised for this run.
many=()
for ((i = 0; i < 200000; i++)); do many+=("-eK$i=$i"); done
(ulimit -s "$(ulimit -H -s)" && exec "$SYSPRIM" run --rootfs "$ROOTFS" "${many[@]}" -eK7=last env) \
        </dev/null >"$E2E_TMP/env" 2>"$E2E_TMP/err" &
pid=$!
unset many
for i in $(seq 600); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
done
kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
wait "$pid"
rc=$?
leak_check "$pid"
check "200,000 -e options: status 0 within 30 s (got $rc)" [ "$rc" = 0 ]
check "...each key once" [ "$(grep -c '^K' "$E2E_TMP/env")" = 200000 ]
check "...in the order given, the last value in the first place" \
        [ "$(grep '^K' "$E2E_TMP/env" | sed -n '1p;8p;200000p' | tr '\n' ' ')" = "K0=0 K7=last K199999=199999 " ]
expect "-w sets the working directory" 0 "/srv/app" spr -w /srv/app pwd
expect "default working directory" 0 "/" spr pwd
expect "-w must be absolute" 2 "" spr -w relative pwd
expect "-u UID:GID" 0 "1000 1001" spr -u 1000:1001 sh -c 'echo $(id -u) $(id -g)'
expect "-u UID (group = UID)" 0 "1000 1000" spr -u 1000 sh -c 'echo $(id -u) $(id -g)'
expect "-u 1000 has no supplementary groups" 0 "1000" spr -u 1000 id -G
expect "-u with a malformed name is a usage error" 2 "" spr -u "al ice" true
# A refused value says why (the first line of stderr; the second is the --help hint).
says_why() { # NAME FIRST-LINE OPTIONS...
        local name=$1 line=$2
        shift 2
        expect "$name: usage error" 2 "" spr "$@" true
        check "...says why" [ "$(sed -n 1p "$E2E_TMP/err")" == "$line" ]
}
says_why "-u 99999999999" "sysprim run: --user: UID 99999999999 is out of range (at most 4294967294)" -u 99999999999
says_why "-u 0:4294967295" "sysprim run: --user: GID 4294967295 is out of range (at most 4294967294)" -u 0:4294967295
says_why "-u 'al ice'" "sysprim run: --user: 'al ice' has a space, which a user name cannot have (expected UID[:GID] \
or NAME[:GROUP]; a name has letters, digits, '.', '_' or '-', not first, at most 32)" -u "al ice"
says_why "-u 0:-g" "sysprim run: --user: '-g' starts with '-', which a group name cannot (expected UID[:GID] or \
NAME[:GROUP]; a name has letters, digits, '.', '_' or '-', not first, at most 32)" -u 0:-g
says_why "-e =x" "sysprim run: --env: '=x' has no name before the '=' (expected KEY=VALUE, or KEY for the caller's \
value)" -e =x
says_why "-e ''" "sysprim run: --env: an empty value (expected KEY=VALUE, or KEY for the caller's value)" -e ""
says_why "-v /tmp" "sysprim run: --volume: '/tmp' names no directory in the container (expected HOST:DIR[:ro])" -v /tmp
says_why "-v :/x" "sysprim run: --volume: ':/x' names no host path before the ':' (expected HOST:DIR[:ro])" -v :/x
says_why "-v /tmp:" "sysprim run: --volume: '/tmp:' names no directory in the container (expected HOST:DIR[:ro])" -v /tmp:
# A hostname goes into /etc/hosts: a newline there would add a line of the caller's choosing.
says_why "--hostname with a newline" "sysprim run: --hostname: a hostname cannot have a byte 0x0a (letters, \
digits, '-', '.' and '_')" --hostname "$(printf 'a\n1.2.3.4 evil')"
says_why "--hostname 'a b'" "sysprim run: --hostname: a hostname cannot have a space (letters, digits, '-', '.' and \
'_')" --hostname "a b"
says_why "--hostname starting with '-'" "sysprim run: --hostname: '-x' starts with '-' (a hostname starts with a \
letter or a digit)" --hostname -x
expect "--hostname with '-', '.' and '_'" 0 "web-1.example_x" spr --hostname web-1.example_x hostname
expect "--help exits 0" 0 "" sh -c '"$SYSPRIM" run --help >/dev/null'
"$SYSPRIM" run --help >"$E2E_TMP/help"
for option in rootfs rootfs-rw read-only volume tmpfs workdir env hostname user mem cpus pids stats seccomp \
        cap-add cap-drop privileged no-init; do
        check "--help lists --$option" grep -q -- "--$option" "$E2E_TMP/help"
done
expect "--rootfs-rw without --rootfs is a usage error" 2 "" sp --rootfs-rw true
expect "an empty --rootfs is a usage error" 2 "" sp --rootfs "" true
expect "--rootfs-rw with --read-only is a usage error" 2 "" spr --rootfs-rw --read-only true
expect "--rootfs-rw on the host's root is a usage error" 2 "" sp --rootfs / --rootfs-rw true
expect "--rootfs-rw on the host's root spelt /tmp/.. is a usage error" 2 "" sp --rootfs /tmp/.. --rootfs-rw true
# Odd --rootfs values: each says what is wrong with the path as the user gave it, never by the
# /proc/self/fd path the new root is reached by inside.
rootfs_refused() { # NAME STATUS STDERR-TEXT ROOTFS [OPTIONS...]
        local name=$1 status=$2 text=$3 root=$4
        shift 4
        expect "--rootfs $name: $status" "$status" "" sp --rootfs "$root" "$@" true
        expect_stderr "...says why" "$text"
        check "...and names no internal path" [ "$(grep -c /proc/self/fd "$E2E_TMP/err")" = 0 ]
}
rootfs_refused /proc 125 "sysprim run: root filesystem /proc is on the kernel's proc filesystem, not a directory of \
files to run (--rootfs takes a directory holding a root filesystem, such as an unpacked image)" /proc
rootfs_refused /proc/1 125 "root filesystem /proc/1 is on the kernel's proc filesystem" /proc/1
rootfs_refused /sys 125 "root filesystem /sys is on the kernel's sysfs filesystem" /sys
rootfs_refused "a file" 125 "root filesystem /etc/passwd (--rootfs takes a directory): Not a directory" /etc/passwd
mkdir "$E2E_TMP/empty"
rootfs_refused "without the command" 127 "sysprim run: true: command not found in the root filesystem $E2E_TMP/empty" \
        "$E2E_TMP/empty"
rootfs_refused /dev 127 "true: command not found in the root filesystem /dev" /dev
# A read-only root filesystem without /proc: copy-on-write it runs (the overlay makes /proc); written
# through (--rootfs-rw) nothing can be made in it. Its mount is the test's: the leak check is told.
readonly_root=$E2E_TMP/readonly-root
mkdir "$readonly_root"
mount -t tmpfs -o size=8m tmpfs "$readonly_root"
on_exit "umount '$readonly_root' 2>/dev/null"
mkdir "$readonly_root/bin"
cp "$BUSYBOX" "$readonly_root/bin/busybox"
ln -s busybox "$readonly_root/bin/true"
mount -o remount,ro "$readonly_root"
HOST_MOUNTS=$(host_mounts)
expect "--rootfs read-only: copy-on-write runs" 0 "" sp --rootfs "$readonly_root" true
rootfs_refused "read-only with --rootfs-rw" 125 "sysprim run: root filesystem $readonly_root has no /proc directory \
(the container's proc is mounted there) and none can be made in it: Read-only file system" "$readonly_root" --rootfs-rw
umount "$readonly_root"
HOST_MOUNTS=$(host_mounts)
run_done
