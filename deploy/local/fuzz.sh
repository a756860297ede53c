#!/usr/bin/env bash
# deploy/local/fuzz.sh SECONDS: the libFuzzer targets of tests/fuzz
# (issue 6) for SECONDS each (default 60). Installs clang if missing (CI
# does not need it), builds with -DRV_FUZZ=ON in build-fuzz, runs each
# target from its seed corpus and prints one line per target:
#   fuzz: <target> runs=N crashes=K
# Exits 1 if a target crashed, leaked or hit UB; the input that did it is
# kept in build-fuzz/artifacts/<target>/ until the next run (copy it into
# tests/fuzz/regressions/<target>/ once fixed: test_fuzz_regressions runs
# it under the normal build from then on).
#
# Environment (optional): RV_FUZZ_BUILD_DIR (default <repo>/build-fuzz),
# RV_FUZZ_JOBS (build jobs, default: nproc).
set -euo pipefail

# shellcheck source=deploy/local/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

seconds="${1:-60}"
case "$seconds" in
'' | *[!0-9]*) rv_die "usage: fuzz.sh SECONDS (a whole number)" ;;
esac
build_dir="${RV_FUZZ_BUILD_DIR:-$RV_ROOT/build-fuzz}"
jobs="${RV_FUZZ_JOBS:-$(nproc)}"
cd "$RV_ROOT"

"$RV_ROOT/deploy/local/install-deps.sh"
if ! command -v clang >/dev/null 2>&1; then
    rv_info "installing: clang"
    rv_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    rv_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends clang
fi

cmake -S "$RV_ROOT" -B "$build_dir" \
    -DCMAKE_C_COMPILER=clang \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DRV_FUZZ=ON \
    -DRV_SANITIZE=address,undefined >/dev/null
cmake --build "$build_dir" -j "$jobs" --target fuzz_decoders fuzz_csv \
    fuzz_policy >/dev/null

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"

# The seed directories of target $1, one a line: its corpus (for the
# policy target the shipped policy itself) and the inputs it once crashed
# on.
seeds_of() {
    case "$1" in
    policy) echo "$RV_ROOT/deploy/policy" ;;
    *) echo "$RV_ROOT/tests/fuzz/corpus/$1" ;;
    esac
    if [ -d "$RV_ROOT/tests/fuzz/regressions/$1" ]; then
        echo "$RV_ROOT/tests/fuzz/regressions/$1"
    fi
}

failed=0
for t in decoders csv policy; do
    work="$build_dir/fuzz-corpus/$t"   # what the run adds to the seeds
    art="$build_dir/artifacts/$t"      # crash-*, leak-*, timeout-*, oom-*
    log="$build_dir/fuzz-$t.log"
    rm -rf "$art" # the inputs of the last run only
    mkdir -p "$work" "$art"
    mapfile -t seeds < <(seeds_of "$t")
    rc=0
    # -close_fd_mask=2: the importer reports each skipped row on stderr;
    # libFuzzer keeps its own output and the sanitizers' reports.
    "$build_dir/tests/fuzz/fuzz_$t" -max_total_time="$seconds" \
        -timeout=10 -rss_limit_mb=2048 -close_fd_mask=2 \
        -artifact_prefix="$art/" "$work" "${seeds[@]}" \
        >"$log" 2>&1 || rc=$?
    runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -n 1)
    if [ -z "$runs" ]; then
        # Stopped early: the last status line says how far it got.
        runs=$(sed -n 's/^#\([0-9]*\).*/\1/p' "$log" | tail -n 1)
    fi
    crashes=$(find "$art" -type f | wc -l)
    echo "fuzz: $t runs=${runs:-0} crashes=$crashes"
    if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
        rv_info "$t failed (exit $rc); log: $log; inputs: $art"
        failed=1
    fi
done
exit "$failed"
