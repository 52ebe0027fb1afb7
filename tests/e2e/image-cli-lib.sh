# SPDX-License-Identifier: MIT
# Helpers for the CLI-level tests of the image target (sourced by
# image-seed.sh, image-drift.sh, image-bad.sh). Each test runs from the source
# root as: TEST MBSTATE MKSEED MAKE_IMAGES
set -u
MB=${1:?usage: $0 MBSTATE MKSEED MAKE_IMAGES}
MKSEED=${2:?mkseed}
MAKE_IMAGES=${3:?make-images}
SITE=tests/data/site-no-mirror.yaml
export MTOOLS_SKIP_CHECK=1 LC_ALL=C
T=$(mktemp -d "${TMPDIR:-/tmp}/mbstate-cli.XXXXXX")
trap 'rm -rf "$T"' EXIT
trap 'exit 143' INT TERM
PASS=0 FAIL=0

# The seed's geometry (examples/seed/make-images), in sectors and bytes.
ESP_LBA=2048 ESP_SECTORS=204800 ESP_OFF=1048576
OS_OFF=122683392
REC_LBA=66031616 REC_SECTORS=1073152 REC_OFF=33808187392

ok() { PASS=$((PASS + 1)); echo "ok: $*"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL: $*"; }
# check DESCRIPTION COMMAND...: the command must succeed
check() { local d=$1; shift; if "$@"; then ok "$d"; else bad "$d"; fi; }
# mb CODE DESCRIPTION ARGS...: runs mbstate ARGS; its exit code must be CODE.
# stdout in $T/out, stderr in $T/err. The verification records go to
# $T/state (--state-dir), not to the machine's.
mb() {
        local want=$1 d=$2 got; shift 2
        "$MB" "$@" --state-dir "$T/state" >"$T/out" 2>"$T/err"; got=$?
        if [ "$got" = "$want" ]; then
                ok "$d (exit $got)"
        else
                bad "$d: exit $got, expected $want"
                sed 's/^/    | /' "$T/out" "$T/err" | head -20
        fi
}
# says FILE PATTERN DESCRIPTION: FILE ($T/out or $T/err) matches PATTERN (grep -E)
says() {
        if grep -Eq -- "$2" "$1"; then ok "$3"; else bad "$3: /$2/ not in: $(head -c 600 "$1")"; fi
}
finish() { echo "$PASS passed, $FAIL failed"; [ "$FAIL" = 0 ]; }

# seed DIR: the seed machine's disk0.img (Windows layout) and disk1.img (blank)
seed() { "$MAKE_IMAGES" "$1" "$MKSEED" >/dev/null; }
# copyset SRC DST: a copy of an image set that keeps the holes
copyset() { mkdir -p "$2" && cp --sparse=always "$1/disk0.img" "$1/disk1.img" "$2/"; }
target() { echo "image:$1/disk0.img,$1/disk1.img"; }

# imgsum FILE...: SHA-256 of each image's bytes as (offset, block) for every
# 64 KiB block that is not all zeros, found through SEEK_DATA/SEEK_HOLE, plus
# its size and mtime. Equal sums = equal contents, and an unchanged rewrite
# still changes the mtime. (sha256sum would read 32 GiB of zeros per image;
# the extent map itself is no witness: ext4 reports an unwritten extent as
# data once a reader has pulled it into the page cache.)
imgsum() {
        python3 - "$@" <<'PY'
import hashlib, os, sys
B = 1 << 16
Z = bytes(B)
for path in sys.argv[1:]:
    h = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY)
    st = os.fstat(fd)
    h.update(b"size %d\n" % st.st_size)
    off = 0
    while off < st.st_size:
        try:
            data = os.lseek(fd, off, os.SEEK_DATA)
        except OSError:
            break
        hole = os.lseek(fd, data, os.SEEK_HOLE)
        pos = data - data % B
        while pos < hole:
            b = os.pread(fd, B, pos)
            if not b:
                break
            if b != Z[:len(b)]:
                h.update(b"%d " % pos + b)
            pos += len(b)
        off = max(hole, pos)
    os.close(fd)
    print(h.hexdigest(), st.st_mtime_ns, path)
PY
}

# sgdisk_clean IMG: sgdisk -v finds nothing (its exit code is 0 even on a bad
# CRC, so read the text: the verdict and no warning anywhere in it)
sgdisk_clean() {
        sgdisk -v "$1" >"$T/sgv" 2>&1
        grep -q '^No problems found' "$T/sgv" &&
                ! grep -Eiq 'error|warning|caution|corrupt|damaged|mismatch|crc' "$T/sgv"
}
sg() { sgdisk -i "$2" "$1" | sed -n "s/^$3: *//p"; }     # sg IMG N "Attribute flags"
# part IMG FIRST_LBA SECTORS OUT: extracts a partition into a sparse file
part() {
        dd if="$1" of="$4" bs=1M iflag=skip_bytes,count_bytes skip=$(($2 * 512)) count=$(($3 * 512)) \
                conv=sparse status=none
}
esp() { echo "$1@@$ESP_OFF"; }                            # mtools image spec of the ESP
# espsums IMG: "SHA-256  PATH" of every file on the ESP, read with mdir + mcopy
espsums() {
        mdir -/ -b -a -i "$(esp "$1")" ::/ | grep -v '/$' | while IFS= read -r f; do
                printf '%s  %s\n' "$(mcopy -n -i "$(esp "$1")" "$f" - | sha256sum | cut -d' ' -f1)" "${f#::}"
        done | sort -k2
}
# ntfssums PART: "SHA-256  SIZE  NAME" of every file in the root of the NTFS
# volume PART (the seed's recovery files), read with ntfsls and ntfscat (-f: also
# a volume marked for chkdsk)
ntfssums() {
        ntfsls -f "$1" | while IFS= read -r f; do
                printf '%s  %s  %s\n' "$(ntfscat -f "$1" "/$f" | sha256sum | cut -d' ' -f1)" \
                        "$(ntfscat -f "$1" "/$f" | wc -c)" "$f"
        done
}
# bcdobjs HIVE: "ID TYPE DESCRIPTION" of every BCD object, read with reglookup
bcdobjs() {
        reglookup -p /Objects "$1" 2>/dev/null | awk -F, '
                $1 ~ /^\/Objects\/[^\/]+\/Description\/Type$/ { split($1, a, "/"); t[a[3]] = $3 }
                $1 ~ /^\/Objects\/[^\/]+\/Elements\/12000004\/Element$/ { split($1, a, "/"); d[a[3]] = $3 }
                END { for (k in t) print k, t[k], d[k] }' | sort
}
# guid_bytes GUID: its 16 bytes as GPT and BCD store them, "2e,1c,35,96,..."
guid_bytes() {
        local g=${1//-/} i out
        g=${g,,}
        out="${g:6:2},${g:4:2},${g:2:2},${g:0:2},${g:10:2},${g:8:2},${g:14:2},${g:12:2}"
        for i in 16 18 20 22 24 26 28 30; do out="$out,${g:$i:2}"; done
        echo "$out"
}
