#!/usr/bin/env bash
# deploy/local/test.sh: the test command (README, CI). Installs what is
# missing, checks the format, builds with -Werror and ASan+UBSan, starts
# the local stack in a fresh private directory, runs every test (unit and
# integration) and always stops the stack. Exits with ctest's code, or 1
# if only the format check failed.
#
# Environment (all optional):
#   RV_TEST_BUILD_DIR  build directory        (default <repo>/build-test)
#   RV_TEST_STACK_DIR  stack state directory  (default <repo>/.run/test-stack)
#   RV_TEST_JOBS       build and test jobs    (default: nproc)
#   CTEST_ARGS         extra ctest arguments, e.g. "-L unit"
set -euo pipefail

# shellcheck source=deploy/local/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

build_dir="${RV_TEST_BUILD_DIR:-$RV_ROOT/build-test}"
stack_dir="${RV_TEST_STACK_DIR:-$RV_ROOT/.run/test-stack}"
jobs="${RV_TEST_JOBS:-$(nproc)}"
stack="$RV_ROOT/deploy/local/stack.sh"
cd "$RV_ROOT"

# A hermetic run: configuration the calling shell holds (say a sourced
# stack env, or RV_CONFIG) must not reach the build, the stack or a test.
for v in $(compgen -e); do
    case "$v" in
    RV_TEST_* | RV_PG_BIN) ;;
    RV_*) unset "$v" ;;
    esac
done

"$RV_ROOT/deploy/local/install-deps.sh"

# Format first: cheap, and its result is reported even when tests fail.
format_rc=0
if command -v clang-format >/dev/null 2>&1; then
    mapfile -t sources < <(find common include workers tests -type f \
        \( -name '*.c' -o -name '*.h' \) 2>/dev/null | LC_ALL=C sort)
    if [ "${#sources[@]}" -gt 0 ]; then
        if clang-format --dry-run --Werror "${sources[@]}"; then
            rv_info "format: ${#sources[@]} files clean"
        else
            rv_info "format: violations above (fix: clang-format -i FILE)"
            format_rc=1
        fi
    fi
else
    rv_info "clang-format not installed: format check skipped"
fi

# Leaks, UB and memory errors fail the test that hit them.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:detect_stack_use_after_return=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-print_suppressions=0}"

cmake -S "$RV_ROOT" -B "$build_dir" \
    -DCMAKE_BUILD_TYPE=Debug \
    -DRV_WERROR=ON \
    -DRV_INTEGRATION_TESTS=ON \
    -DRV_SANITIZE=address,undefined
cmake --build "$build_dir" -j "$jobs"

# A fresh stack every run; its logs stay in the state dir afterwards.
"$stack" stop "$stack_dir" --wipe
trap '"$stack" stop "$stack_dir" || true' EXIT
trap 'exit 130' INT TERM
RV_BUILD_DIR="$build_dir" "$stack" start "$stack_dir"
# shellcheck source=/dev/null
. "$stack_dir/env"
# Tests get the servers only as RV_IT_*. The workers' own variables
# (RV_PG_DSN, ...) would leak into every rv_cfg_load a test makes, and a
# unit test must not depend on what the shell holds. RV_PII_KEY_FILE
# stays: every recorder a test spawns needs it (no key, no start).
unset RV_KAFKA_BOOTSTRAP_SERVERS RV_REDIS_URL RV_PG_DSN RV_STACK_DIR
export RV_BUILD_DIR="$build_dir"

ctest_rc=0
ctest_log="$build_dir/ctest.log"
set +e
# shellcheck disable=SC2086 # CTEST_ARGS is a list of words on purpose
ctest --test-dir "$build_dir" --output-on-failure -j "$jobs" \
    ${CTEST_ARGS:-} 2>&1 | tee "$ctest_log"
ctest_rc=${PIPESTATUS[0]}
set -e
# ctest's result line, restated as the last line of the run.
result_line() {
    sed -n 's/.*tests passed, \([0-9]*\) tests\{0,1\} failed out of \([0-9]*\).*/\1 \2/p' \
        "$ctest_log" | tail -n 1 |
        awk '{ printf "tests: %d passed, %d failed\n", $2 - $1, $1 }'
}

if [ "$ctest_rc" -ne 0 ]; then
    rv_info "tests failed (ctest exit $ctest_rc); stack logs: $stack_dir"
    result_line
    exit "$ctest_rc"
fi
if [ "$format_rc" -ne 0 ]; then
    rv_info "tests passed but the format check failed"
    result_line
    exit 1
fi
# Nothing to look into: leave no data behind (a failure keeps its logs).
trap - EXIT
"$stack" stop "$stack_dir" --wipe
rv_info "all passed"
result_line
