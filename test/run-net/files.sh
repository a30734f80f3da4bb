#!/usr/bin/env bash
# /etc/hosts and /etc/resolv.conf inside: the container's name and address, the host's resolvers;
# bound read-only over the root's files, created in a copy-on-write root that lacks them, and never
# written into a --rootfs-rw directory.
. "$SYSPRIM_SOURCE_ROOT/test/e2e/lib.sh"
. "$SYSPRIM_SOURCE_ROOT/test/run-net/lib.sh"
net_need files
BUSYBOX=/bin/busybox
ldd "$BUSYBOX" >/dev/null 2>&1 && skip "$BUSYBOX is not static (install busybox-static)"
BR=spfile
NET=(--net bridge --bridge $BR --subnet 10.211.0.0/24)
root=$E2E_TMP/root
mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev" "$root/tmp"
cp "$BUSYBOX" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
ln -s busybox "$root/bin/cat"
nameservers=$(grep '^nameserver' /etc/resolv.conf | grep -v -e ' 127\.' -e ' ::1' || true)

testing "a root without /etc gets a hosts file naming the container" \
        "'$SYSPRIM' run --rootfs '$root' ${NET[*]} --hostname box -- cat /etc/hosts | grep box" "10.211.0.2	box"
testing "... and the host's resolvers" \
        "'$SYSPRIM' run --rootfs '$root' ${NET[*]} -- /bin/busybox grep '^nameserver' /etc/resolv.conf" \
        "$nameservers" $([ -n "$nameservers" ] && echo 0 || echo 1)
check "the copy-on-write root's directory is unchanged" test ! -e "$root/etc"
testing "--net none: the name on 127.0.1.1" \
        "'$SYSPRIM' run --rootfs '$root' --hostname nobox -- /bin/busybox grep nobox /etc/hosts" "127.0.1.1	nobox"

mkdir "$root/etc"
echo original >"$root/etc/hosts"
ln -s ../run/missing-resolv.conf "$root/etc/resolv.conf"
testing "--rootfs-rw: ours is shown inside" \
        "'$SYSPRIM' run --rootfs '$root' --rootfs-rw ${NET[*]} --hostname rw -- /bin/busybox grep -c rw /etc/hosts" "1"
testing "--rootfs-rw: read-only inside" \
        "'$SYSPRIM' run --rootfs '$root' --rootfs-rw ${NET[*]} -- /bin/sh -c 'echo x >>/etc/hosts' 2>&1 | /bin/busybox grep -c 'Read-only'" "1"
testing "--rootfs-rw: the directory's hosts file is untouched" "cat '$root/etc/hosts'" "original"
testing "--rootfs-rw: a symlinked resolv.conf is left as it is" "readlink '$root/etc/resolv.conf'" "../run/missing-resolv.conf"
testing "copy-on-write: a symlinked resolv.conf is replaced inside" \
        "'$SYSPRIM' run --rootfs '$root' ${NET[*]} -- /bin/busybox head -1 /etc/resolv.conf" "# sysprim run: the host's /etc/resolv.conf"
testing "copy-on-write: ... and stays a symlink outside" "readlink '$root/etc/resolv.conf'" "../run/missing-resolv.conf"
net_clean_check "nothing left behind" $BR 10.211.0
e2e_done
