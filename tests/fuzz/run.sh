#!/bin/bash
# Builds the libFuzzer targets with clang, ASan and UBSan, and runs each for
# a bounded time (FUZZ_SECONDS, default 30) on a seed corpus made from
# tests/data and the examples. A crash leaves its input in build-fuzz/crashes/
# and fails the run; copy it into tests/data/fuzz-regressions/ as a test.
set -u
cd "$(dirname "$0")/../.."
secs=${FUZZ_SECONDS:-30}
if [ ! -f build-fuzz/build.ninja ]; then
        CC=clang meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined \
                -Db_lundef=false --buildtype=debugoptimized >/dev/null || exit 1
fi
ninja -C build-fuzz || exit 1
corpus=build-fuzz/corpus
rm -rf "$corpus"; mkdir -p "$corpus"/{site,facts,ldm,bcd} build-fuzz/crashes
cp examples/*/site.yaml tests/data/site-no-mirror.yaml "$corpus/site/" 2>/dev/null
for f in examples/*/site.yaml tests/data/site-no-mirror.yaml; do cp "$f" "$corpus/site/$(echo "$f" | tr / _)"; done
cp tests/data/bad/*.yaml "$corpus/site/" 2>/dev/null
for f in tests/data/seed/*.yaml; do cp "$f" "$corpus/facts/"; done
cp tests/data/bcd/* "$corpus/bcd/" 2>/dev/null
td=${MB_TESTDATA:-../shared/testdata}
if [ -f "$td/ldm/ldm-data.tar.xz" ]; then
        tar -xJf "$td/ldm/ldm-data.tar.xz" -C build-fuzz/ 2>/dev/null
        for img in $(find build-fuzz -name '*2008*-2.img' 2>/dev/null | head -3); do
                head -c 1126400 "$img" > "$corpus/ldm/$(basename "$img")"
        done
fi
[ -n "$(ls "$corpus/ldm")" ] || head -c 1126400 /dev/zero > "$corpus/ldm/zero"
total=0 failed=0
for t in site facts ldm bcd; do
        exe=build-fuzz/tests/fuzz/fuzz_$t
        [ -x "$exe" ] || continue
        maxlen=65536
        [ "$t" = ldm ] && maxlen=1126400
        "$exe" -max_total_time="$secs" -max_len=$maxlen -timeout=10 -rss_limit_mb=1024 \
                -artifact_prefix=build-fuzz/crashes/$t- -print_final_stats=1 \
                "$corpus/$t" > "build-fuzz/fuzz_$t.log" 2>&1
        rc=$?
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "build-fuzz/fuzz_$t.log" | tail -1)
        total=$((total + ${runs:-0}))
        if [ "$rc" = 0 ]; then
                echo "fuzz $t: ${runs:-0} executions in ${secs}s, no crash"
        else
                failed=$((failed + 1))
                echo "fuzz $t: FAILED (exit $rc) after ${runs:-?} executions:"
                grep -E "ERROR|SUMMARY|artifact" "build-fuzz/fuzz_$t.log" | head -5
        fi
done
echo "fuzz: $total executions, $failed target(s) failed"
[ "$failed" = 0 ]
