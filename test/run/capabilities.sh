# run: capabilities are Docker's default set without CAP_MKNOD (see devices.sh); --cap-add/--cap-drop change it; --privileged has all;
# a non-root --user has none; the inheritable and ambient sets are empty (CVE-2022-24769,
# CVE-2022-27650); no_new_privs is set unless --privileged.
. "$SYSPRIM_SOURCE_ROOT/test/e2e/lib.sh"
. "$SYSPRIM_SOURCE_ROOT/test/run/lib.sh"
caps() { spr "$@" sh -c "awk '/^Cap(Prm|Eff|Bnd)/ { print \$2 }' /proc/self/status | sort -u | tr '\n' ' '"; }
# The inheritable and ambient sets: a program with file capabilities that a process of the container
# executes after leaving uid 0 (su, login) must not gain them from there.
inheritable() { spr "$@" sh -c "awk '/^Cap(Inh|Amb)/ { print \$2 }' /proc/self/status | sort -u"; }
# --privileged keeps what the caller has (root's full set, or less in a restricted sandbox).
own=$(awk '/^CapEff/ { print $2 }' /proc/self/status)
expect "Docker's default set without MKNOD" 0 "00000000a00425fb " caps
expect "--cap-drop CHOWN" 0 "00000000a00425fa " caps --cap-drop CHOWN
expect "--cap-add NET_ADMIN" 0 "00000000a00435fb " caps --cap-add NET_ADMIN
expect "--cap-add cap_sys_admin (any case, cap_ prefix)" 0 "00000000a02425fb " caps --cap-add cap_sys_admin
expect "--cap-add MKNOD" 0 "00000000a80425fb " caps --cap-add MKNOD
# As Docker: an added capability wins over a dropped one, --cap-add ALL over none but the dropped.
expect "--cap-drop ALL --cap-add NET_RAW: NET_RAW" 0 "0000000000002000 " caps --cap-drop ALL --cap-add NET_RAW
expect "--cap-add NET_RAW --cap-drop ALL: the same" 0 "0000000000002000 " caps --cap-add NET_RAW --cap-drop ALL
expect "--cap-drop CHOWN --cap-add CHOWN: CHOWN" 0 "00000000a00425fb " caps --cap-drop CHOWN --cap-add CHOWN
expect "--cap-drop ALL" 0 "0000000000000000 " caps --cap-drop ALL
expect "--cap-add ALL --cap-drop CHOWN: all but CHOWN" 0 "$(printf '%016x ' $((0x$(awk '/^CapBnd/ { print $2 }' /proc/self/status) & ~1)))" \
        caps --cap-add ALL --cap-drop CHOWN
expect "no inheritable or ambient capabilities" 0 "0000000000000000" inheritable
expect "none with --cap-add either" 0 "0000000000000000" inheritable --cap-add SYS_ADMIN
expect "none after leaving uid 0" 0 "0000000000000000" inheritable -u 1000:1000
expect "--privileged: the caller's capabilities" 0 "$own" \
        spr --privileged sh -c "awk '/^CapEff/ { print \$2 }' /proc/self/status"
expect_stderr "--privileged says so" "privileged"
expect "--privileged --cap-drop ALL: still every capability" 0 "$own" \
        spr --privileged --cap-drop ALL sh -c "awk '/^CapEff/ { print \$2 }' /proc/self/status"
expect_stderr "...and says --cap-drop is ignored" "--cap-add and --cap-drop are ignored"
expect "non-root --user: no effective capabilities" 0 "0000000000000000" \
        spr -u 1000:1000 sh -c "awk '/^CapEff/ { print \$2 }' /proc/self/status"
expect "NoNewPrivs is 1" 0 "1" spr sh -c "awk '/^NoNewPrivs/ { print \$2 }' /proc/self/status"
expect "--privileged: NoNewPrivs is 0" 0 "0" spr --privileged sh -c "awk '/^NoNewPrivs/ { print \$2 }' /proc/self/status"
expect "an unknown capability is a usage error" 2 "" spr --cap-add FLY true
run_done
