#!/bin/bash
# The whole test suite: installs what is missing, builds with -Werror, runs
# every unit, end-to-end and conformance test, then cross-builds the Windows
# exe and smoke-tests it under wine, then runs the fuzz targets for a bounded
# time, then the suite again built with ASan and UBSan (build-asan; the fault
# and crash sweeps left out: they test recovery, not memory, and take long).
# Ends with "N passed, N failed, N skipped" (meson tests, the cross-build,
# wine checks, fuzzing, ASan): a meson test that exits 77 is skipped; a part
# that did not run (MBSTATE_SKIP_*=1, the cross-build's sources could not be
# fetched, so no wine checks) is skipped, never passed. A test never skips
# for a package scripts/deps.sh installs: it fails (tests/lint-checks.py
# refuses such skips). The run succeeds when nothing failed.
# MBSTATE_SKIP_CROSS=1, MBSTATE_SKIP_FUZZ=1, MBSTATE_SKIP_ASAN=1 skip a part.
set -u
cd "$(dirname "$0")/.."
passed=0 failed=0 skipped=0
# add PASSED FAILED SKIPPED
add() { passed=$((passed + $1)); failed=$((failed + $2)); skipped=$((skipped + $3)); }
skip_part() { skipped=$((skipped + 1)); echo "skipped: $1"; }
# meson_counts BUILD_DIR RC: adds the counts of BUILD_DIR's test log; a
# failed `meson test` without a failed test in its log is one failure
meson_counts() {
        local p f s
        read -r p f s < <(python3 tests/count-results.py meson "$1/meson-logs/testlog.json")
        add "${p:-0}" "${f:-1}" "${s:-0}"
        if [ "$2" != 0 ] && [ "${f:-1}" = 0 ]; then
                echo "meson test in $1 exited $2 without a failed test"
                add 0 1 0
        fi
}

bash scripts/build.sh || { echo "build failed"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }
rm -f build/meson-logs/testlog.json
meson test -C build --print-errorlogs --num-processes 2 "$@"
rc=$?
meson_counts build "$rc"

# The Windows build: cross-compiled with mingw-w64 from Debian source
# packages, then smoke-tested under wine against the native binary.
cross_rc=0
if [ "${MBSTATE_SKIP_CROSS:-0}" = 1 ]; then
        skip_part "cross-build (MBSTATE_SKIP_CROSS=1)"
        skip_part "wine checks (no mbstate.exe)"
else
        bash scripts/cross-build.sh build-win | tee build/cross-build.log
        cross_rc=${PIPESTATUS[0]}
        if [ "$cross_rc" != 0 ]; then
                echo "cross-build failed (exit $cross_rc)"
                add 0 1 0
                skip_part "wine checks (no mbstate.exe)"
        elif grep -q MBSTATE_CROSS_BUILD_SKIPPED build/cross-build.log; then
                skip_part "cross-build (the libyaml/libcyaml sources could not be fetched)"
                skip_part "wine checks (no mbstate.exe)"
        else
                add 1 0 0
                bash tests/wine/run.sh build/mbstate build-win/mbstate.exe | tee build/wine.log
                cross_rc=${PIPESTATUS[0]}
                read -r wp wf ws < <(python3 tests/count-results.py wine build/wine.log)
                add "${wp:-0}" "${wf:-1}" "${ws:-0}"
                if [ "$cross_rc" != 0 ] && [ "${wf:-1}" = 0 ]; then add 0 1 0; fi
        fi
fi
# Hostile input: every libFuzzer target for a bounded time (clang, ASan, UBSan).
fuzz_rc=0
if [ "${MBSTATE_SKIP_FUZZ:-0}" = 1 ]; then
        skip_part "fuzzing (MBSTATE_SKIP_FUZZ=1)"
else
        FUZZ_SECONDS=${FUZZ_SECONDS:-30} bash tests/fuzz/run.sh
        fuzz_rc=$?
        if [ "$fuzz_rc" = 0 ]; then add 1 0 0; else add 0 1 0; fi
fi
# Memory and undefined behaviour: the suite built with ASan and UBSan.
asan_rc=0
if [ "${MBSTATE_SKIP_ASAN:-0}" = 1 ]; then
        skip_part "the ASan/UBSan suite (MBSTATE_SKIP_ASAN=1)"
else
        if [ ! -f build-asan/build.ninja ]; then
                meson setup build-asan -Db_sanitize=address,undefined -Dwerror=true >/dev/null ||
                        asan_rc=1
        fi
        if [ "$asan_rc" = 0 ] && ninja -C build-asan >build/asan-build.log 2>&1; then
                rm -f build-asan/meson-logs/testlog.json
                meson test -C build-asan --print-errorlogs --num-processes 2 --no-suite reliability \
                        --no-suite lint
                asan_rc=$?
                meson_counts build-asan "$asan_rc"
        else
                asan_rc=1
                tail -20 build/asan-build.log
                add 0 1 0
        fi
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ] && [ "$rc" = 0 ] && [ "$cross_rc" = 0 ] && [ "$fuzz_rc" = 0 ] && [ "$asan_rc" = 0 ]
