#!/bin/bash
# SPDX-License-Identifier: MIT
# Trust (GitHub issue 7): the image target refuses device files unless told,
# and two applies on the same images at once never both write.
#   - a character device (/dev/null) is refused as "not a regular file";
#   - a block device is refused naming the device, and read with
#     --allow-block-devices: a loop device over a copy of the seed's disk0
#     (losetup), or when loop devices cannot be attached, an unattached loop
#     device node (then the flag gets past the refusal to "too small");
#   - two applies at once: the second, with --lock-timeout 0, exits 1 naming
#     the lock and writes nothing; a third that waits for the lock finds
#     nothing to do; the images are converged once.
# Runs from the source root as: trust.sh MBSTATE MKSEED MAKE_IMAGES
set -u
MB=${1:?usage: $0 MBSTATE MKSEED MAKE_IMAGES}
MKSEED=${2:?mkseed}
MAKE_IMAGES=${3:?make-images}
SITE=tests/data/site-no-mirror.yaml
export MTOOLS_SKIP_CHECK=1 LC_ALL=C
unset MB_IMAGE_ALLOW_BLOCK_DEVICES
T=$(mktemp -d "${TMPDIR:-/tmp}/mbstate-trust.XXXXXX")
LOOP=
cleanup() { [ -n "$LOOP" ] && losetup -d "$LOOP" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
trap 'exit 143' INT TERM
PASS=0 FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok: $*"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL: $*"; }
# samebytes A B: the two files hold the same bytes (sizes and contents),
# reading only where either has data (SEEK_DATA/SEEK_HOLE): cmp would read
# the 32 GiB of holes of each sparse image.
samebytes() {
        python3 - "$1" "$2" <<'PY'
import os, sys
fa, fb = (os.open(p, os.O_RDONLY) for p in sys.argv[1:3])
size = os.fstat(fa).st_size
if os.fstat(fb).st_size != size:
    sys.exit(1)
def extents(fd):
    off, out = 0, []
    while off < size:
        try:
            d = os.lseek(fd, off, os.SEEK_DATA)
        except OSError:
            break
        h = os.lseek(fd, d, os.SEEK_HOLE)
        out.append((d, h))
        off = h
    return out
for d, h in sorted(extents(fa) + extents(fb)):
    pos = d
    while pos < h:
        n = min(1 << 20, h - pos)
        if os.pread(fa, n, pos) != os.pread(fb, n, pos):
            sys.exit(1)
        pos += n
PY
}
# expect CODE PATTERN DESCRIPTION ARGS...: mbstate ARGS exits CODE and its
# stderr+stdout match PATTERN (grep -E)
expect() {
        local code=$1 pat=$2 d=$3 rc; shift 3
        "$MB" "$@" >"$T/out" 2>&1; rc=$?
        if [ "$rc" = "$code" ] && grep -Eq -- "$pat" "$T/out"; then
                ok "$d (exit $rc)"
        else
                bad "$d: exit $rc (expected $code), output: $(head -c 400 "$T/out")"
        fi
}

"$MAKE_IMAGES" "$T/seed" "$MKSEED" >/dev/null || { echo "FAIL: make-images"; exit 1; }

# ---- device files ----
expect 1 "'/dev/null' is not a regular file" "a character device is refused" \
        facts --target image:/dev/null
expect 1 "'/dev/null' is not a regular file" "a character device is refused with --allow-block-devices too" \
        facts --target image:/dev/null --allow-block-devices
expect 1 "is not a regular file" "apply refuses a character device as disk 1" \
        apply "$SITE" --target "image:$T/seed/disk0.img,/dev/zero"
if LOOP=$(losetup -f --show -r "$T/seed/disk0.img" 2>/dev/null) && [ -b "$LOOP" ]; then
        expect 1 "'$LOOP' is a block device, not an image file; refusing" \
                "a block device (loop over the seed's disk0) is refused" facts --target "image:$LOOP"
        expect 0 "type_guid: de94bba4-06d1-4d40-a16a-bfd50179d6ac" \
                "--allow-block-devices: the loop device's GPT is read (4 partitions)" \
                facts --target "image:$LOOP" --allow-block-devices
        n=$(grep -c '^ *- number:' "$T/out")
        [ "$n" -ge 5 ] && ok "facts of $LOOP: disk and 4 partitions" || bad "facts of $LOOP: $n numbered entries"
        # root may open a write-protected device for writing: the flag is read from the device
        grep -q '^ *read_only: true' "$T/out" && ok "facts: the read-only loop device is read_only" ||
                bad "facts of the read-only $LOOP do not say read_only: true"
        mkdir -p "$T/ro" && cp --sparse=always "$T/seed/disk1.img" "$T/ro/"
        expect 1 "$LOOP \\(disk 0\\): the block device is read-only" \
                "apply with disk0 on a read-only loop device is refused before any write, naming it" \
                apply "$SITE" --target "image:$LOOP,$T/ro/disk1.img" --allow-block-devices
        samebytes "$T/seed/disk1.img" "$T/ro/disk1.img" && ok "disk1 beside the read-only device was not written" ||
                bad "disk1 was written although disk0 is read-only"
        if ls -A /dev | grep -q '^\.mbstate-'; then
                bad "temporary files were made in /dev, beside the device: $(ls -A /dev | grep '^\.mbstate-')"
        else
                ok "no temporary file beside the device (in /dev)"
        fi
        "$MB" facts --target "image:$LOOP" --allow-block-devices > "$T/out" 2>&1
        grep -q "^ *physical_sector_size: $(blockdev --getpbsz "$LOOP")\$" "$T/out" && ok "facts: the loop device's physical sector size (BLKPBSZGET)" ||
                bad "facts of $LOOP have no physical_sector_size"
        losetup -d "$LOOP"; LOOP=
        # a 4096-byte-sector device (4Kn): its facts are in 4096-byte sectors
        # (BLKSSZGET); a size given for it must be its own; a layout across
        # it and a 512-byte disk is refused in plan before anything is written
        mkdir -p "$T/4k" && cp --sparse=always "$T/seed/disk0.img" "$T/seed/disk1.img" "$T/4k/"
        if LOOP=$(losetup -f --show --sector-size 4096 "$T/4k/disk1.img" 2>/dev/null) && [ -b "$LOOP" ]; then
                "$MB" facts --target "image:$LOOP" --allow-block-devices > "$T/out" 2>&1
                grep -q '^ *sector_size: 4096$' "$T/out" && ok "facts of a 4096-byte-sector loop device: sector_size 4096 (BLKSSZGET)" ||
                        bad "facts of the 4096-byte-sector $LOOP: $(head -c 400 "$T/out")"
                expect 1 "'$LOOP' was given as 512-byte sectors but the device has 4096-byte logical sectors" \
                        "a sector size given for a device that is not its own: refused, naming both" \
                        facts --target "image:$LOOP:512" --allow-block-devices
                expect 1 "has 512-byte logical sectors, disk .* 4096-byte" \
                        "apply with a 512-byte disk 0 and a 4096-byte disk 1: refused in plan" \
                        apply "$SITE" --target "image:$T/4k/disk0.img,$LOOP" --allow-block-devices
                losetup -d "$LOOP"; LOOP=
                samebytes "$T/seed/disk1.img" "$T/4k/disk1.img" && samebytes "$T/seed/disk0.img" "$T/4k/disk0.img" &&
                        ok "nothing was written to the 4096-byte device or beside it" ||
                        bad "the 4096-byte device or disk 0 was written"
        else
                echo "note: losetup cannot make a 4096-byte-sector loop device here: that branch is not tested"
        fi
else
        # No loop device can be attached here: an unattached one still is a
        # block device (size 0).
        node=
        for d in /dev/loop*; do [ -b "$d" ] && { node=$d; break; }; done
        if [ -z "$node" ] && mknod "$T/blk" b 7 0 2>/dev/null; then node=$T/blk; fi
        if [ -n "$node" ]; then
                echo "note: losetup cannot attach a loop device here; using the unattached $node"
                expect 1 "'$node' is a block device, not an image file; refusing" \
                        "a block device is refused" facts --target "image:$node"
                expect 1 "too small to be a disk" \
                        "--allow-block-devices gets past the refusal (to the size check)" \
                        facts --target "image:$node" --allow-block-devices
        else
                echo "note: no block device and no mknod here: the block-device branch is not tested"
        fi
fi

# ---- read-only files, for root too ----
# root passes access(W_OK) on any file; a file whose mode has no write bit is
# read-only to mbstate all the same (issue: disks as they come).
R=$T/rofiles
mkdir -p "$R" && cp --sparse=always "$T/seed/disk0.img" "$T/seed/disk1.img" "$R/"
[ -f "$T/seed/vars.fd" ] && cp "$T/seed/vars.fd" "$R/"
chmod 444 "$R/disk1.img"
RL="image:$R/disk0.img,$R/disk1.img"
expect 0 "read_only: true" "facts: disk1.img with mode 444 is read_only" facts --target "$RL"
[ "$(grep -c '^ *read_only: true' "$T/out")" = 1 ] && ok "facts: only disk1 is read_only" ||
        bad "facts: $(grep -c '^ *read_only: true' "$T/out") disks read_only, expected 1"
expect 1 "$R/disk1.img \\(disk 1\\): the image file is read-only" \
        "apply with disk1.img mode 444 is refused before any write, naming it" apply "$SITE" --target "$RL"
samebytes "$T/seed/disk0.img" "$R/disk0.img" && samebytes "$T/seed/disk1.img" "$R/disk1.img" &&
        ok "byte compare: neither image was written" || bad "an image was written although disk1 is read-only"
chmod 644 "$R/disk1.img"; chmod 444 "$R/disk0.img"
expect 2 "is the system disk and is read-only; mbstate never makes the system disk writable" \
        "plan with the system disk's image mode 444 notes it and proposes no change to make it writable" \
        plan "$SITE" --target "$RL"
grep -q 'primary (disk 0): .*-> online, writable' "$T/out" &&
        bad "the plan proposes to make the system disk writable" ||
        ok "the plan does not propose to make the system disk writable"
expect 1 "$R/disk0.img \\(disk 0\\): the image file is read-only" \
        "apply with disk0.img mode 444 is refused before any write, naming it" apply "$SITE" --target "$RL"
samebytes "$T/seed/disk0.img" "$R/disk0.img" && samebytes "$T/seed/disk1.img" "$R/disk1.img" &&
        ok "byte compare: neither image was written" || bad "an image was written although disk0 is read-only"
if [ -f "$R/vars.fd" ]; then
        chmod 644 "$R/disk0.img"; chmod 444 "$R/vars.fd"
        expect 1 "vars.fd: refusing to write firmware entry .*the variable store is read-only" \
                "apply with vars.fd mode 444 refuses the firmware entry, naming the store" \
                apply examples/seed/site.yaml --target "$RL,nvram=$R/vars.fd"
        cmp -s "$T/seed/vars.fd" "$R/vars.fd" && ok "byte compare: vars.fd was not written" ||
                bad "vars.fd was written although its mode is 444"
        # a store of another size than its firmware volume (padded to 1 MiB)
        chmod 644 "$R/vars.fd"
        cp "$R/vars.fd" "$R/pad.fd" && truncate -s 1M "$R/pad.fd" && cp "$R/pad.fd" "$R/pad.orig"
        cp --sparse=always "$R/disk0.img" "$R/disk0.orig"
        expect 1 "pad.fd: the file is 1048576 bytes, but its firmware volume is 540672 bytes" \
                "apply with a variable store padded to 1 MiB is refused, naming the file and both sizes" \
                apply examples/seed/site.yaml --target "$RL,nvram=$R/pad.fd"
        samebytes "$R/pad.fd" "$R/pad.orig" && samebytes "$R/disk0.img" "$R/disk0.orig" &&
                ok "byte compare: neither the padded store nor disk0 was written" ||
                bad "the padded store or disk0 was written"
else
        echo "note: no vars.fd (ovmf not installed): the read-only variable store is not tested"
fi

# ---- one apply at a time ----
D=$T/seed
L="image:$D/disk0.img,$D/disk1.img"
[ -f "$D/vars.fd" ] && L="$L,nvram=$D/vars.fd"
# The default locks: one per image file, by device and inode.
unset MBSTATE_LOCK
"$MB" apply "$SITE" --target "$L" >"$T/a.out" 2>"$T/a.err" &
a=$!
while kill -0 "$a" 2>/dev/null && ! grep -q '^\[1\] ' "$T/a.err"; do sleep 0.05; done
sum_before=$(cd "$D" && ls -l --time-style=+%s.%N disk1.img)
"$MB" apply "$SITE" --target "$L" --lock-timeout 0 >"$T/b.out" 2>&1; b=$?
if [ "$b" = 1 ] && grep -Eq "another mbstate run holds the lock /[^ ]*mbstate-[^ ]*[0-9a-f]{16}\.lock" "$T/b.out"; then
        ok "a second apply during the first exits 1 naming the lock"
else
        bad "second apply: exit $b: $(head -c 300 "$T/b.out")"
fi
# the same files named otherwise: through a symbolic link, in the other
# order, without the variable store; and one of them alone
ln -s "$D" "$T/alias"
for other in "image:$T/alias/disk1.img,$D/./disk0.img" "image:$T/alias/disk1.img"; do
        "$MB" apply "$SITE" --target "$other" --lock-timeout 0 >"$T/b2.out" 2>&1; b2=$?
        if [ "$b2" = 1 ] && grep -q "another mbstate run holds the lock" "$T/b2.out"; then
                ok "an apply naming the same image files as $other during the first exits 1 naming the lock"
        else
                bad "apply as $other during the first: exit $b2: $(head -c 300 "$T/b2.out")"
        fi
done
"$MB" check "$SITE" --target "$L" --lock-timeout 0 >"$T/c0.out" 2>&1; c0=$?
if kill -0 "$a" 2>/dev/null; then
        [ "$c0" = 1 ] && grep -q "holds the lock" "$T/c0.out" &&
                ok "check during the apply does not read a half-done machine (lock)" ||
                bad "check during the apply: exit $c0: $(head -c 300 "$T/c0.out")"
fi
"$MB" apply "$SITE" --target "$L" --lock-timeout 20m >"$T/c.out" 2>"$T/c.err"; c=$?
wait "$a"; a_rc=$?
if [ "$a_rc" = 0 ] && grep -q '^converged: [0-9]* changes applied' "$T/a.out"; then
        ok "the first apply converged: $(grep '^converged' "$T/a.out")"
else
        bad "first apply: exit $a_rc: $(tail -3 "$T/a.err")"
fi
if [ "$c" = 0 ] && grep -q 'No changes' "$T/c.out" && ! grep -q '^\[1\]' "$T/c.err"; then
        ok "an apply that waited for the lock found nothing to do"
else
        bad "waiting apply: exit $c: $(head -c 300 "$T/c.out" "$T/c.err")"
fi
expect 0 "in desired state" "check after both" check "$SITE" --target "$L"
[ -n "$sum_before" ] || bad "no listing"

# ---- images in use by a running VM (QEMU's OFD locks) ----
# fresh seed images (those above are converged by now): apply has work to do
U=$T/inuse
"$MAKE_IMAGES" "$U" "$MKSEED" >/dev/null || bad "make-images for the in-use images"
UL="image:$U/disk0.img,$U/disk1.img"
[ -f "$U/vars.fd" ] && UL="$UL,nvram=$U/vars.fd"
vm() {          # vm LOG: qemu -S (stopped, holding its images) in the background, for 120 s at most
        timeout 120 qemu-system-x86_64 -S -display none -nodefaults -machine q35 \
                -drive file="$U/disk0.img",format=raw,if=virtio \
                -drive file="$U/disk1.img",format=raw,if=virtio >"$1" 2>&1 &
        QEMU=$!
}
if ! command -v qemu-system-x86_64 >/dev/null; then
        bad "qemu-system-x86_64 is missing (scripts/deps.sh installs qemu-system-x86)"
else
        vm "$T/qemu1.log"
        for _ in $(seq 100); do grep -q "^.*OFDLCK.*:$(stat -c %i "$U/disk1.img") " /proc/locks && break; sleep 0.1; done
        cp --sparse=always "$U/disk0.img" "$T/inuse0.orig"; cp --sparse=always "$U/disk1.img" "$T/inuse1.orig"
        expect 1 "$U/disk0.img \\(disk 0\\): in use by qemu-system-x86_64 \\(pid [0-9]+\\), which holds a lock on it" \
                "apply on images a running QEMU holds is refused, naming the file and the holder" \
                apply "$SITE" --target "$UL"
        samebytes "$U/disk0.img" "$T/inuse0.orig" && samebytes "$U/disk1.img" "$T/inuse1.orig" &&
                ok "byte compare: the images of the running VM were not written" ||
                bad "an image of the running VM was written"
        expect 0 "path: $U/disk1.img" "facts (read only) still reads the images of the running VM" \
                facts --target "$UL"
        kill "$QEMU"; wait "$QEMU" 2>/dev/null
        # while apply runs it holds the same locks: a VM started meanwhile cannot open the images
        "$MB" apply "$SITE" --target "$UL" >"$T/ua.out" 2>"$T/ua.err" &
        a=$!
        while kill -0 "$a" 2>/dev/null && ! grep -q '^\[1\] ' "$T/ua.err"; do sleep 0.05; done
        vm "$T/qemu2.log"
        wait "$QEMU"; q=$?
        wait "$a"; a_rc=$?
        [ "$q" != 0 ] && [ "$q" != 124 ] && grep -q 'Failed to get "write" lock' "$T/qemu2.log" &&
                ok "a VM started during apply fails: $(head -1 "$T/qemu2.log")" ||
                bad "a VM started during apply: exit $q: $(head -c 300 "$T/qemu2.log")"
        [ "$a_rc" = 0 ] && ok "that apply converged (exit 0)" || bad "apply during the VM start: exit $a_rc: $(tail -3 "$T/ua.err")"
fi

# ---- a comma in an image path: doubled, as in QEMU's options ----
C="$T/a,b"
mkdir -p "$C" && cp --sparse=always "$T/seed/disk0.img" "$T/seed/disk1.img" "$C/"
expect 0 "path: $C/disk1.img" "facts: 'a,,b/disk1.img' in image: names the file a,b/disk1.img" \
        facts --target "image:$T/a,,b/disk0.img,$T/a,,b/disk1.img"
expect 1 "cannot open disk 0 image '$T/a'" "a single comma still separates files" \
        facts --target "image:$C/disk0.img"

echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
