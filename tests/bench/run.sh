#!/bin/bash
# SPDX-License-Identifier: MIT
# Benchmarks of the image target on the seed's two 32 GiB sparse images.
# Prints figures; asserts nothing about time.
#
#   bash tests/bench/run.sh            # builds ./build if needed (scripts/build.sh)
#   BUILD=/tmp/b bash tests/bench/run.sh
#
# 1. `mbstate check` on the converged images vs standard tools reading the
#    same metadata and ESP files: sgdisk -p, blkid per partition, mdir, mcopy
#    of every ESP file | sha256sum, dd of the recovery partition | sha256sum
#    (and the same with openssl dgst, which uses SHA-NI like mbstate).
# 2. Block clone (the image target's CLONE_BLOCKS, through tests/e2e/mbimg)
#    of a 31.4 GiB partition holding 256 MiB of data in 64 pieces, vs
#    `cp --sparse=always` of the same bytes as a file.
# 3. Peak RSS of `apply` on the seed images (and of `check`).
# 4. `apply` of the seed's own site.yaml (mirror, firmware entries) on fresh
#    images, which re-reads the facts after each of its operations: with the
#    recovery-partition hash reused while the partition's layout fingerprint
#    is unchanged, vs MB_IMAGE_HASH_REUSE=0 (hashed again on every read).
# 5. Each monitoring format of check (tests/bench/monitoring.sh) as a ratio to
#    a plain check, wall and CPU time.
# Each timing is the best of $RUNS runs (default 3), with warm caches.
set -eu
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
RUNS=${RUNS:-3}
if [ ! -x "$BUILD/mbstate" ]; then
        [ "$BUILD" = build ] || { echo "run.sh: no $BUILD/mbstate" >&2; exit 1; }
        bash scripts/build.sh >/dev/null
fi
if [ ! -x /usr/bin/time ]; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
                DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
        fi
fi
MB=$BUILD/mbstate
MBIMG=$BUILD/engine/platform/image/mbimg
MKSEED=$BUILD/engine/platform/image/image-mkseed
SITE=tests/data/site-no-mirror.yaml
export MTOOLS_SKIP_CHECK=1 LC_ALL=C
T=$(mktemp -d "${TMPDIR:-/tmp}/mbstate-bench.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM

now() { date +%s.%N; }
# best N CMD...: the shortest wall time of N runs of CMD (seconds)
best() {
        local n=$1 i t0 t1 b=""; shift
        for ((i = 0; i < n; i++)); do
                t0=$(now); "$@" >/dev/null 2>&1 || { echo "bench: $* failed" >&2; exit 1; }; t1=$(now)
                b=$(echo "$t0 $t1 ${b:-1e9}" | awk '{d = $2 - $1; print (d < $3 ? d : $3)}')
        done
        echo "$b"
}
ratio() { echo "$1 $2" | awk '{printf "%.2f", $1 / $2}'; }
fmt() { echo "$1" | awk '{printf "%.2f s", $1}'; }

# ---- the seed images, converged ----
examples/seed/make-images "$T/seed" "$MKSEED" >/dev/null
mkdir "$T/c"
cp --sparse=always "$T/seed/disk0.img" "$T/seed/disk1.img" "$T/c/"
L=image:$T/c/disk0.img,$T/c/disk1.img
"$MB" apply "$SITE" --target "$L" >/dev/null 2>&1
"$MB" check "$SITE" --target "$L" >/dev/null 2>&1 || { echo "bench: check after apply is not 0" >&2; exit 1; }

# ---- 1. check vs standard tools ----
ESP=1048576 REC=33808187392 REC_LEN=549453824
tools() {       # tools SHA256-COMMAND: what check reads, with standard tools
        local sum=$1 img f o
        for img in "$T/c/disk0.img" "$T/c/disk1.img"; do
                sgdisk -p "$img"
                for o in $ESP $((206848 * 512)) 122683392 $REC; do blkid -p -O $o "$img" || true; done
                mdir -/ -b -a -i "$img@@$ESP" ::/ > "$T/list"
                grep -v '/$' "$T/list" | while IFS= read -r f; do
                        mcopy -n -i "$img@@$ESP" "$f" - | $sum
                done
                dd if="$img" bs=1M iflag=skip_bytes,count_bytes skip=$REC count=$REC_LEN status=none | $sum
        done
}
t_check=$(best "$RUNS" "$MB" check "$SITE" --target "$L")
t_tools=$(best "$RUNS" tools sha256sum)
t_tools_ssl=$(best "$RUNS" tools "openssl dgst -sha256")
nfiles=$(grep -vc '/$' "$T/list")

# ---- 2. block clone vs cp --sparse=always ----
OS_OFF=122683392 OS_LEN=33685504000
truncate -s $OS_LEN "$T/os.part"
head -c $((4 << 20)) /dev/urandom > "$T/chunk"
for ((i = 0; i < 64; i++)); do
        dd if="$T/chunk" of="$T/os.part" bs=1M seek=$((i * (OS_LEN >> 20) / 64)) conv=notrunc status=none
done
"$MKSEED" splice "$T/os.part" "$T/c/disk0.img" $OS_OFF        # the same bytes as disk0's OS partition
data_mib=$(du -m "$T/os.part" | cut -f1)
t_clone=$(best "$RUNS" "$MBIMG" exec "${L#image:}" 1 CLONE_BLOCKS disk=1 disk2=0 role=os)
cpone() { rm -f "$T/os.copy"; cp --sparse=always "$T/os.part" "$T/os.copy"; }
t_cp=$(best "$RUNS" cpone)
cpsync() { cpone; sync "$T/os.copy"; }          # the clone fsyncs the image it wrote
t_cpsync=$(best "$RUNS" cpsync)
t_noop=$(best "$RUNS" "$MBIMG" exec "${L#image:}" 1 DISK_ONLINE disk=1)   # driver start-up, GPT reads
cmp_ok=$(python3 - "$T/os.part" "$T/c/disk1.img" $OS_OFF $OS_LEN <<'PY'
import os, sys
a, b = os.open(sys.argv[1], os.O_RDONLY), os.open(sys.argv[2], os.O_RDONLY)
off, n = int(sys.argv[3]), int(sys.argv[4])
pos = 0
while pos < n:
    try:
        d = os.lseek(a, pos, os.SEEK_DATA)
    except OSError:
        break
    h = os.lseek(a, d, os.SEEK_HOLE)
    while d < h:
        k = min(1 << 22, h - d)
        if os.pread(a, k, d) != os.pread(b, k, off + d):
            print("DIFFERENT"); sys.exit()
        d += k
    pos = h
print("identical data")
PY
)
alloc1=$(du -m "$T/c/disk1.img" | cut -f1)

# ---- 3. peak RSS ----
peak() {        # peak CMD...: "VmHWM of the process itself (KiB) / max RSS incl. children (KiB)"
        local pid hwm=0 v
        /usr/bin/time -f '%M' -o "$T/time" "$@" >/dev/null 2>&1 &
        pid=$!
        while kill -0 $pid 2>/dev/null; do
                for p in $(pgrep -P $pid 2>/dev/null); do
                        v=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' /proc/$p/status 2>/dev/null || true)
                        [ -n "$v" ] && [ "$v" -gt "$hwm" ] && hwm=$v
                done
                sleep 0.02
        done
        wait $pid || true
        echo "$hwm $(cat "$T/time")"
}
mkdir "$T/r"
cp --sparse=always "$T/seed/disk0.img" "$T/seed/disk1.img" "$T/r/"
read -r rss_apply rss_apply_all < <(peak "$MB" apply "$SITE" --target "image:$T/r/disk0.img,$T/r/disk1.img")
read -r rss_check rss_check_all < <(peak "$MB" check "$SITE" --target "image:$T/r/disk0.img,$T/r/disk1.img")

# ---- 4. apply with and without the hash reuse ----
SEEDL=image:$T/a/disk0.img,$T/a/disk1.img
[ -f "$T/seed/vars.fd" ] && SEEDL=$SEEDL,nvram=$T/a/vars.fd
copy_only() { rm -rf "$T/a" && mkdir "$T/a" && cp --sparse=always "$T/seed"/* "$T/a/"; }
apply_fresh() { copy_only && "$MB" apply examples/seed/site.yaml --target "$SEEDL"; }
apply_fresh_nr() { copy_only && MB_IMAGE_HASH_REUSE=0 "$MB" apply examples/seed/site.yaml --target "$SEEDL"; }
t_copy=$(best "$RUNS" copy_only)
t_apply=$(best "$RUNS" apply_fresh)
t_apply_nr=$(best "$RUNS" apply_fresh_nr)
a1=$(echo "$t_apply $t_copy" | awk '{print $1 - $2}')
a0=$(echo "$t_apply_nr $t_copy" | awk '{print $1 - $2}')

echo "mbstate benchmarks ($(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg); best of $RUNS)"
printf '%-70s %s\n' "check on the converged seed images (2 x 32 GiB)" "$(fmt "$t_check")"
printf '%-70s %s\n' "  standard tools, same reads ($nfiles ESP files x 2, 2 x 524 MiB), sha256sum" "$(fmt "$t_tools")  (check is $(ratio "$t_tools" "$t_check")x faster)"
printf '%-70s %s\n' "  the same with openssl dgst -sha256 (SHA-NI, as mbstate)" "$(fmt "$t_tools_ssl")  (check is $(ratio "$t_tools_ssl" "$t_check")x faster)"
printf '%-70s %s\n' "block clone of a 31.4 GiB partition holding $data_mib MiB (64 pieces)" "$(fmt "$t_clone")  ($cmp_ok)"
printf '%-70s %s\n' "  cp --sparse=always of the same bytes" "$(fmt "$t_cp")  (clone/cp time ratio $(ratio "$t_clone" "$t_cp"))"
printf '%-70s %s\n' "  cp --sparse=always + sync of the copy (the clone fsyncs)" "$(fmt "$t_cpsync")  (clone/cp time ratio $(ratio "$t_clone" "$t_cpsync"))"
printf '%-70s %s\n' "  of the clone's time: driver start-up and GPT reads (a no-op op)" "$(fmt "$t_noop")"
printf '%-70s %s\n' "  disk1.img allocated after the clone" "$alloc1 MiB"
printf '%-70s %s\n' "peak RSS of apply on the seed images: mbstate itself" "$((rss_apply / 1024)) MiB ($rss_apply KiB)"
printf '%-70s %s\n' "  with the tools it runs (mkntfs, mkfs.fat, mtools; /usr/bin/time)" "$((rss_apply_all / 1024)) MiB"
printf '%-70s %s\n' "peak RSS of check: mbstate itself / with tools" "$((rss_check / 1024)) MiB / $((rss_check_all / 1024)) MiB"
printf '%-70s %s\n' "apply of the seed (mirror, 12 operations) on fresh images" "$(fmt "$a1")"
printf '%-70s %s\n' "  hashing the recovery partitions on every re-read (MB_IMAGE_HASH_REUSE=0)" "$(fmt "$a0")  (reuse is $(ratio "$a0" "$a1")x faster)"

# ---- 5. the monitoring formats of check, as ratios to a plain check ----
echo
BUILD=$BUILD RUNS=$RUNS bash tests/bench/monitoring.sh
