# run: the root is entered with pivot_root and the old root is detached: no path leads back to it.
. "$SYSPRIM_SOURCE_ROOT/test/e2e/lib.sh"
. "$SYSPRIM_SOURCE_ROOT/test/run/lib.sh"
# A file beside (not inside) the root filesystem directory, and the host root's filesystem type.
marker_name=sysprim-pivot-marker-$$
touch "$E2E_TMP/$marker_name"
host_fstype=$(awk '$5 == "/" { for (i = 7; $i != "-"; i++); print $(i + 1) }' /proc/self/mountinfo | tail -1)
expect "the old root's files cannot be found" 0 "" spr sh -c "find / -path /proc -prune -o -name $marker_name -print"
expect "no mount of the host's root filesystem is left" 0 "0" \
        spr sh -c "awk '{ for (i = 7; \$i != \"-\"; i++); if (\$(i + 1) == \"$host_fstype\") n++ } END { print n + 0 }' /proc/self/mountinfo"
# The host's root as the rootfs, spelt any way: the same mounts inside (a scratch tmpfs put over
# this process's own root would keep the host's whole mount tree attached beneath the new root).
mounts_plain=$(sp --rootfs / sh -c 'wc -l </proc/self/mountinfo' 2>/dev/null)
for spelling in /. // /tmp/..; do
        expect "--rootfs $spelling mounts what --rootfs / does" 0 "$mounts_plain" sp --rootfs "$spelling" sh -c 'wc -l </proc/self/mountinfo'
done
expect "the root is the overlay" 0 "overlay" spr sh -c "awk '\$5 == \"/\" { for (i = 7; \$i != \"-\"; i++); print \$(i + 1) }' /proc/self/mountinfo"
# init is not dumpable: looking into /proc/1 takes CAP_SYS_PTRACE.
expect "/proc/1/root is the container's root" 0 "same" \
        spr --cap-add SYS_PTRACE sh -c '[ "$(stat -c %d:%i /proc/1/root/)" = "$(stat -c %d:%i /)" ] && echo same'
expect "cd .. from / stays inside" 0 "bin dev etc proc root sys tmp" \
        spr sh -c 'cd / && cd ../../.. && echo $(ls)'
# A descriptor the caller left open on the host's root would be a way back: none goes in.
expect "no inherited descriptor beyond 0 1 2" 0 $'0\n1\n2' spr sh -c 'ls /proc/$$/fd; true' 9</ 8<"$E2E_TMP"
expect "... not in PID 1 either" 0 $'0\n1\n2' spr --cap-add SYS_PTRACE sh -c 'ls /proc/1/fd' 9</
run_done
