# run: the container has its own hostname (UTS namespace), which /etc/hostname says too; the host's
# stays as it was.
. "$SYSPRIM_SOURCE_ROOT/test/e2e/lib.sh"
. "$SYSPRIM_SOURCE_ROOT/test/run/lib.sh"
host=$(hostname)
expect "default hostname" 0 "sysprim" spr hostname
expect "--hostname" 0 "box" spr --hostname box hostname
expect "HOSTNAME in the environment" 0 "box" spr --hostname box sh -c 'echo $HOSTNAME'
expect "changing it inside does not reach the host" 0 "" spr --cap-add SYS_ADMIN hostname changed
check "host hostname unchanged" [ "$(hostname)" = "$host" ]
expect "/etc/hostname: the container's name" 0 "sysprim" spr cat /etc/hostname
expect "/etc/hostname: --hostname" 0 "box" spr --hostname box cat /etc/hostname
root=$E2E_TMP/own-hostname
make_rootfs "$root"
echo elsewhere >"$root/etc/hostname"
expect "--rootfs-rw: bound over the root's file" 0 "box" sp --rootfs "$root" --rootfs-rw --hostname box cat /etc/hostname
check "...which stays as it was" [ "$(cat "$root/etc/hostname")" = elsewhere ]
run_done
