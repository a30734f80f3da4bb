#!/usr/bin/env python3
"""Interim allocator benchmark (bench/, not a test): runs alloc-bench's worker (built here from
applets/alloc-bench with plain gcc, linked against libc only) under LD_PRELOAD of each allocator,
interleaved, several rounds; prints median throughput ratios to glibc and peak RSS.

usage: bench/alloc-quick.py LIBSYSPRIM_MALLOC_SO [--rounds N] [--workloads a,b] [--threads 1,4]
       bench/alloc-quick.py LIBSYSPRIM_MALLOC_SO --rss   (memory given back without a call)
       bench/alloc-quick.py LIBSYSPRIM_MALLOC_SO --realloc [--rounds N] [--only PEER,...]   (large
           buffers grown by realloc: alloc-realloc-turns.c's turns and regrow, against glibc)
"""
import argparse, os, statistics, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEERS = {
    "glibc": None,
    "jemalloc": "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",
    "tcmalloc": "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4",
    "mimalloc": "/usr/lib/x86_64-linux-gnu/libmimalloc.so.2",
}
OPS = {"seed": 4000000, "larson": 2000000, "prodcons": 1000000, "cache-scratch": 2000000,
       "large": 2000, "realloc": 5000, "fragment": 600000}


def build_worker(out):
    src = os.path.join(ROOT, "applets", "alloc-bench")
    cmd = ["gcc", "-O2", "-std=gnu17", "-D_GNU_SOURCE", "-I" + src, "-I" + os.path.join(ROOT, "include"),
           "-fno-builtin-malloc", "-fno-builtin-free", "-fno-builtin-calloc", "-fno-builtin-realloc",
           os.path.join(src, "worker.c"), os.path.join(src, "workloads.c"),
           os.path.join(src, "workload-table.c"), "-o", out, "-lpthread", "-ldl", "-lm"]
    subprocess.run(cmd, check=True)


def run(worker, lib, workload, threads, ops, seed):
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    if lib:
        env["LD_PRELOAD"] = lib
    p = subprocess.run([worker, "run", workload, str(threads), str(ops), "0", str(seed)], env=env,
                       capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        return None
    kv = dict(line.split("\t", 1) for line in p.stdout.splitlines() if "\t" in line)
    return float(kv["ops"]) / float(kv["seconds"]), int(kv["peak_rss_kib"])


def realloc_turns(allocs, rounds):
    with tempfile.TemporaryDirectory() as tmp:
        prog = os.path.join(tmp, "turns")
        subprocess.run(["gcc", "-O2", "-fno-builtin", os.path.join(ROOT, "bench", "alloc-realloc-turns.c"),
                        "-o", prog], check=True)
        for args in (["turns", "6400"], ["regrow", "400", "9"], ["regrow", "60", "64"], ["regrow", "30", "128"]):
            lines = {k: [] for k in allocs}
            for _ in range(rounds):
                for k, lib in allocs.items():  # interleaved
                    env = dict(os.environ)
                    env.pop("LD_PRELOAD", None)
                    if lib:
                        env["LD_PRELOAD"] = lib
                    out = subprocess.run([prog] + args, env=env, capture_output=True, text=True).stdout.strip()
                    lines[k].append(out)
            print(" ".join(args))
            for k, outs in lines.items():
                # The run with the median time, as printed.
                print(f"  {k:<10} {sorted(outs, key=lambda o: float(o.split()[0]) if o else 1e9)[len(outs) // 2]}",
                      flush=True)
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("lib")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--workloads", default=",".join(OPS))
    ap.add_argument("--threads", default="1,4")
    ap.add_argument("--only", default="")
    ap.add_argument("--rss", action="store_true")
    ap.add_argument("--realloc", action="store_true")
    a = ap.parse_args()
    allocs = dict(PEERS)
    allocs["sysprim"] = os.path.abspath(a.lib)
    if a.realloc:
        # glibc and sysprim, and the peers named with --only: they copy the buffers on every
        # growth (turns: 12 s jemalloc, 16 s tcmalloc, 156 s mimalloc here).
        peers = a.only.split(",") if a.only else []
        return realloc_turns({k: v for k, v in allocs.items() if k in ("glibc", "sysprim") or k in peers},
                             a.rounds)
    if a.rss:
        with tempfile.TemporaryDirectory() as tmp:
            prog = os.path.join(tmp, "rss")
            subprocess.run(["gcc", "-O2", "-fno-builtin", os.path.join(ROOT, "bench", "alloc-quick-rss.c"),
                            "-o", prog], check=True)
            for k, lib in allocs.items():
                env = dict(os.environ)
                env.pop("LD_PRELOAD", None)
                if lib:
                    env["LD_PRELOAD"] = lib
                out = subprocess.run([prog], env=env, capture_output=True, text=True).stdout.strip()
                print(f"{k:<10} {out}", flush=True)
        return 0
    if a.only:
        allocs = {k: v for k, v in allocs.items() if k in a.only.split(",") or k == "glibc"}
    with tempfile.TemporaryDirectory() as tmp:
        worker = os.path.join(tmp, "worker")
        build_worker(worker)
        print(f"{'workload':<14}{'thr':>4}" + "".join(f"{k:>18}" for k in allocs))
        for wl in a.workloads.split(","):
            for th in [int(t) for t in a.threads.split(",")]:
                res = {k: [] for k in allocs}
                for r in range(a.rounds):
                    for k, lib in allocs.items():  # interleaved
                        x = run(worker, lib, wl, th, OPS[wl], r + 1)
                        if x:
                            res[k].append(x)
                base = statistics.median(v[0] for v in res["glibc"]) if res["glibc"] else 1
                cells = []
                for k in allocs:
                    if not res[k]:
                        cells.append(f"{'fail':>18}")
                        continue
                    tput = statistics.median(v[0] for v in res[k])
                    rss = statistics.median(v[1] for v in res[k]) / 1024
                    cells.append(f"{tput / base:>8.2f}x {rss:>6.0f}M")
                print(f"{wl:<14}{th:>4}" + "".join(cells), flush=True)


if __name__ == "__main__":
    sys.exit(main())
