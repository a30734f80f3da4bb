# run: the default seccomp profile makes mount, unshare, keyctl, a clone into a new namespace and
# TIOCSTI fail with EPERM (even with CAP_SYS_ADMIN), and clone3 with ENOSYS (the C library then falls
# back to clone, which the filter can see); --seccomp=unconfined lets them through.
. "$SYSPRIM_SOURCE_ROOT/test/e2e/lib.sh"
. "$SYSPRIM_SOURCE_ROOT/test/run/lib.sh"
[ -n "$RUN_PROBE" ] || skip "needs the probe helper"
for call in mount unshare keyctl; do
        expect "default profile: $call is EPERM" 1 "EPERM" spr --cap-add SYS_ADMIN probe "$call"
        expect "unconfined: $call succeeds" 0 "ok" spr --cap-add SYS_ADMIN --seccomp=unconfined probe "$call"
done
expect "default profile: clone into a new namespace is EPERM" 1 "EPERM" spr --cap-add SYS_ADMIN probe clone-newns
expect "unconfined: clone into a new namespace succeeds" 0 "ok" spr --cap-add SYS_ADMIN --seccomp=unconfined probe clone-newns
expect "default profile: clone3 is ENOSYS" 1 "ENOSYS" spr probe clone3
expect "unconfined: clone3 reaches the kernel" 1 "Invalid argument" spr --seccomp=unconfined probe clone3
expect "default profile: TIOCSTI is EPERM" 1 "EPERM" spr probe tiocsti </dev/null
expect "unconfined: TIOCSTI reaches the kernel" 1 "Inappropriate ioctl for device" \
        spr --seccomp=unconfined probe tiocsti </dev/null
expect "the filter is installed" 0 "2" spr sh -c "awk '/^Seccomp:/ { print \$2 }' /proc/self/status"
expect "unconfined: no filter" 0 "0" spr --seccomp=unconfined sh -c "awk '/^Seccomp:/ { print \$2 }' /proc/self/status"
expect "an unknown profile is a usage error" 2 "" spr --seccomp=strict true
# A 32-bit x86 program gets the same rules (keyctl refused) instead of being killed (SIGSYS, 159).
if [ "$(uname -m)" = x86_64 ] && python3 "$SYSPRIM_SOURCE_ROOT/test/run/elf32.py" "$E2E_TMP/keyctl32" &&
        chmod +x "$E2E_TMP/keyctl32" && [ "$("$E2E_TMP/keyctl32" 2>/dev/null)" = other ]; then
        expect "an i386 program runs under the default profile, keyctl EPERM" 0 "EPERM" \
                spr -v "$E2E_TMP/keyctl32:/keyctl32:ro" /keyctl32
        expect "...and reaches the kernel unconfined" 0 "other" \
                spr --seccomp=unconfined -v "$E2E_TMP/keyctl32:/keyctl32:ro" /keyctl32
fi
run_done
