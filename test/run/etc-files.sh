# run: the container's /etc/hosts and /etc/resolv.conf. In a copy-on-write root they are written into
# the root's private upper layer; a root that has something else there than a file or a symlink (a
# directory, a FIFO), or whose /etc is not a directory, keeps what it has, with a warning, and the
# container runs, as with --rootfs-rw (and as systemd-nspawn does for resolv.conf).
. "$SYSPRIM_SOURCE_ROOT/test/e2e/lib.sh"
. "$SYSPRIM_SOURCE_ROOT/test/run/lib.sh"
written='grep -c "^# sysprim run" /etc/resolv.conf; grep -c "[[:space:]]sysprim$" /etc/hosts'
expect "a plain root: /etc/hosts and /etc/resolv.conf are written" 0 "1
1" spr sh -c "$written"

# odd_root NAME CHANGE: a test root at $E2E_TMP/NAME (in $root), CHANGE run in its directory.
odd_root() {
        root=$E2E_TMP/$1
        make_rootfs "$root"
        (cd "$root" && eval "$2")
}
# left_as_is NAME WARNING COMMAND...: the container runs COMMAND in the root (status 0, no output)
# and warns WARNING.
left_as_is() {
        local name=$1 warning=$2
        shift 2
        expect "$name" 0 "" sp --rootfs "$root" "$@"
        expect_stderr "...with a warning: $warning" "$warning"
}
odd_root hosts-directory 'mkdir etc/hosts'
left_as_is "/etc/hosts a directory: the container runs, the directory stays" \
        "/etc/hosts left as the container's root has it: not a regular file" \
        sh -c 'test -d /etc/hosts && grep -q "^# sysprim run" /etc/resolv.conf'
expect "...with --rootfs-rw too" 0 "" sp --rootfs "$root" --rootfs-rw test -d /etc/hosts
check "...and the root's directory is as it was" [ -d "$root/etc/hosts" ]
odd_root resolv-fifo 'rm etc/resolv.conf 2>/dev/null; mkfifo etc/resolv.conf'
left_as_is "/etc/resolv.conf a FIFO: the container runs, the FIFO stays" \
        "/etc/resolv.conf left as the container's root has it: not a regular file" \
        sh -c 'test -p /etc/resolv.conf && grep -q "[[:space:]]sysprim$" /etc/hosts'
odd_root etc-file 'rm -r etc && echo not-a-directory >etc'
left_as_is "/etc a regular file: the container runs, /etc stays a file" \
        "/etc/hosts, /etc/resolv.conf and /etc/hostname left out: the container's /etc is not a directory" grep -qx not-a-directory /etc
odd_root etc-dangling 'rm -r etc && ln -s /nowhere etc'
left_as_is "/etc a symlink to nothing: the container runs, the link stays" \
        "/etc/hosts, /etc/resolv.conf and /etc/hostname left out: the container's /etc is a symlink to nothing" test -L /etc

odd_root no-etc 'rm -r etc'
expect "no /etc at all: it is made, with both files" 0 "1
1" sp --rootfs "$root" sh -c "$written"
check "...in the container only" [ ! -e "$root/etc" ]
run_done
