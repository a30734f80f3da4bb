# Shared helpers for the shell end-to-end tests (toybox style). Source it from a test script:
#   . "$SYSPRIM_SOURCE_ROOT/test/e2e/lib.sh"
#   testing "name" "command" "expected output"      # compares stdout (+ exit status if expect_rc set)
# SYSPRIM is the binary under test (set by meson, or by hand to test an installed copy).
# Exit status: 0 all passed, 1 some failed, 77 skipped (skip REASON).
set -u
: "${SYSPRIM:?SYSPRIM must name the sysprim binary under test}"
SYSPRIM=$(readlink -f "$SYSPRIM")
E2E_FAILED=0
E2E_PASSED=0
E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/sysprim-e2e.XXXXXX")
e2e_cleanup_hooks=()
e2e_cleanup() {
        local hook
        for hook in "${e2e_cleanup_hooks[@]}"; do eval "$hook" || true; done
        rm -rf "$E2E_TMP"
}
trap e2e_cleanup EXIT

# on_exit CMD: run CMD when the test ends (any way), in addition to removing $E2E_TMP.
on_exit() { e2e_cleanup_hooks+=("$1"); }

skip() { echo "SKIP: $*"; exit 77; }
need_root() { [ "$(id -u)" = 0 ] || skip "needs root"; }
need_cmd() { local c; for c in "$@"; do command -v "$c" >/dev/null 2>&1 || skip "needs $c"; done; }

pass() { E2E_PASSED=$((E2E_PASSED + 1)); echo "PASS: $1"; }
fail() { E2E_FAILED=$((E2E_FAILED + 1)); echo "FAIL: $1" >&2; shift; [ $# -gt 0 ] && printf '%s\n' "$@" >&2; return 0; }

# testing NAME COMMAND EXPECTED [EXPECTED_STATUS]: run COMMAND with bash, compare stdout and status.
testing() {
        local name=$1 cmd=$2 expected=$3 want_rc=${4:-0} out rc
        out=$(bash -c "$cmd" 2>"$E2E_TMP/stderr")
        rc=$?
        if [ "$out" == "$expected" ] && [ "$rc" == "$want_rc" ]; then
                pass "$name"
        else
                fail "$name" "command: $cmd" "expected status $want_rc, got $rc" "expected: $expected" "got:      $out" \
                        "stderr: $(cat "$E2E_TMP/stderr")"
        fi
}

# check NAME CONDITION...: pass if the command CONDITION succeeds.
check() {
        local name=$1
        shift
        if "$@"; then pass "$name"; else fail "$name" "failed: $*"; fi
}

# applet_links DIR: make DIR hold NAME and sysprim-NAME symlinks to the binary for every applet.
applet_links() {
        local dir=$1 name
        mkdir -p "$dir"
        for name in $("$SYSPRIM" --list); do
                ln -sf "$SYSPRIM" "$dir/$name"
                ln -sf "$SYSPRIM" "$dir/sysprim-$name"
        done
}

# e2e_done: print the tally and exit with the right status.
e2e_done() {
        echo "e2e: $E2E_PASSED passed, $E2E_FAILED failed"
        [ "$E2E_FAILED" -eq 0 ]
        exit $?
}
