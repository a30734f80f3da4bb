# run: -v HOST:CONTAINER binds a host path (read-write, or :ro read-only); --tmpfs mounts an empty tmpfs.
. "$SYSPRIM_SOURCE_ROOT/test/e2e/lib.sh"
. "$SYSPRIM_SOURCE_ROOT/test/run/lib.sh"
vol=$E2E_TMP/volume
mkdir -p "$vol"
echo from-host >"$vol/in"
echo file >"$E2E_TMP/single"
expect "a volume shows the host's files" 0 "from-host" spr -v "$vol:/data" cat /data/in
expect "a read-write volume takes writes" 0 "" spr -v "$vol:/data" sh -c 'echo from-container > /data/out'
check "the write reached the host" [ "$(cat "$vol/out")" = from-container ]
expect "a read-only volume refuses writes" 1 "" spr -v "$vol:/data:ro" sh -c 'echo x > /data/out2'
expect_stderr "read-only volume: EROFS" "Read-only file system"
check "nothing written through the read-only volume" [ ! -e "$vol/out2" ]
expect "a single file can be a volume" 0 "file" spr -v "$E2E_TMP/single:/etc/single:ro" cat /etc/single
expect "a volume target is created inside" 0 "from-host" spr -v "$vol:/a/b/c" cat /a/b/c/in
expect "a missing volume source is refused" 125 "" spr -v "$E2E_TMP/missing:/x" true
expect_stderr "the message names the source" "volume source $E2E_TMP/missing"
expect "a directory volume over a file is refused" 125 "" spr -v "$vol:/etc/passwd" true
expect_stderr "...saying why" "volume $vol is a directory, and /etc/passwd in the container is not a directory"
# A target that is a symlink in the root (Debian's /var/run -> /run) is followed, inside the root.
linked=$E2E_TMP/linked
make_rootfs "$linked"
mkdir -p "$linked/run" "$linked/var"
ln -s /run "$linked/var/run"
ln -s ../run "$linked/relative"
expect "a volume on a symlink goes where it points" 0 "from-host" sp --rootfs "$linked" -v "$vol:/var/run" cat /run/in
expect "...a relative one too" 0 "from-host" sp --rootfs "$linked" -v "$vol:/relative" cat /run/in
expect "--tmpfs with a size" 0 "1024" spr --tmpfs /scratch:1M sh -c "df -k /scratch | awk 'NR == 2 { print \$2 }'"
expect "--tmpfs is writable in a read-only root" 0 "ok" spr --read-only --tmpfs /w sh -c 'echo ok > /w/f && cat /w/f'
expect "a malformed volume is a usage error" 2 "" spr -v nocolon true
expect "a relative target is a usage error" 2 "" spr -v "$vol:relative" true
expect "an unknown mode is a usage error" 2 "" spr -v "$vol:/x:rx" true
for root in / // /. /./; do
        expect "a volume on the container's root ($root) is a usage error" 2 "" spr -v "$vol:$root" true
        expect "a tmpfs on the container's root ($root) is a usage error" 2 "" spr --tmpfs "$root" true
done
run_done
