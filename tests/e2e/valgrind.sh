#!/bin/bash
# SPDX-License-Identifier: MIT
# The end-to-end run under valgrind (GitHub issue 7): `apply` and `check` of
# tests/data/site-no-mirror.yaml on the seed's images with memcheck, no
# error and no definite leak (--error-exitcode=99 --leak-check=full
# --errors-for-leak-kinds=definite). The tools mbstate spawns (mtools,
# mkfs.fat, mkntfs) are not traced. Skipped (77) in the ASan build, which
# valgrind cannot run; fails without valgrind (scripts/deps.sh installs it).
# Runs from the source root as: valgrind.sh MBSTATE MKSEED MAKE_IMAGES
set -u
MB=${1:?usage: $0 MBSTATE MKSEED MAKE_IMAGES}
MKSEED=${2:?mkseed}
MAKE_IMAGES=${3:?make-images}
SITE=tests/data/site-no-mirror.yaml
# valgrind is installed by scripts/deps.sh: without it the set-up is broken (a failure)
command -v valgrind >/dev/null || { echo "FAIL: valgrind is not installed (package valgrind, scripts/deps.sh)"; exit 1; }
if grep -qa '__asan_init' "$MB"; then
        echo "mbstate is built with AddressSanitizer, which valgrind cannot run: skipped"
        exit 77
fi
export MTOOLS_SKIP_CHECK=1 LC_ALL=C
T=$(mktemp -d "${TMPDIR:-/tmp}/mbstate-valgrind.XXXXXX")
trap 'rm -rf "$T"' EXIT
trap 'exit 143' INT TERM
FAIL=0
"$MAKE_IMAGES" "$T" "$MKSEED" >/dev/null || { echo "FAIL: make-images"; exit 1; }
L="image:$T/disk0.img,$T/disk1.img"
[ -f "$T/vars.fd" ] && L="$L,nvram=$T/vars.fd"
vg() {  # vg WANT NAME ARGS...: mbstate ARGS under memcheck exits WANT
        local want=$1 name=$2 rc; shift 2
        valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
                --show-leak-kinds=definite --log-file="$T/vg-$name.log" \
                "$MB" "$@" >"$T/$name.out" 2>&1
        rc=$?
        if [ "$rc" = "$want" ]; then
                echo "ok: $name under valgrind (exit $rc): $(grep -m1 'ERROR SUMMARY' "$T/vg-$name.log" | sed 's/^==[0-9]*== //')"
        else
                FAIL=$((FAIL + 1))
                echo "FAIL: $name under valgrind: exit $rc, expected $want"
                grep -E 'Invalid|uninitialised|definitely lost|at 0x|by 0x|ERROR SUMMARY' "$T/vg-$name.log" | head -40
                tail -3 "$T/$name.out"
        fi
}
# (each run hashes the 524 MiB recovery partitions, slow under memcheck:
# the two runs the seed procedure needs, nothing more)
vg 0 apply apply "$SITE" --target "$L"
vg 0 check check "$SITE" --target "$L" --json
echo "valgrind: $FAIL failed"
[ "$FAIL" = 0 ]
