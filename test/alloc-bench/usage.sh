#!/usr/bin/env bash
# alloc-bench bad input: a usage error names the problem on one line (plus the --help hint), prints
# nothing on stdout and exits 2, before any benchmark runs. Also libraries that are not a malloc.
. "$(dirname "$0")/lib.sh"

# usage_error NAME ARGS...: expect exit 2, empty stdout, "sysprim alloc-bench: " on stderr line 1.
usage_error() {
        local name=$1 out rc first
        shift
        out=$("$SYSPRIM" alloc-bench "$@" 2>"$E2E_TMP/stderr")
        rc=$?
        first=$(head -n1 "$E2E_TMP/stderr")
        if [ "$rc" = 2 ] && [ -z "$out" ] && [[ "$first" == "sysprim alloc-bench: "* ]] &&
                [ "$(grep -c -v "try 'sysprim alloc-bench --help'" "$E2E_TMP/stderr")" = 1 ]; then
                pass "$name"
        else
                fail "$name" "args: $*" "status $rc (want 2)" "stdout: $out" "stderr: $(cat "$E2E_TMP/stderr")"
        fi
}

usage_error "--threads 0" --threads 0
usage_error "--threads abc" --threads abc
usage_error "--threads 1,0" --threads 1,0
usage_error "--threads too many" --threads 100000
usage_error "--workload unknown" --workload nosuch
usage_error "--workload list with one unknown" --workload seed,nosuch
usage_error "--allocator unknown name" --allocator hoard
usage_error "--allocator missing file" --allocator /nonexistent/libmalloc.so
usage_error "--runs 0" --runs 0
usage_error "--ops 0" --ops 0
usage_error "--ops junk" --ops 12x
usage_error "--ops negative" --ops -5
"$SYSPRIM" alloc-bench --ops 0 2>"$E2E_TMP/stderr"
check "--ops 0 says what a count is" grep -q "(a count from 1 to 1000G: digits, then k, M or G" "$E2E_TMP/stderr"
usage_error "--ops and --duration" --ops 100 --duration 1s
usage_error "--duration 0" --duration 0
usage_error "--duration over 1h" --duration 61m
usage_error "--duration at the unset marker" --duration 18446744073709551615ns
usage_error "--timeout over 24h" --timeout 25h
usage_error "--timeout past a signed 64-bit deadline" --timeout 9223372036.8s -w seed -a glibc --ops 10 --runs 1
usage_error "--json and --csv" --json --csv
usage_error "--clock unknown" --clock tsc
usage_error "unknown option" --bogus
usage_error "stray operand" seed
usage_error "--svg into a missing directory" --svg /nonexistent/dir/chart.svg -w seed -a glibc --ops 10

# A library that exists but is not a malloc: the worker proves malloc still comes from libc.
if [ -e "$LIBDIR/libm.so.6" ]; then
        usage_error "--allocator libm.so.6 (not a malloc)" --allocator "$LIBDIR/libm.so.6" -w seed --ops 10 --runs 1
        grep -q "not a malloc library" "$E2E_TMP/stderr" && pass "libm: says why" || fail "libm: says why" "$(cat "$E2E_TMP/stderr")"
fi

# A library that replaces malloc but not free: a split malloc family is refused too.
if command -v cc >/dev/null 2>&1; then
        cat >"$E2E_TMP/half.c" <<'C'
#include <stddef.h>
extern void *__libc_malloc(size_t);
void *malloc(size_t n) { return __libc_malloc(n); }
C
        if cc -shared -fPIC -o "$E2E_TMP/libhalf.so" "$E2E_TMP/half.c" 2>/dev/null; then
                usage_error "--allocator with only malloc (free from libc)" --allocator "$E2E_TMP/libhalf.so" -w seed --ops 10
                grep -q "but free from" "$E2E_TMP/stderr" && pass "split family: says why" ||
                        fail "split family: says why" "$(cat "$E2E_TMP/stderr")"
        fi
fi
e2e_done
