#!/bin/bash
# The whole test suite: installs what is missing, builds with -Werror, runs
# every unit, end-to-end and conformance test, then cross-builds the Windows
# exe and smoke-tests it under wine, then runs the fuzz targets for a bounded
# time, then the suite again built with ASan and UBSan (build-asan; the fault
# and crash sweeps left out: they test recovery, not memory, and take long).
# Ends with "N passed, N failed" (meson tests, wine checks, fuzzing, ASan).
# MBSTATE_SKIP_CROSS=1, MBSTATE_SKIP_FUZZ=1, MBSTATE_SKIP_ASAN=1 skip a part.
set -u
cd "$(dirname "$0")/.."
bash scripts/build.sh || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }
meson test -C build --print-errorlogs --num-processes 2 "$@"
rc=$?
read -r passed failed < <(python3 - build/meson-logs/testlog.json <<'PY'
import json, sys
passed = failed = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("result") in ("OK", "EXPECTEDFAIL", "SKIP"):
        passed += 1
    else:
        failed += 1
print(passed, failed)
PY
)

# The Windows build: cross-compiled with mingw-w64 from Debian source
# packages, then smoke-tested under wine against the native binary.
cross_rc=0
if [ "${MBSTATE_SKIP_CROSS:-0}" != 1 ]; then
        bash scripts/cross-build.sh build-win | tee build/cross-build.log
        cross_rc=${PIPESTATUS[0]}
        if [ "$cross_rc" != 0 ]; then
                failed=$((failed + 1))
        elif ! grep -q MBSTATE_CROSS_BUILD_SKIPPED build/cross-build.log; then
                bash tests/wine/run.sh build/mbstate build-win/mbstate.exe | tee build/wine.log
                cross_rc=${PIPESTATUS[0]}
                read -r wp wf < <(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' build/wine.log | tail -1)
                passed=$((passed + ${wp:-0}))
                failed=$((failed + ${wf:-1}))
        fi
fi
# Hostile input: every libFuzzer target for a bounded time (clang, ASan, UBSan).
fuzz_rc=0
if [ "${MBSTATE_SKIP_FUZZ:-0}" != 1 ]; then
        FUZZ_SECONDS=${FUZZ_SECONDS:-30} bash tests/fuzz/run.sh
        fuzz_rc=$?
        if [ "$fuzz_rc" = 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
fi
# Memory and undefined behaviour: the suite built with ASan and UBSan.
asan_rc=0
if [ "${MBSTATE_SKIP_ASAN:-0}" != 1 ]; then
        if [ ! -f build-asan/build.ninja ]; then
                meson setup build-asan -Db_sanitize=address,undefined -Dwerror=true >/dev/null ||
                        asan_rc=1
        fi
        if [ "$asan_rc" = 0 ] && ninja -C build-asan >build/asan-build.log 2>&1; then
                meson test -C build-asan --print-errorlogs --num-processes 2 --no-suite reliability
                asan_rc=$?
                read -r ap af < <(python3 - build-asan/meson-logs/testlog.json <<'PY'
import json, sys
p = f = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("result") in ("OK", "EXPECTEDFAIL", "SKIP"):
        p += 1
    else:
        f += 1
print(p, f)
PY
)
                passed=$((passed + ${ap:-0}))
                failed=$((failed + ${af:-1}))
        else
                asan_rc=1
                tail -20 build/asan-build.log
                failed=$((failed + 1))
        fi
fi
echo "${passed:-0} passed, ${failed:-1} failed"
[ "$rc" = 0 ] && [ "$cross_rc" = 0 ] && [ "$fuzz_rc" = 0 ] && [ "$asan_rc" = 0 ]
