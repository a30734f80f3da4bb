#!/usr/bin/env bash
# run: no device node opens in the container but the few sysprim puts under /dev. The default
# capabilities have no CAP_MKNOD; the root, volumes and tmpfs mounts are nodev, so a node an image
# ships, or one made with --cap-add MKNOD, cannot be opened (Docker gets this from its device cgroup;
# here a write to /dev/kmsg made with mknod reached the host's kernel log). --privileged keeps them.
. "$SYSPRIM_SOURCE_ROOT/test/e2e/lib.sh"
. "$SYSPRIM_SOURCE_ROOT/test/run/lib.sh"

# Nodes with /dev/null's numbers: harmless if the check were to fail.
expect "mknod is refused by default" 1 "" spr sh -c 'mknod /dev/n2 c 1 3'
expect_stderr "mknod: says why" "Operation not permitted"
expect "--cap-add MKNOD: a node made in the root does not open" 0 "refused" \
        spr --cap-add MKNOD sh -c 'mknod /n2 c 1 3 && { echo x >/n2 && echo opened || echo refused; }'
expect "--cap-add MKNOD: nor one made under /tmp" 0 "refused" \
        spr --cap-add MKNOD sh -c 'mknod /tmp/n2 c 1 3 && { echo x >/tmp/n2 && echo opened || echo refused; }'
expect "/dev/null, /dev/zero and /dev/urandom work" 0 "ok" \
        spr sh -c 'echo x >/dev/null && head -c 4 /dev/zero | wc -c | grep -q 4 && head -c 4 /dev/urandom >/dev/null && echo ok'

# A root directory and a volume that already hold a device node.
SHIPPED=$E2E_TMP/shipped
make_rootfs "$SHIPPED"
mknod "$SHIPPED/n2" c 1 3
VOLUME=$E2E_TMP/volume
mkdir -p "$VOLUME"
mknod "$VOLUME/n2" c 1 3
opens='if echo x >"$0" 2>/dev/null; then echo opened; else echo refused; fi'
expect "a node shipped in the root does not open" 0 "refused" sp --rootfs "$SHIPPED" sh -c "$opens" /n2
expect "nor with --rootfs-rw" 0 "refused" sp --rootfs "$SHIPPED" --rootfs-rw sh -c "$opens" /n2
expect "nor in a volume" 0 "refused" spr -v "$VOLUME:/vol" sh -c "$opens" /vol/n2
expect "nor in a read-only volume" 0 "refused" spr -v "$VOLUME:/vol:ro" sh -c "$opens" /vol/n2
expect "--privileged: it opens" 0 "opened" sp --privileged --rootfs "$SHIPPED" sh -c "$opens" /n2
run_done
