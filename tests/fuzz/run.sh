#!/bin/bash
# Builds the libFuzzer targets with clang, ASan and UBSan, and runs each for
# a bounded time (FUZZ_SECONDS, default 30) on a seed corpus made from
# tests/data and the examples, in FUZZ_BUILD (default build-fuzz). A crash
# leaves its input in build-fuzz/crashes/ and fails the run; copy it into
# tests/data/fuzz-regressions/TARGET-NAME (TARGET: site, facts, ldm, bcd,
# efivars, gpt), where the fuzz-regressions-TARGET test replays it.
set -u
cd "$(dirname "$0")/../.."
secs=${FUZZ_SECONDS:-30}
B=${FUZZ_BUILD:-build-fuzz}
if [ ! -f "$B/build.ninja" ]; then
        CC=clang meson setup "$B" -Dfuzz=true -Db_sanitize=address,undefined \
                -Db_lundef=false --buildtype=debugoptimized >/dev/null || exit 1
fi
ninja -C "$B" || exit 1
corpus=$B/corpus
rm -rf "$corpus"; mkdir -p "$corpus"/{site,facts,ldm,bcd,efivars,gpt} "$B/crashes"
cp examples/*/site.yaml tests/data/site-no-mirror.yaml "$corpus/site/" 2>/dev/null
for f in examples/*/site.yaml tests/data/site-no-mirror.yaml; do cp "$f" "$corpus/site/$(echo "$f" | tr / _)"; done
cp tests/data/bad/*.yaml "$corpus/site/" 2>/dev/null
for f in tests/data/seed/*.yaml; do cp "$f" "$corpus/facts/"; done
cp tests/data/bcd/* "$corpus/bcd/" 2>/dev/null
td=${MB_TESTDATA:-../shared/testdata}
if [ -f "$td/ldm/ldm-data.tar.xz" ]; then
        tar -xJf "$td/ldm/ldm-data.tar.xz" -C "$B/" 2>/dev/null
        for img in $(find "$B" -name '*2008*-2.img' 2>/dev/null | head -3); do
                head -c 1126400 "$img" > "$corpus/ldm/$(basename "$img")"
        done
fi
[ -n "$(ls "$corpus/ldm")" ] || head -c 1126400 /dev/zero > "$corpus/ldm/zero"
# UEFI variable stores: OVMF's blank one, and one with a Boot#### entry
for f in /usr/share/OVMF/OVMF_VARS_4M.fd /usr/share/OVMF/OVMF_VARS.fd; do
        [ -f "$f" ] && cp "$f" "$corpus/efivars/"
done
if [ -f "$corpus/efivars/OVMF_VARS_4M.fd" ] && [ -x "$B/engine/platform/image/image-mkseed" ]; then
        cp "$corpus/efivars/OVMF_VARS_4M.fd" "$corpus/efivars/boot0000.fd"
        "$B/engine/platform/image/image-mkseed" nvram "$corpus/efivars/boot0000.fd" "Windows Boot Manager" \
                2b8e4f10-5c3d-4a7e-8f21-6d9b0e4c7a35 1 2048 204800 '\EFI\Microsoft\Boot\bootmgfw.efi' >/dev/null 2>&1
fi
for f in tests/data/fuzz-regressions/*-*; do
        t=${f##*/}; t=${t%%-*}
        [ -d "$corpus/$t" ] && cp "$f" "$corpus/$t/"
done
# GPT disks as fuzz_gpt lays them out (first 34 sectors, then the last 33)
if command -v sgdisk >/dev/null; then
        g=$B/gpt.img
        rm -f "$g"; truncate -s 2M "$g"
        sgdisk -o -n 1:2048:2559 -t 1:EF00 -n 2:2560:3071 -t 2:0C01 -n 3:3072:4062 -t 3:0700 "$g" >/dev/null
        { head -c 17408 "$g"; tail -c 16896 "$g"; } > "$corpus/gpt/seed-like"
        sgdisk -z "$g" >/dev/null 2>&1; truncate -s 2M "$g"
        sgdisk -o -n 1:2048:4062 -t 1:4201 "$g" >/dev/null
        { head -c 17408 "$g"; tail -c 16896 "$g"; } > "$corpus/gpt/ldm-metadata"
        rm -f "$g"
fi
head -c 17408 /dev/zero > "$corpus/gpt/zero"
total=0 failed=0
for t in site facts ldm bcd efivars gpt; do
        exe=$B/tests/fuzz/fuzz_$t
        [ -x "$exe" ] || continue
        maxlen=65536
        [ "$t" = ldm ] && maxlen=1126400
        [ "$t" = efivars ] && maxlen=1048576
        lsan=
        # libfdisk's own leak on hostile EBR chains (tests/fuzz/lsan.supp); slow
        # unwinding so the suppression sees libfdisk's frames
        [ "$t" = gpt ] && lsan="suppressions=$PWD/tests/fuzz/lsan.supp:fast_unwind_on_malloc=0"
        LSAN_OPTIONS=$lsan "$exe" -max_total_time="$secs" -max_len=$maxlen -timeout=10 -rss_limit_mb=1024 \
                -artifact_prefix=$B/crashes/$t- -print_final_stats=1 \
                "$corpus/$t" > "$B/fuzz_$t.log" 2>&1
        rc=$?
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$B/fuzz_$t.log" | tail -1)
        total=$((total + ${runs:-0}))
        if [ "$rc" = 0 ]; then
                echo "fuzz $t: ${runs:-0} executions in ${secs}s, no crash"
        else
                failed=$((failed + 1))
                echo "fuzz $t: FAILED (exit $rc) after ${runs:-?} executions:"
                grep -E "ERROR|SUMMARY|artifact" "$B/fuzz_$t.log" | head -5
        fi
done
echo "fuzz: $total executions, $failed target(s) failed"
[ "$failed" = 0 ]
