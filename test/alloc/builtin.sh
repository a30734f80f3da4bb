#!/usr/bin/env bash
# The sysprim executable itself runs on the builtin allocator when built with -Dmalloc=builtin
# (suite alloc, e2e): its exit statistics appear, and its malloc is its own, not the C library's.
. "$SYSPRIM_SOURCE_ROOT/test/e2e/lib.sh"
[ "${SYSPRIM_MALLOC:-}" = builtin ] || skip "built with -Dmalloc=${SYSPRIM_MALLOC:-?}"

out=$(SYSPRIM_MALLOC_STATS=1 "$SYSPRIM" --version 2>&1 >/dev/null)
if printf '%s\n' "$out" | grep -q '^sysprim-malloc: mapped from the OS'; then
	pass "sysprim --version prints the builtin allocator's statistics at exit"
else
	fail "no builtin allocator statistics" "$out"
fi
if command -v nm >/dev/null 2>&1; then
	if nm -D --defined-only "$SYSPRIM" | grep -Eq ' T (malloc|free)$'; then
		pass "the executable defines and exports malloc and free"
	else
		fail "malloc/free not defined by the executable"
	fi
fi
testing "sysprim still works with the debug allocator" "SYSPRIM_MALLOC_DEBUG=1 '$SYSPRIM' --version >/dev/null; echo \$?" "0"
e2e_done
