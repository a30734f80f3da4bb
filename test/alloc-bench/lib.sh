# Helpers shared by the alloc-bench e2e tests (sourced): the e2e library, python3 for JSON and XML,
# and where this system keeps its shared libraries (the peers live beside libc).
. "$SYSPRIM_SOURCE_ROOT/test/e2e/lib.sh"
need_cmd python3

LIBDIR=$(dirname "$(awk '/\/libc[.-][^/]*so/ {print $NF; exit}' /proc/self/maps)")

# peer_installed NAME: true if `sysprim alloc-bench --list` finds it.
peer_installed() {
        "$SYSPRIM" alloc-bench --list | awk -v n="$1" '$1 == n && $2 != "skipped:" {found = 1} END {exit !found}'
}
