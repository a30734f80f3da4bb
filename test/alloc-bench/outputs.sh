#!/usr/bin/env bash
# alloc-bench outputs in quick mode: table, CSV, Markdown, SVG and HTML, --duration, --list, progress
# on stderr, a skipped allocator listed once with its reason, and a crashing allocator reported as a
# failure (exit 1) rather than as a number.
. "$(dirname "$0")/lib.sh"

allocs=glibc
peer_installed mimalloc && allocs=$allocs,mimalloc
nalloc=$(echo "$allocs" | tr ',' '\n' | wc -l)
quick=(-w seed,fragment -t 1 --runs 1 --ops 300 -a "$allocs")

out=$("$SYSPRIM" alloc-bench "${quick[@]}" 2>"$E2E_TMP/progress")
check "table: exit 0" test $? = 0
check "table: a section per workload" grep -q '^fragment: ' <<<"$out"
check "table: RSS/live column for fragment" grep -q 'RSS/live' <<<"$out"
check "table: glibc row with ratio 1.00x" grep -Eq '^glibc +[0-9.]+\*? +[0-9]+ +1\.00x' <<<"$out"
check "progress on stderr" grep -q '\[ *1/' "$E2E_TMP/progress"
out=$("$SYSPRIM" alloc-bench -q "${quick[@]}" 2>"$E2E_TMP/quiet")
check "-q: no progress" test ! -s "$E2E_TMP/quiet"

csv=$("$SYSPRIM" alloc-bench -q --csv "${quick[@]}")
check "csv: header" test "$(head -n1 <<<"$csv" | cut -d, -f1-3)" = "workload,threads,allocator"
check "csv: one row per workload x allocator" test "$(($(wc -l <<<"$csv") - 1))" = $((2 * nalloc))
check "csv: every row ok" python3 -c '
import csv, io, sys
rows = list(csv.DictReader(io.StringIO(sys.argv[1])))
sys.exit(not rows or any(r["status"] != "ok" or float(r["mops"]) <= 0 for r in rows))' "$csv"

md=$("$SYSPRIM" alloc-bench -q --markdown "${quick[@]}")
check "markdown: table head" grep -q '^| workload | threads |' <<<"$md"
check "markdown: a row per workload" grep -q '^| fragment | 1 |' <<<"$md"

"$SYSPRIM" alloc-bench -q "${quick[@]}" --svg "$E2E_TMP/chart.svg" --html "$E2E_TMP/page.html" >/dev/null
check "svg and html written" test -s "$E2E_TMP/chart.svg" -a -s "$E2E_TMP/page.html"
"$SYSPRIM" alloc-bench -q --svg "$E2E_TMP/no.svg" --html "$E2E_TMP/no.html" --threads 0 >/dev/null 2>&1
check "a usage error leaves no chart file behind" test ! -e "$E2E_TMP/no.svg" -a ! -e "$E2E_TMP/no.html"
"$SYSPRIM" alloc-bench --svg "$E2E_TMP/no.svg" --list >/dev/null
check "--list leaves no chart file behind" test ! -e "$E2E_TMP/no.svg"
check "svg: well-formed, one bar per cell and panel" python3 -c '
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
bars = [r for r in root.iter("{http://www.w3.org/2000/svg}rect") if r.find("{http://www.w3.org/2000/svg}title") is not None]
sys.exit(not (root.tag.endswith("svg") and len(bars) == 2 * 2 * int(sys.argv[2])))' "$E2E_TMP/chart.svg" "$nalloc"
check "html: chart and table" grep -q '<svg' "$E2E_TMP/page.html"

json=$("$SYSPRIM" alloc-bench -q --json -a glibc -w seed,larson,prodcons,fragment -t 2 --runs 1 --duration 30ms)
check "--duration: every workload did work" python3 -c '
import json, sys
rs = json.loads(sys.argv[1])["results"]
sys.exit(not (len(rs) == 4 and all(r["status"] == "ok" and r["runs"][0]["ops"] > 0 for r in rs)))' "$json"

json=$("$SYSPRIM" alloc-bench -q --json -a builtin,glibc -w seed -t 1 --runs 5 --duration 10ms)
check "ratio to glibc: the median of the per-round ratios (runs in round order)" python3 -c '
import json, statistics, sys
rs = {r["allocator"]: r for r in json.loads(sys.argv[1])["results"]}
b, g = rs["builtin"], rs["glibc"]
want = statistics.median(x["mops"] / y["mops"] for x, y in zip(b["runs"], g["runs"]))
sys.exit(not (len(b["runs"]) == 5 and abs(b["ratio_glibc"] - want) < 1e-4 * want and g["ratio_glibc"] == 1))' "$json"

json=$("$SYSPRIM" alloc-bench -q --json -a glibc -w seed,prodcons -t 2 --runs 1 --ops 20000 --clock cpu)
check "--clock cpu: Mops per CPU-second from the workload's CPU time" python3 -c '
import json, sys
doc = json.loads(sys.argv[1]); rs = doc["results"]
ok = doc["config"]["clock"] == "cpu" and len(rs) == 2
for r in rs:
    run = r["runs"][0]
    ok = ok and r["status"] == "ok" and run["cpu_seconds"] > 0 and abs(run["mops"] - run["ops"] / run["cpu_seconds"] / 1e6) < 1e-2 * run["mops"]
sys.exit(not ok)' "$json"

json=$("$SYSPRIM" alloc-bench -q --json -a glibc -w prodcons,larson -t 4 --runs 1 --ops 20000 --pin)
check "--pin: recorded in the config, every run ok" python3 -c '
import json, sys
doc = json.loads(sys.argv[1])
sys.exit(not (doc["config"]["pin"] is True and len(doc["results"]) == 2 and all(r["status"] == "ok" for r in doc["results"])))' "$json"
worker="$SYSPRIM_BUILD_ROOT/applets/alloc-bench/sysprim-alloc-worker"
for wl in prodcons larson; do
        cpus=$("$worker" run $wl 4 20000 0 1 pin | awk -F'\t' '$1 == "lane_cpus" {print $2}')
        check "--pin: $wl lane i finished on the i-th usable CPU, round robin ($cpus)" python3 -c '
import os, sys
usable = sorted(os.sched_getaffinity(0))
sys.exit(sys.argv[1] != ",".join(str(usable[i % len(usable)]) for i in range(4)))' "$cpus"
done

# Unpinned prodcons: every run says where its lanes finished, and whether each producer sat with its
# consumer; the terminal table counts the runs by placement.
json=$("$SYSPRIM" alloc-bench -q --json -a glibc -w prodcons,seed -t 4 --runs 3 --ops 20000)
check "prodcons runs: lane CPUs and the pairs' placement, consistent" python3 -c '
import json, sys
doc = json.loads(sys.argv[1])
ok = True
for r in doc["results"]:
    for run in r["runs"]:
        cpus = run["lane_cpus"].split(",")
        if r["workload"] != "prodcons":
            ok = ok and "pairs" not in run and len(cpus) == 4
            continue
        same = [cpus[i] == cpus[i + 1] for i in range(0, len(cpus) - 1, 2)]
        want = "together" if all(same) else "apart" if not any(same) else "mixed"
        ok = ok and len(cpus) == 4 and run["pairs"] == want
sys.exit(not ok)' "$json"
out=$("$SYSPRIM" alloc-bench -q -a glibc -w prodcons -t 4 --runs 2 --ops 20000)
check "prodcons table: runs counted by placement" bash -c 'grep -q "where the pairs ran" <<<"$1" && grep -qE "^    4 threads:  glibc [0-9]+/[0-9]+/[0-9]+$" <<<"$1"' _ "$out"
out=$("$SYSPRIM" alloc-bench -q -a glibc -w prodcons -t 4 --runs 1 --ops 20000 --pin)
check "prodcons table with --pin: no placement counts" bash -c '! grep -q "where the pairs ran" <<<"$1"' _ "$out"

# --placement: lane i on the usable CPU the list names at position i (mod its length).
placement=$(python3 -c 'import os; print("0,0,1,1" if len(os.sched_getaffinity(0)) > 1 else "0,0,0,0")')
cpus=$("$worker" run prodcons 4 20000 0 1 "pin=$placement" | awk -F'\t' '$1 == "lane_cpus" {print $2}')
check "--placement $placement: lane i finished on the CPU the list names ($cpus)" python3 -c '
import os, sys
usable = sorted(os.sched_getaffinity(0))
sys.exit(sys.argv[1] != ",".join(str(usable[int(i)]) for i in sys.argv[2].split(",")))' "$cpus" "$placement"
json=$("$SYSPRIM" alloc-bench -q --json -a glibc -w prodcons -t 4 --runs 1 --ops 20000 --placement "$placement")
check "--placement: recorded in the config, implies --pin" python3 -c '
import json, sys
doc = json.loads(sys.argv[1])
sys.exit(not (doc["config"]["pin"] is True and doc["config"]["placement"] == sys.argv[2] and doc["results"][0]["status"] == "ok"))' "$json" "$placement"
for bad in 0,1024 0,,1 "" x 1, -1; do
        check "--placement '$bad': usage error, exit 2" bash -c '"$1" alloc-bench -q -a glibc -w seed -t 1 --runs 1 --ops 10 --placement "$2" 2>/dev/null; test $? = 2' _ "$SYSPRIM" "$bad"
done

list=$("$SYSPRIM" alloc-bench --list)
check "--list: seven workloads" test "$(grep -cE '^  (seed|larson|prodcons|cache-scratch|large|realloc|fragment) ' <<<"$list")" = 7

out=$(SYSPRIM_MALLOC_LIB=/nonexistent/libsysprim-malloc.so "$SYSPRIM" alloc-bench -q -a builtin,glibc -w seed -t 1 --runs 1 --ops 100)
check "unavailable builtin: listed once as skipped with the reason" \
        test "$(grep -c 'skipped builtin: SYSPRIM_MALLOC_LIB=/nonexistent/libsysprim-malloc.so' <<<"$out")" = 1
check "unavailable builtin: no row" bash -c '! grep -q "^builtin " <<<"$1"' _ "$out"

# An allocator that crashes mid-run is a failure with the reason, never a result.
if command -v cc >/dev/null 2>&1; then
        cat >"$E2E_TMP/crash.c" <<'C'
#include <stdlib.h>
extern void *__libc_malloc(size_t);
extern void __libc_free(void *);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
static unsigned long calls;
#include <unistd.h>
void *malloc(size_t n)
{
        if (++calls == 5000 && getenv("CRASH_HANG"))
                for (;;)
                        pause();
        if (calls == 5000)
                abort();
        return __libc_malloc(n);
}
void free(void *p) { __libc_free(p); }
void *calloc(size_t n, size_t s) { return __libc_calloc(n, s); }
void *realloc(void *p, size_t n) { return __libc_realloc(p, n); }
int posix_memalign(void **p, size_t a, size_t n) { *p = __libc_memalign(a, n); return *p ? 0 : 12; }
void *aligned_alloc(size_t a, size_t n) { return __libc_memalign(a, n); }
C
        if cc -shared -fPIC -O1 -fno-builtin -o "$E2E_TMP/libcrash.so" "$E2E_TMP/crash.c" 2>/dev/null; then
                out=$("$SYSPRIM" alloc-bench -q --json -a "$E2E_TMP/libcrash.so" -w seed -t 1 --runs 1 --ops 20000 \
                        2>"$E2E_TMP/crash.err")
                check "crashing allocator: exit 1" test $? = 1
                check "crashing allocator: reason on stderr" grep -q 'died of signal 6' "$E2E_TMP/crash.err"
                check "crashing allocator: result marked failed" python3 -c '
import json, sys
r = json.loads(sys.argv[1])["results"][0]
sys.exit(not (r["status"] == "failed" and "mops" not in r))' "$out"
                CRASH_HANG=1 "$SYSPRIM" alloc-bench -q -a "$E2E_TMP/libcrash.so" -w seed -t 1 --runs 1 --ops 20000 \
                        --timeout 500ms >/dev/null 2>"$E2E_TMP/hang.err"
                check "hanging allocator: stopped by --timeout, exit 1" test $? = 1
                check "hanging allocator: says so" grep -q 'ran longer than' "$E2E_TMP/hang.err"
                check "hanging allocator: no worker left" bash -c '! pgrep -f "[s]ysprim-alloc-worker run seed 1 20000" >/dev/null'
        fi
fi
e2e_done
