#!/usr/bin/env bash
# bench/alloc-bench.sh: the full allocator comparison behind the README. Runs `sysprim alloc-bench`
# (every workload, builtin vs glibc vs jemalloc, tcmalloc, mimalloc; runs interleaved, medians) and
# regenerates bench/results/alloc-bench.{md,svg,html} and the results table in README.md; then the
# prodcons cells once more with threads pinned (--pin), into alloc-bench-pinned.md and the README.
#
#   bench/alloc-bench.sh [--build DIR] [--no-readme] [-- EXTRA ALLOC-BENCH ARGS]
#
# Defaults: --build build, threads 1 and 4 (THREADS=...), 7 runs per cell (RUNS=...). This is not a
# test: numbers move with the machine's load; compare ratios from one run, never across runs.
set -euo pipefail
cd "$(dirname "$0")/.."

build=build
update_readme=1
extra=()
while [ $# -gt 0 ]; do
        case $1 in
        --build) build=$2; shift ;;
        --no-readme) update_readme=0 ;;
        --) shift; extra=("$@"); break ;;
        -h|--help) sed -n '2,11s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) echo "alloc-bench.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
        esac
        shift
done
sysprim=$build/sysprim
[ -x "$sysprim" ] || { echo "alloc-bench.sh: $sysprim not built (run ./bootstrap)" >&2; exit 1; }

threads=${THREADS:-1,4}
runs=${RUNS:-7}
results=bench/results
mkdir -p "$results"
args=(--threads "$threads" --runs "$runs" "${extra[@]}")
command="sysprim alloc-bench ${args[*]}"

# One measuring run renders everything (every invocation measures anew, so never mix two runs'
# numbers): Markdown tables on stdout, the chart, and a page with the chart and the full table.
"$sysprim" alloc-bench "${args[@]}" --markdown --svg "$results/alloc-bench.svg" \
        --html "$results/alloc-bench.html" >"$results/alloc-bench.md.tmp"
mv "$results/alloc-bench.md.tmp" "$results/alloc-bench.md"
# prodcons again with every thread pinned: with more threads than CPUs, whether the scheduler puts a
# producer and its consumer on one core or on two moves a run by up to 5x, whatever the allocator;
# pinned, every allocator gets the same placement. Lanes alternate producer, consumer: 0,1 puts every
# producer on the first CPU and every consumer on the second, 0,0,1,1 each pair on a CPU of its own,
# 0,1,1,0 the two pairs across the CPUs both ways. (One usable CPU: just --pin.)
if [ "$(nproc)" -ge 2 ]; then placements=(0,1 0,0,1,1 0,1,1,0); else placements=(0); fi
: >"$results/alloc-bench-pinned.md.tmp"
pin_commands=()
for placement in "${placements[@]}"; do
        pin_args=(--placement "$placement" --workload prodcons --threads "$threads" --runs "$runs" "${extra[@]}")
        pin_commands+=("sysprim alloc-bench ${pin_args[*]}")
        {
                echo "\`--placement $placement\`:"
                echo
                "$sysprim" alloc-bench "${pin_args[@]}" --markdown
                echo
        } >>"$results/alloc-bench-pinned.md.tmp"
done
mv "$results/alloc-bench-pinned.md.tmp" "$results/alloc-bench-pinned.md"

section=$(mktemp)
trap 'rm -f "$section"' EXIT
cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
glibc=$(getconf GNU_LIBC_VERSION)
{
        echo "Measured $(date -u +%Y-%m-%d) on $(nproc) CPUs ($cpu), Linux $(uname -r), $glibc, with:"
        echo
        echo '```sh'
        echo "$command"
        echo '```'
        echo
        cat "$results/alloc-bench.md"
        echo
        echo "The producer/consumer rows again with every thread pinned, in each placement of producers and"
        echo "consumers on the CPUs (lanes alternate producer, consumer; thread i runs on the usable CPU at"
        echo "position i of the list, cyclically), measured right after with:"
        echo
        echo '```sh'
        printf '%s\n' "${pin_commands[@]}"
        echo '```'
        echo
        cat "$results/alloc-bench-pinned.md"
} >"$section"

if [ "$update_readme" = 1 ]; then
        python3 - README.md "$section" <<'PY'
import sys
readme, section = sys.argv[1], open(sys.argv[2]).read()
text = open(readme).read()
begin, end = "<!-- BEGIN alloc-bench results -->", "<!-- END alloc-bench results -->"
if begin not in text or end not in text:
    sys.exit("README.md has no alloc-bench results markers")
head, rest = text.split(begin, 1)
_, tail = rest.split(end, 1)
open(readme, "w").write(head + begin + "\n" + section.rstrip() + "\n" + end + tail)
PY
        echo "alloc-bench.sh: README.md updated; chart in $results/alloc-bench.svg" >&2
fi
