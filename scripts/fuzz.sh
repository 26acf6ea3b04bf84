#!/bin/sh
# Builds the libFuzzer targets of tests/fuzz with clang (-fsanitize=fuzzer,address,undefined,
# plugins included) in their own build directory and runs each for a bounded time on a copy
# of its committed corpus (tests/fuzz/corpus/<target> plus tests/fuzz/regressions/<target>),
# with tests/fuzz/dict/<target>.dict when there is one.
# Prints the executions and findings of every target; exits non-zero when one crashed.
#
#   scripts/fuzz.sh [target ...]     default: every target
#   FUZZ_SECONDS=30                  time per target (-max_total_time)
#   FUZZ_BUILD=build-fuzz            build directory
#   FUZZ_JOBS=2                      parallel build jobs
#
# Findings (crash-*, leak-*, timeout-*, oom-* files) are left in
# $FUZZ_BUILD/fuzz-run/<target>/artifacts/; the fuzzer's output in .../log. Keep each real
# one in tests/fuzz/regressions/<target>/ (see the README there).
set -eu

cd "$(dirname "$0")/.."
SRC=$(pwd)
SECONDS_EACH=${FUZZ_SECONDS:-30}
BUILD=${FUZZ_BUILD:-build-fuzz}
JOBS=${FUZZ_JOBS:-2}

if ! command -v clang >/dev/null 2>&1; then
    echo "fuzz.sh: clang is needed (libFuzzer ships with it)" >&2
    exit 2
fi

if [ "$#" -gt 0 ]; then
    TARGETS="$*"
else
    TARGETS=$(cd "$SRC/tests/fuzz" && ls fuzz_*.c | sed -n 's/\.c$//p' | grep -v '^fuzz_jwtmint$')
fi

mkdir -p "$BUILD"
CC=clang CXX=clang++ cmake -S "$SRC" -B "$BUILD" -DNETTU_FUZZ=ON -DNETTU_TESTS=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$BUILD/configure.log" 2>&1 ||
    { cat "$BUILD/configure.log" >&2; exit 2; }
# Only the fuzz targets and what they need (their plugins are dependencies).
# shellcheck disable=SC2086
cmake --build "$BUILD" -j "$JOBS" --target $TARGETS >"$BUILD/build.log" 2>&1 ||
    { cat "$BUILD/build.log" >&2; exit 2; }

export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

status=0
printf '%-16s %12s %8s  %s\n' target executions findings result
for t in $TARGETS; do
    exe="$BUILD/tests/fuzz/$t"
    run="$BUILD/fuzz-run/$t"
    if [ ! -x "$exe" ]; then
        printf '%-16s %12s %8s  %s\n' "$t" - - "not built"
        status=1
        continue
    fi
    rm -rf "$run"
    mkdir -p "$run/corpus" "$run/artifacts"
    for d in "$SRC/tests/fuzz/corpus/$t" "$SRC/tests/fuzz/regressions/$t"; do
        if [ -d "$d" ]; then
            find "$d" -maxdepth 1 -type f ! -name 'README*' -exec cp {} "$run/corpus/" \;
        fi
    done
    dict=
    if [ -f "$SRC/tests/fuzz/dict/$t.dict" ]; then
        dict="-dict=$SRC/tests/fuzz/dict/$t.dict"
    fi
    rc=0
    # shellcheck disable=SC2086
    "$exe" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$run/artifacts/" $dict "$run/corpus" \
        >"$run/log" 2>&1 || rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$run/log" | tail -n 1)
    if [ -z "$execs" ]; then
        execs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$run/log" | tail -n 1)
    fi
    findings=$(find "$run/artifacts" -type f | wc -l | tr -d ' ')
    if [ "$rc" -ne 0 ] || [ "$findings" -ne 0 ]; then
        result="FAILED (exit $rc): see $run/log"
        status=1
    else
        result=ok
    fi
    printf '%-16s %12s %8s  %s\n' "$t" "${execs:-?}" "$findings" "$result"
    for f in $(find "$run/artifacts" -type f); do
        echo "    finding: $f"
    done
done
exit "$status"
