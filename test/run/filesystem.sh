# run: the default root is a copy-on-write view of the host's: the host's files are visible, writes
# (and deletions) inside never reach the host, and they vanish with the container.
. "$SYSPRIM_SOURCE_ROOT/test/e2e/lib.sh"
. "$SYSPRIM_SOURCE_ROOT/test/run/lib.sh"
# A marker on the host's root filesystem (not /tmp: the container's /tmp is its own tmpfs).
marker=$(mktemp /var/tmp/sysprim-test-marker.XXXXXX)
on_exit "rm -f '$marker'"
echo host >"$marker"
expect "host files are visible" 0 "host" sp cat "$marker"
expect "writes and deletions inside succeed" 0 "done" \
        sp /bin/sh -c "echo container > '$marker' && rm -f /etc/hostname && echo x > /usr/sysprim-new && echo done"
check "the host's file keeps its content" [ "$(cat "$marker")" = host ]
check "the host's /etc/hostname still exists" [ -e /etc/hostname ]
check "no new file on the host" [ ! -e /usr/sysprim-new ]
expect "a second container does not see the first one's writes" 0 "absent" \
        sp /bin/sh -c 'test -e /usr/sysprim-new && echo present || echo absent'
# Mounts made inside (allowed with --privileged) stay inside: the leak check compares the host's.
expect "mounts inside do not reach the host" 0 "mounted" \
        sp --privileged /bin/sh -c 'mount -t tmpfs inside /mnt && umount -l /proc && echo mounted'
check "the host's /mnt is unchanged" [ "$(awk '$5 == "/mnt"' /proc/self/mountinfo)" = "" ]
# The same with --rootfs: the directory is the lower layer, untouched.
expect "--rootfs is copy-on-write too" 0 "done" spr sh -c 'echo x > /bin/new && rm /bin/ls && echo done'
check "--rootfs directory untouched" [ -e "$ROOTFS/bin/ls" ]
check "--rootfs directory has no new file" [ ! -e "$ROOTFS/bin/new" ]
# --rootfs-rw writes through (to a root of its own: the leak check watches the shared one).
make_rootfs "$E2E_TMP/rwroot"
expect "--rootfs-rw writes through" 0 "" sp --rootfs "$E2E_TMP/rwroot" --rootfs-rw sh -c 'echo through > /through'
check "the write reached the directory" [ "$(cat "$E2E_TMP/rwroot/through" 2>/dev/null)" = through ]
# --read-only: nothing writable but tmpfs.
expect "--read-only refuses writes to the root" 1 "" spr --read-only sh -c 'echo x > /file'
expect_stderr "--read-only says why" "Read-only file system"
expect "--read-only keeps /tmp writable" 0 "ok" spr --read-only sh -c 'echo ok > /tmp/f && cat /tmp/f'
# /dev/mqueue: the container's own message queues (its IPC namespace's), as crun and Docker have it.
expect "/dev/mqueue is an mqueue mount" 0 "mqueue" \
        spr sh -c "awk '\$5 == \"/dev/mqueue\" { for (i = 7; \$i != \"-\"; i++); print \$(i + 1) }' /proc/self/mountinfo"
expect "...with --userns too" 0 "mqueue" \
        spr --userns sh -c "awk '\$5 == \"/dev/mqueue\" { for (i = 7; \$i != \"-\"; i++); print \$(i + 1) }' /proc/self/mountinfo"
run_done
