#!/usr/bin/env bash
# Bad use of malloc under LD_PRELOAD=libsysprim-malloc.so (suite alloc, e2e): a one-line diagnostic
# naming the pointer and abort(); debug mode catches what the fast path cannot; leak report; stats.
# Usage: preload_misuse.sh PATH-TO-alloc-misuse
. "$SYSPRIM_SOURCE_ROOT/test/e2e/lib.sh"
LIB=${SYSPRIM_MALLOC_LIB:-}
[ -n "$LIB" ] && [ -f "$LIB" ] || skip "SYSPRIM_MALLOC_LIB not built"
MISUSE=${1:?usage: preload_misuse.sh PATH-TO-alloc-misuse}

# aborts NAME ENV MODE PATTERN: the program dies of SIGABRT with exactly one diagnostic line.
aborts() {
	local name=$1 env=$2 mode=$3 pattern=$4 err rc
	err=$(env $env LD_PRELOAD="$LIB" "$MISUSE" "$mode" 2>&1 >/dev/null)
	rc=$?
	if [ "$rc" = 134 ] && [ "$(printf '%s\n' "$err" | grep -c .)" = 1 ] &&
		printf '%s\n' "$err" | grep -Eq "^sysprim-malloc: $pattern: pointer 0x[0-9a-f]+, called from 0x[0-9a-f]+$"; then
		pass "$name"
	else
		fail "$name" "status $rc (want 134 = SIGABRT), stderr:" "$err"
	fi
}

testing "correct program runs" "LD_PRELOAD='$LIB' '$MISUSE' ok" "done"
aborts "immediate double free" "" double-free "free\(\): double free"
aborts "invalid free of a static buffer" "" invalid-free "free\(\): invalid pointer.*"
aborts "double free of a large block" "" large-double-free "free\(\): invalid pointer.*"
aborts "interior pointer" "" interior-free "free\(\): invalid pointer.*"
aborts "pointer past a span's objects" "" past-end-free "free\(\): invalid pointer.*"
aborts "object start never handed out" "" never-handed-out-free "free\(\): invalid pointer.*"
aborts "interior pointer of a large block" "" large-interior-free "free\(\): invalid pointer.*"
aborts "realloc of an interior pointer" "" realloc-interior "realloc\(\): invalid pointer.*"
err=$(LD_PRELOAD="$LIB" "$MISUSE" double-free-trimmed 2>&1 >/dev/null)
rc=$?
if [ "$rc" = 134 ] && printf '%s\n' "$err" | grep -Eqx 'sysprim-malloc: free\(\): double free \(detected when the object reached its span\): pointer 0x[0-9a-f]+'; then
	pass "double free caught when the object reaches its span"
else
	fail "double free at the span" "status $rc (want 134 = SIGABRT), stderr:" "$err"
fi
aborts "debug: later double free" "SYSPRIM_MALLOC_DEBUG=1" double-free-later "free\(\): double free"
aborts "debug: interior pointer" "SYSPRIM_MALLOC_DEBUG=1" interior-free "free\(\): invalid pointer.*"
aborts "debug: realloc of an interior pointer" "SYSPRIM_MALLOC_DEBUG=1" realloc-interior "realloc\(\): invalid pointer.*"
testing "debug: correct program runs" "SYSPRIM_MALLOC_DEBUG=1 LD_PRELOAD='$LIB' '$MISUSE' ok" "done"

report=$(SYSPRIM_MALLOC_LEAKS=1 LD_PRELOAD="$LIB" "$MISUSE" leak 2>&1 >/dev/null)
if printf '%s\n' "$report" | grep -Eq '^sysprim-malloc:   ([1-9][0-9]+) x 1024 bytes$' &&
	printf '%s\n' "$report" | grep -q 'leak report: '; then
	pass "leak report lists the 10 leaked 1000-byte blocks by class"
else
	fail "leak report" "$report"
fi
report=$(SYSPRIM_MALLOC_DEBUG=1 SYSPRIM_MALLOC_LEAKS=1 LD_PRELOAD="$LIB" "$MISUSE" leak 2>&1 >/dev/null)
n=$(printf '%s\n' "$report" | grep -c 'leaked 1024-byte block at 0x')
if [ "$n" -ge 10 ]; then pass "debug leak report names the leaked blocks"; else fail "debug leak report" "$report"; fi

stats=$(SYSPRIM_MALLOC_STATS=1 LD_PRELOAD="$LIB" "$MISUSE" ok 2>&1 >/dev/null)
if printf '%s\n' "$stats" | grep -q '^sysprim-malloc: in use by the program' &&
	printf '%s\n' "$stats" | grep -Eq '^sysprim-malloc: +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+$'; then
	pass "SYSPRIM_MALLOC_STATS=1 prints statistics at exit"
else
	fail "stats at exit" "$stats"
fi
out=$(SYSPRIM_MALLOC_CACHE_SIZE=bogus LD_PRELOAD="$LIB" "$MISUSE" ok 2>&1)
if [ "$out" = "sysprim-malloc: ignoring SYSPRIM_MALLOC_CACHE_SIZE=bogus: not a valid value
done" ]; then pass "bad tuning value is named and ignored"; else fail "bad tuning value" "$out"; fi
e2e_done
