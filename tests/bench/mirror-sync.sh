#!/bin/sh
# SPDX-License-Identifier: MIT
# Benchmark (not a test): the image target's mirror sync of the seed's
# 31.4 GiB os extent holding ~300 MiB of real data, against
# `cp --sparse=always` of the same bytes, as a ratio in one run. Prints the
# figures; asserts nothing about time.
#
# Usage: tests/bench/mirror-sync.sh [BUILD_DIR]   (default ./build)
#   needs BUILD_DIR/engine/platform/image/{mbimg,image-mkseed}
set -eu
B=${1:-build}
MBIMG=$B/engine/platform/image/mbimg
MKSEED=$B/engine/platform/image/image-mkseed
HERE=$(cd "$(dirname "$0")/../.." && pwd)
[ -x "$MBIMG" ] && [ -x "$MKSEED" ] || { echo "mirror-sync: build first ($MBIMG, $MKSEED)" >&2; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/mbstate-bench.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM
now() { date +%s.%N; }
ms() { echo "$1 $2" | awk '{ printf "%.0f", ($2 - $1) * 1000 }'; }

"$HERE/examples/seed/make-images" "$T" "$MKSEED" >/dev/null
L=$T/disk0.img,$T/disk1.img
OS_FIRST=239616 OS_LAST=66031615
OS_OFF=$((OS_FIRST * 512)) OS_LEN=$(((OS_LAST - OS_FIRST + 1) * 512))
# ~300 MiB of incompressible data at three places of C: (past NTFS's own metadata)
for at in 1 12 27; do
        head -c $((100 * 1024 * 1024)) /dev/urandom |
                dd of="$T/disk0.img" bs=1M seek=$((OS_OFF / 1048576 + at * 1024)) conv=notrunc status=none
done

# the steps before the mirror, one operation at a time
x() { "$MBIMG" exec "$L" "$@" >/dev/null 2>&1 || { echo "mirror-sync: $* failed" >&2; "$MBIMG" exec "$L" "$@"; exit 1; }; }
x 1 DISK_INIT_GPT disk=1
x 1 PART_CREATE disk=1 role=efi first=2048 last=206847 type=c12a7328-f81f-11d2-ba4b-00a0c93ec93b
x 1 PART_CREATE disk=1 role=msr first=206848 last=239615 type=e3c9e316-0b5c-4db8-817d-f92df00215ae
x 0,1 CONVERT_DYNAMIC disk=0
x 0,1 CONVERT_DYNAMIC disk=1
data=$(du -B1 "$T/disk0.img" | cut -f1)

t0=$(now)
x 0,1 MIRROR_ADD disk=1 disk2=0 role=os first=$OS_FIRST last=$OS_LAST \
        type=ebd0a0a2-b9e5-4433-87c0-68b6b72699c7 "name=Basic data partition"
t1=$(now)

# the same bytes through cp: the extent's data stretches into a sparse file
# of the extent's size first (not timed)
python3 - "$T/disk0.img" $OS_OFF $OS_LEN "$T/extent.src" <<'EOF'
import os, sys
src, base, n, dst = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
with open(src, 'rb') as f, open(dst, 'wb') as g:
    g.truncate(n); fd = f.fileno(); off = base
    while off < base + n:
        try:
            d = os.lseek(fd, off, os.SEEK_DATA)
        except OSError:
            break
        if d >= base + n:
            break
        e = min(os.lseek(fd, d, os.SEEK_HOLE), base + n)
        f.seek(d); g.seek(d - base)
        while d < e:
            b = f.read(min(e - d, 1 << 22)); g.write(b); d += len(b)
        off = e
EOF
t2=$(now)
cp --sparse=always "$T/extent.src" "$T/extent.dst"
sync -f "$T/extent.dst"
t3=$(now)

m=$(ms "$t0" "$t1") c=$(ms "$t2" "$t3")
echo "os extent: $((OS_LEN / 1048576)) MiB apparent, $(du -B1M "$T/extent.src" | cut -f1) MiB data (disk0.img holds $((data / 1048576)) MiB)"
echo "MIRROR_ADD (sparse copy + fsync, LDM commit on both disks, GPT, BCD entry): ${m} ms"
echo "cp --sparse=always of the same bytes (+ sync):                             ${c} ms"
echo "ratio mirror/cp: $(echo "$m $c" | awk '{ printf "%.2f", $1 / ($2 > 0 ? $2 : 1) }')"
