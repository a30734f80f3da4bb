#!/usr/bin/env bash
# alloc-bench --json in quick mode: every allocator and workload is reported with a positive
# throughput, each result carries the identity of the library that served malloc, and that identity
# is the one asked for (never glibc standing in for a peer, never two allocators the same).
. "$(dirname "$0")/lib.sh"

json=$E2E_TMP/all.json
"$SYSPRIM" alloc-bench --json --ops 300 --runs 2 --threads 1,2 >"$json" 2>"$E2E_TMP/all.err"
rc=$?
check "default allocators, every workload, --ops 300: exit 0" test "$rc" = 0
[ "$rc" = 0 ] || cat "$E2E_TMP/all.err" >&2

if python3 - "$json" "${SYSPRIM_MALLOC_LIB:-}" <<'PY'; then pass "json: every cell present, identities match"; else fail "json: see above"; fi
import json, os, sys
doc = json.load(open(sys.argv[1]))
malloc_lib = sys.argv[2]
problems = []
workloads = ["seed", "larson", "prodcons", "cache-scratch", "large", "realloc", "fragment"]
names = [a["name"] for a in doc["allocators"]]
if names != ["builtin", "glibc", "jemalloc", "tcmalloc", "mimalloc"]:
    problems.append(f"allocators listed: {names}")
expected_lib = {"glibc": "libc.so", "jemalloc": "libjemalloc.so", "tcmalloc": "libtcmalloc_minimal.so",
                "mimalloc": "libmimalloc.so"}
ok = {}
for a in doc["allocators"]:
    name, status = a["name"], a["status"]
    if status == "ok":
        served = a["served_by"]
        if name == "builtin":
            if not malloc_lib or os.path.realpath(malloc_lib) != served:
                problems.append(f"builtin served by {served!r}, SYSPRIM_MALLOC_LIB={malloc_lib!r}")
        elif not os.path.basename(served).startswith(expected_lib[name]):
            problems.append(f"{name} served by {served}")
        ok[name] = served
    elif status == "skipped":
        if name == "builtin" and malloc_lib:
            problems.append(f"builtin skipped although SYSPRIM_MALLOC_LIB={malloc_lib}: {a['reason']}")
        if name in expected_lib and name != "glibc" and f"apt-get install {a['package']}" not in a["reason"]:
            problems.append(f"{name} skipped without the package to install: {a['reason']!r}")
        print(f"note: {name} skipped: {a['reason']}")
    else:
        problems.append(f"{name}: {status}: {a['reason']}")
if "glibc" not in ok:
    problems.append("glibc was not measured")
if len(set(ok.values())) != len(ok):
    problems.append(f"two allocators share one library: {ok}")
results = {(r["workload"], r["threads"], r["allocator"]): r for r in doc["results"]}
for w in workloads:
    for t in (1, 2):
        for name, served in ok.items():
            r = results.get((w, t, name))
            if r is None:
                problems.append(f"missing {w}/{t}/{name}")
                continue
            if r["status"] != "ok" or not r["mops"] or r["mops"] <= 0:
                problems.append(f"{w}/{t}/{name}: {r}")
                continue
            if r["identity"] != served:
                problems.append(f"{w}/{t}/{name}: identity {r['identity']} != {served}")
            if len(r["runs"]) != 2 or any(run["ops"] <= 0 or run["seconds"] <= 0 for run in r["runs"]):
                problems.append(f"{w}/{t}/{name}: runs {r['runs']}")
            if not r["ratio_glibc"] or r["ratio_glibc"] <= 0 or r["peak_rss_bytes"] <= 0:
                problems.append(f"{w}/{t}/{name}: ratio {r['ratio_glibc']} rss {r['peak_rss_bytes']}")
            if name == "glibc" and abs(r["ratio_glibc"] - 1) > 1e-9:
                problems.append(f"{w}/{t}: glibc's ratio to itself is {r['ratio_glibc']}")
            if w == "fragment" and (r.get("live_bytes", 0) <= 0 or r.get("rss_per_live") is None):
                problems.append(f"fragment/{t}/{name}: no RSS against live bytes: {r}")
for p in problems:
    print("problem:", p, file=sys.stderr)
sys.exit(1 if problems else 0)
PY

# A peer given by path is measured under its file name, and the worker proves it served malloc.
for lib in libjemalloc.so.2 libmimalloc.so.2 libtcmalloc_minimal.so.4; do
        [ -e "$LIBDIR/$lib" ] || { echo "note: $LIBDIR/$lib not installed; path case skipped"; continue; }
        out=$("$SYSPRIM" alloc-bench -q --json -a "$LIBDIR/$lib" -w seed -t 1 --runs 1 --ops 200)
        check "--allocator $lib by path: served by it" python3 -c '
import json, os, sys
doc = json.loads(sys.argv[1]); a = doc["allocators"][0]; r = doc["results"][0]
want = os.path.realpath(sys.argv[2])
sys.exit(not (a["status"] == "ok" and a["served_by"] == want and r["identity"] == want and r["mops"] > 0))' "$out" "$LIBDIR/$lib"
        break
done

# An LD_PRELOAD in the caller's environment must not reach the workers: glibc stays glibc.
if [ "${SYSPRIM_SANITIZE:-none}" = none ] && [ -e "$LIBDIR/libjemalloc.so.2" ]; then
        out=$(LD_PRELOAD="$LIBDIR/libjemalloc.so.2" "$SYSPRIM" alloc-bench -q --json -a glibc -w seed -t 1 --runs 1 --ops 200)
        check "caller's LD_PRELOAD does not leak into the glibc worker" python3 -c '
import json, os, sys
r = json.loads(sys.argv[1])["results"][0]
sys.exit(not (r["status"] == "ok" and os.path.basename(r["identity"]).startswith("libc.so")))' "$out"
fi
e2e_done
