#!/bin/bash
# SPDX-License-Identifier: MIT
# What `check` costs as the recovery partition grows (issue: check at the
# cost of metadata). Prints figures as ratios of one run; asserts nothing
# about time.
#
#   bash tests/bench/check-cost.sh            # SIZES="0.5 2 8" (GiB), builds ./build if needed
#   SIZES="0.5 2" BUILD=/tmp/b bash tests/bench/check-cost.sh
#
# For each size: the seed's disk0 grown by that much, its recovery partition
# re-made that large and filled with data (a Winre.wim of random bytes written
# through ntfscp, so the partition is dense on disk, as a real one is), apply
# (which clones it to disk1 block for block), a first `check --deep`, then:
#   - the default check (best of $RUNS): wall time and the bytes mbstate
#     read (rchar of /proc/PID/io, the process's own reads; the mtools it
#     starts read the ESPs, the same at every size);
#   - check --deep against sha256sum (and openssl dgst, SHA-NI as mbstate)
#     of the two recovery partitions' bytes;
#   - the programs one check starts (strace -f, successful execve);
#   - the standard tools reading the same metadata: sgdisk -p, mdir -/ -b -a
#     of both ESPs, ntfsls -R of both recovery volumes (from partition files
#     cut out beforehand: ntfs-3g's tools cannot read at an offset).
# Needs about 2.2 x the largest size free in $TMPDIR. C: is left as the seed
# makes it (sparse): check reads only its boot sector.
set -eu
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
RUNS=${RUNS:-3}
SIZES=${SIZES:-"0.5 2 8"}
if [ ! -x "$BUILD/mbstate" ]; then
        [ "$BUILD" = build ] || { echo "check-cost.sh: no $BUILD/mbstate" >&2; exit 1; }
        bash scripts/build.sh >/dev/null
fi
MB=$BUILD/mbstate
MKSEED=$BUILD/engine/platform/image/image-mkseed
SITE=tests/data/site-no-mirror.yaml
export MTOOLS_SKIP_CHECK=1 LC_ALL=C
T=$(mktemp -d "${TMPDIR:-/tmp}/mbstate-bench.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM
REC_LBA=66031616 REC_OFF=33808187392 ESP_OFF=1048576
REC_TYPE=de94bba4-06d1-4d40-a16a-bfd50179d6ac

# run CMD...: "SECONDS RCHAR" of the best of $RUNS runs (rchar read from the
# exited process before it is reaped)
run() {
        python3 - "$RUNS" "$@" <<'PY'
import os, sys, time
n, cmd = int(sys.argv[1]), sys.argv[2:]
best = None
for _ in range(n):
    devnull = os.open(os.devnull, os.O_WRONLY)
    t0 = time.monotonic()
    pid = os.posix_spawnp(cmd[0], cmd, os.environ,
                          file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)])
    os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
    t = time.monotonic() - t0
    io = dict(l.split(": ") for l in open("/proc/%d/io" % pid).read().splitlines())
    _, status = os.waitpid(pid, 0)
    os.close(devnull)
    if os.waitstatus_to_exitcode(status) not in (0, 2):
        sys.exit("bench: %s exited %d" % (" ".join(cmd), os.waitstatus_to_exitcode(status)))
    if best is None or t < best[0]:
        best = (t, int(io["rchar"]))
print("%.3f %d" % best)
PY
}
# tools CMD...: wall seconds of the best of $RUNS runs of a shell command
tools() {
        python3 - "$RUNS" "$1" <<'PY'
import subprocess, sys, time
best = None
for _ in range(int(sys.argv[1])):
    t0 = time.monotonic()
    subprocess.run(["bash", "-c", sys.argv[2]], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t = time.monotonic() - t0
    best = t if best is None or t < best else best
print("%.3f" % best)
PY
}
execs() {
        strace -f -qq -e trace=execve -o "$T/strace" "$@" >/dev/null 2>&1 || [ $? = 2 ]
        echo $(($(grep -c 'execve(.* = 0$' "$T/strace") - 1))
}
mib() { echo "$1" | awk '{printf "%.1f MiB", $1 / 1048576}'; }
ratio() { echo "$1 $2" | awk '{printf "%.2f", $1 / $2}'; }

examples/seed/make-images "$T/seed" "$MKSEED" >/dev/null
declare -A CHECK READ DEEP DREAD SHA OSSL
echo "free space in ${TMPDIR:-/tmp}: $(df -h --output=avail "${TMPDIR:-/tmp}" | tail -1 | tr -d ' ')"
for s in $SIZES; do
        bytes=$(awk -v s="$s" 'BEGIN { printf "%.0f", s * 1073741824 }')   # (mawk's %d stops at 2^31 - 1)
        d=$T/s$s
        mkdir "$d"
        cp --sparse=always "$T/seed/disk0.img" "$T/seed/disk1.img" "$d/"
        size=$((REC_OFF + bytes + 1048576))
        truncate -s "$size" "$d/disk0.img" "$d/disk1.img"
        guid=$(sgdisk -i 4 "$d/disk0.img" 2>/dev/null | sed -n 's/^Partition unique GUID: //p')
        sgdisk -e -d 4 -n "4:$REC_LBA:$((REC_LBA + bytes / 512 - 1))" -t "4:$REC_TYPE" -u "4:$guid" \
                -c 4:"" -A 4:set:0 -A 4:set:63 "$d/disk0.img" >/dev/null 2>&1  # (it warns of the backup GPT it moves)
        truncate -s "$bytes" "$d/ntfs"
        mkntfs -F -Q -q -s 512 -p $REC_LBA -H 255 -S 63 "$d/ntfs" >/dev/null 2>&1
        # a dense Winre.wim of 85 % of the partition (the rest: NTFS metadata and
        # its MFT zone): AES-CTR of zeros, fast random-looking bytes
        openssl enc -aes-128-ctr -nosalt -pass pass:mbstate-bench -pbkdf2 </dev/zero 2>/dev/null |
                head -c $((bytes / 100 * 85)) > "$d/fill"
        ntfscp -q -f "$d/ntfs" "$d/fill" /Winre.wim >/dev/null
        printf '<?xml version="1.0" encoding="utf-8"?><WindowsRE version="2.0"/>\n' > "$d/reagent"
        ntfscp -q -f "$d/ntfs" "$d/reagent" /ReAgent.xml >/dev/null
        rm -f "$d/fill"
        dd if="$d/ntfs" of="$d/disk0.img" bs=4M oflag=seek_bytes seek=$REC_OFF conv=notrunc status=none
        rm -f "$d/ntfs"
        L=image:$d/disk0.img,$d/disk1.img
        "$MB" apply "$SITE" --target "$L" --state-dir "$d/state" >/dev/null 2>&1
        "$MB" check "$SITE" --target "$L" --state-dir "$d/state" --deep >/dev/null 2>&1
        read -r t r < <(run "$MB" check "$SITE" --target "$L" --state-dir "$d/state")
        CHECK[$s]=$t READ[$s]=$r
        read -r t r < <(RUNS=1 run "$MB" check "$SITE" --target "$L" --state-dir "$d/state" --deep)
        DEEP[$s]=$t DREAD[$s]=$r
        SHA[$s]=$(RUNS=1 tools "for i in 0 1; do dd if='$d/disk'\$i.img bs=4M iflag=skip_bytes,count_bytes skip=$REC_OFF count=$bytes status=none | sha256sum; done")
        OSSL[$s]=$(RUNS=1 tools "for i in 0 1; do dd if='$d/disk'\$i.img bs=4M iflag=skip_bytes,count_bytes skip=$REC_OFF count=$bytes status=none | openssl dgst -sha256; done")
        n=$(execs "$MB" check "$SITE" --target "$L" --state-dir "$d/state")
        nd=$(execs "$MB" check "$SITE" --target "$L" --state-dir "$d/state" --deep)
        for i in 0 1; do
                dd if="$d/disk$i.img" of="$d/rec$i" bs=4M iflag=skip_bytes,count_bytes skip=$REC_OFF count=$bytes \
                        conv=sparse status=none
        done
        meta=$(tools "for i in 0 1; do sgdisk -p '$d/disk'\$i.img; mdir -/ -b -a -i '$d/disk'\$i.img@@$ESP_OFF ::/; ntfsls -f -R -l '$d/rec'\$i; done")
        printf '%-8s check %6.3f s, read %s (%s bytes); --deep %6.3f s (read %s) vs sha256sum %6.3f s (%sx), openssl dgst %6.3f s (%sx); processes per check %s (--deep %s); standard tools on the same metadata %6.3f s (check/tools %s)\n' \
                "$s GiB" "${CHECK[$s]}" "$(mib "${READ[$s]}")" "${READ[$s]}" "${DEEP[$s]}" "$(mib "${DREAD[$s]}")" "${SHA[$s]}" \
                "$(ratio "${DEEP[$s]}" "${SHA[$s]}")" "${OSSL[$s]}" "$(ratio "${DEEP[$s]}" "${OSSL[$s]}")" \
                "$n" "$nd" "$meta" "$(ratio "${CHECK[$s]}" "$meta")"
        rm -rf "$d"
done
set -- $SIZES
first=$1; last=${!#}
echo "default check, $last GiB / $first GiB recovery: time ratio $(ratio "${CHECK[$last]}" "${CHECK[$first]}") (target <= 1.2), bytes read ratio $(ratio "${READ[$last]}" "${READ[$first]}")"
