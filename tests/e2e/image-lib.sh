# SPDX-License-Identifier: MIT
# Helpers for the image target's end-to-end tests (sourced).
# Usage of every test: TEST MBIMG MKSEED MAKE_IMAGES
set -eu
MBIMG=${1:?mbimg}
MKSEED=${2:?mkseed}
MAKE_IMAGES=${3:?make-images}
export MTOOLS_SKIP_CHECK=1 LC_ALL=C
T=$(mktemp -d "${TMPDIR:-/tmp}/mbstate-e2e.XXXXXX")
trap 'rm -rf "$T"' EXIT
trap 'exit 143' INT TERM
FAILS=0

fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
pass() { echo "ok: $*"; }
# check DESCRIPTION COMMAND...: the command must succeed
check() { d=$1; shift; if "$@"; then pass "$d"; else fail "$d"; fi; }
# refuse DESCRIPTION PATTERN COMMAND...: the command must fail and say PATTERN
refuse() {
        d=$1 pat=$2; shift 2
        if "$@" >"$T/out" 2>"$T/err"; then fail "$d (succeeded)"; return; fi
        if grep -q -- "$pat" "$T/err"; then pass "$d"; else fail "$d: stderr was: $(cat "$T/err")"; fi
}
finish() { if [ $FAILS -ne 0 ]; then echo "$FAILS check(s) failed" >&2; exit 1; fi; echo "all checks passed"; }

seed() {        # builds $T/disk0.img and $T/disk1.img
        "$MAKE_IMAGES" "$T" "$MKSEED" >/dev/null
        L="$T/disk0.img,$T/disk1.img"
}
facts() { "$MBIMG" facts "$L"; }
op() { allow=$1; shift; "$MBIMG" exec "$L" "$allow" "$@"; }
# field LINE KEY: the value of KEY=... in a facts line
field() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1; }
partline() { facts | grep "^part $1 $2 "; }
sg() { sgdisk -i "$2" "$1" | sed -n "s/^$3: *//p"; }      # sg IMG N "Attribute flags"
sgdisk_ok() { sgdisk -v "$1" 2>&1 | grep -q "^No problems found"; }
upper() { tr a-z A-Z; }
esp_fsck() {    # esp_fsck IMG FIRST_LBA SECTORS
        dd if="$1" of="$T/esp.fsck" bs=512 skip="$2" count="$3" status=none
        fsck.fat -n "$T/esp.fsck" >"$T/fsck.out" 2>&1
}
