#!/usr/bin/env bash
# Runs one libFuzzer target for a fixed time on its seed corpus (kept in the repo, never written to);
# fails on any crash, timeout or sanitizer report.
# Usage: run-fuzz.sh TARGET_BINARY SEED_DIR SECONDS [DICTIONARY]
set -u
target=$1 seeds=$2 seconds=$3
dict=()
[ -n "${4:-}" ] && dict=(-dict="$4")
if [ ! -x "$target" ]; then
        echo "SKIP: $target was not built (clang with -fsanitize=fuzzer not available)"
        exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
# New inputs go to a scratch corpus; the seed folder is read only.
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:allocator_may_return_null=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
"$target" -max_total_time="$seconds" -runs=20000000 -timeout=10 -error_exitcode=1 -timeout_exitcode=1 -rss_limit_mb=2048 -max_len=20000 \
        -print_final_stats=1 "${dict[@]}" -artifact_prefix="$work/" "$work/corpus" "$seeds" >"$work/log" 2>&1
status=$?
tail -n 25 "$work/log"
if [ $status -ne 0 ] || grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:' "$work/log"; then
        echo "FAIL: $(basename "$target") exited $status"
        for crash in "$work"/crash-* "$work"/timeout-* "$work"/leak-* "$work"/oom-*; do
                [ -e "$crash" ] || continue
                echo "reproducer $(basename "$crash") (base64):"
                base64 -w0 "$crash"
                echo
        done
        exit 1
fi
echo "OK: $(basename "$target"): $(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$work/log" | grep -oE '[0-9]+$') runs in ${seconds}s, no crash, no sanitizer report"
