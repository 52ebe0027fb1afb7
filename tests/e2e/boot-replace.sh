#!/bin/bash
# SPDX-License-Identifier: MIT
#
# After each disk replacement, each disk boots alone under the real firmware
# and reaches an OS loader on that same disk (issue 16, item 5, cases a-d).
# The seed images (examples/seed/make-images, without Secure Boot) are
# converged by `mbstate apply examples/seed/site.yaml`, then one disk is
# lost and replaced:
#   (a) the secondary replaced by a blank 32 GiB disk (examples/seed/site.yaml);
#   (b) the primary replaced, the survivor listed first
#       (examples/replacement/site.yaml);
#   (c) the primary replaced, the survivor listed second: the target names
#       the ESP the machine booted from (booted=GUID of the survivor's ESP),
#       which makes the survivor the system disk;
#   (d) the primary replaced by a larger blank disk (40 GiB), survivor first;
#   (o) no failure: the converged pair listed the other way round.
# After `apply`, `mbstate check` must exit 0, and each disk, attached alone,
# is booted by OVMF (OVMF_CODE_4M.fd, no Secure Boot) under QEMU. From the
# serial transcript:
#   - the first program the firmware starts is a Windows Boot Manager entry
#     ("BdsDxe: starting Boot#### "Windows Boot Manager..." from HD(...,GUID,...)
#     /\EFI\Microsoft\Boot\bootmgfw.efi") whose device path names that disk's
#     ESP: not the removable-media fallback, a DVD or the shell;
#   - the stand-in boot manager says it runs from that ESP (MBSTATE-BOOT);
#   - the stand-in OS loader, \Windows\System32\winload.efi on C:, read by
#     the boot manager from a partition of its own disk, says it was read
#     from that disk's os plex (the GPT entry at the plex's offset in
#     `mbstate facts`) and prints that disk's GPT disk GUID (MBSTATE-LOADER).
#     A boot or system volume on a GPT dynamic disk keeps an entry in the GUID
#     partition table (diskpart's `retain`, Microsoft's Windows Commands
#     reference), which is what makes the plex readable without LDM.
# What this does not show: that the loader is read through the LDM mirror
# (GRUB 2.06's ldm module refuses every LDM volume, also those Windows
# wrote), nor that the boot manager follows the BCD on its ESP (the stand-in
# does not read the BCD): the loader is found by its path on the os plex's
# GPT entry of the same disk.
#
# Usage: boot-replace.sh MBIMG MKSEED MAKE_IMAGES MBSTATE
# Fails when qemu-system-x86, ovmf or grub-efi-amd64-bin is missing
# (scripts/deps.sh installs them).
set -u
MBSTATE=${4:?mbstate}
OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd
SEED=examples/seed/site.yaml
REPL=examples/replacement/site.yaml
BOOT_LIMIT=${BOOT_LIMIT:-60}    # seconds per boot (one takes about 7 s)

if ! command -v qemu-system-x86_64 >/dev/null || ! command -v grub-mkstandalone >/dev/null ||
        [ ! -r "$OVMF_CODE" ] || [ ! -r "$OVMF_VARS" ] || [ ! -d /usr/lib/grub/x86_64-efi ]; then
        echo "FAIL: boot-replace needs qemu-system-x86_64, OVMF ($OVMF_CODE, $OVMF_VARS) and grub-mkstandalone (Debian: qemu-system-x86 ovmf grub-efi-amd64-bin; scripts/deps.sh installs them)"
        exit 1
fi

# shellcheck source=image-lib.sh
. "$(dirname "$0")/image-lib.sh"
set +e
lower() { tr A-Z a-z; }
START=$(date +%s)

OVMF_VARS=$OVMF_VARS "$MAKE_IMAGES" "$T" "$MKSEED" >/dev/null || { echo "FAIL: make-images"; exit 1; }
[ -f "$T/vars.fd" ] || { echo "FAIL: make-images wrote no vars.fd"; exit 1; }

# shellcheck source=ovmf-lib.sh
. "$(dirname "$0")/ovmf-lib.sh"
OVMF_MACHINE=(-machine q35)
BOOT_STOP='No bootable option or device was found|Shell> |grub> '
BOOT_LABEL='alone'
boot() { ovmf_boot "$@"; }

# esp IMG: unique GUID of the EFI system partition (type EF00) of IMG
esp() {
        n=$(sgdisk -p "$1" 2>/dev/null | awk '$6 == "EF00" { print $1; exit }')
        [ -n "$n" ] && sg "$1" "$n" "Partition unique GUID" | lower
}
# part_at IMG LBA: unique GUID of the GPT entry of IMG starting at LBA
part_at() {
        n=$(sgdisk -p "$1" 2>/dev/null | awk -v l="$2" '$1 ~ /^[0-9]+$/ && $2 == l { print $1; exit }')
        [ -n "$n" ] && sg "$1" "$n" "Partition unique GUID" | lower
}
disk_guid() { sgdisk -p "$1" 2>/dev/null | sed -n 's/^Disk identifier (GUID): //p' | lower; }
# plex_lba TARGET N: first LBA of the os mirror's plex on disk N (mbstate facts)
plex_lba() {
        "$MBSTATE" facts --target "$1" --json 2>/dev/null | python3 -c '
import json, sys
f = json.load(sys.stdin)
for v in f.get("volumes", []):
    if v.get("kind") == "mirror":
        for p in v.get("plexes", []):
            if p.get("disk") == int(sys.argv[1]):
                print(p["offset"] // 512)' "$2"
}
# the GUID whose bytes (GPT on-disk order, UEFI spec appendix A) the loader printed
loader_disk_guid() {
        sed -n 's/^MBSTATE-LOADER disk-guid-bytes [0-9a-f]*  *//p' "$T/$1.log" | head -1 | python3 -c '
import sys, uuid
b = bytes.fromhex("".join(sys.stdin.read().split()[:16]))
print(uuid.UUID(bytes_le=b) if len(b) == 16 else "")'
}

# alone CASE NAME TARGET N IMG VARS: boot disk N (image IMG) of TARGET alone
# and check that it starts its own firmware entry and reaches its own loader
alone() {
        c=$1 name=$2 target=$3 n=$4 img=$5 vars=$6
        e=$(esp "$img") dg=$(disk_guid "$img") lba=$(plex_lba "$target" "$n")
        os=""
        [ -n "$lba" ] && os=$(part_at "$img" "$lba")
        boot "$name" "$vars" "$img"
        first=$(grep -a -m1 "^BdsDxe: starting Boot" "$T/$name.log")
        E=$(printf '%s' "$e" | upper)
        check "($c) $(basename "$img") alone: the first program the firmware starts is a Windows Boot Manager entry naming its ESP $e" \
                eval 'printf "%s\n" "$first" | grep -q -E "^BdsDxe: starting Boot[0-9A-F]{4} \"Windows Boot Manager[^\"]*\" from HD\([0-9]+,GPT,$E,[^)]*\)/\\\\EFI\\\\Microsoft\\\\Boot\\\\bootmgfw\.efi$"'
        check "($c) ... and the boot manager runs from that ESP" \
                grep -a -q "^MBSTATE-BOOT bootmgfw partition=$e " "$T/$name.log"
        check "($c) ... not the fallback" test "$(grep -a -c "MBSTATE-BOOT FALLBACK" "$T/$name.log")" = 0
        check "($c) ... the loader is read from the os plex on that disk (GPT entry at LBA ${lba:-?}: ${os:-none})" \
                eval '[ -n "$os" ] && grep -a -q "^MBSTATE-LOADER partition=$os " "$T/$name.log"'
        check "($c) ... and the loader sees that disk's GPT disk GUID $dg" test "$(loader_disk_guid "$name")" = "$dg"
}

# converged NAME SITE TARGET: apply, then check exits 0
converged() {
        c=$1 site=$2 target=$3
        rc=0; "$MBSTATE" apply "$site" --target "$target" >"$T/apply-$c.out" 2>&1 || rc=$?
        check "($c) apply $site exits 0 ($rc)" test $rc = 0
        [ $rc = 0 ] || sed 's/^/    /' "$T/apply-$c.out" | tail -n 20
        # the survivor's own firmware entry is never taken for the new disk:
        # the system disk never needs an entry made for it
        check "($c) apply never re-made the system disk's firmware entry" \
                sh -c "! grep -q 'disk_boot primary: no firmware entry names its ESP' '$T/apply-$c.out'"
        rc=0; "$MBSTATE" check "$site" --target "$target" >"$T/check-$c.out" 2>&1 || rc=$?
        check "($c) check exits 0 ($rc)" test $rc = 0
        [ $rc = 0 ] || sed 's/^/    /' "$T/check-$c.out" | tail -n 20
}

# ---- the seed converged: the pair every case starts from ----
converged seed "$SEED" "image:$T/disk0.img,$T/disk1.img,nvram=$T/vars.fd"
mkdir "$T/pair"
mv "$T/disk0.img" "$T/disk1.img" "$T/vars.fd" "$T/pair/"
P=$T/pair
# fresh CASE: the converged pair copied to $T/CASE (sparse), as OLD0/OLD1/VARS
fresh() {
        mkdir "$T/$1"
        cp --sparse=always "$P/disk0.img" "$P/disk1.img" "$P/vars.fd" "$T/$1/"
        D=$T/$1
}
done_case() { rm -rf "$T/$1"; }

# ---- (a) the secondary replaced by a blank disk ----
fresh a
rm "$D/disk1.img"; truncate -s 32G "$D/new.img"
TA="image:$D/disk0.img,$D/new.img,nvram=$D/vars.fd"
converged a "$SEED" "$TA"
alone a a0 "$TA" 0 "$D/disk0.img" "$D/vars.fd"
alone a a1 "$TA" 1 "$D/new.img" "$D/vars.fd"
done_case a

# ---- (b) the primary replaced, the survivor listed first ----
fresh b
rm "$D/disk0.img"; truncate -s 32G "$D/new.img"
TB="image:$D/disk1.img,$D/new.img,nvram=$D/vars.fd"
converged b "$REPL" "$TB"
alone b b0 "$TB" 0 "$D/disk1.img" "$D/vars.fd"
alone b b1 "$TB" 1 "$D/new.img" "$D/vars.fd"
done_case b

# ---- (c) the primary replaced, the survivor listed second ----
fresh c
rm "$D/disk0.img"; truncate -s 32G "$D/new.img"
TC="image:$D/new.img,$D/disk1.img,nvram=$D/vars.fd,booted=$(esp "$D/disk1.img")"
converged c "$REPL" "$TC"
alone c c1 "$TC" 1 "$D/disk1.img" "$D/vars.fd"
alone c c0 "$TC" 0 "$D/new.img" "$D/vars.fd"
done_case c

# ---- (d) the primary replaced by a larger disk (40 GiB) ----
fresh d
rm "$D/disk0.img"; truncate -s 40G "$D/new.img"
TD="image:$D/disk1.img,$D/new.img,nvram=$D/vars.fd"
converged d "$REPL" "$TD"
alone d d0 "$TD" 0 "$D/disk1.img" "$D/vars.fd"
alone d d1 "$TD" 1 "$D/new.img" "$D/vars.fd"
done_case d

# ---- (o) no failure: the converged pair listed the other way round ----
# (what system: true gives once the machine booted from the second disk):
# the seed site binds primary to disk1.img; the entries follow the disks,
# one per ESP, and each disk still boots its own
fresh o
TO="image:$D/disk1.img,$D/disk0.img,nvram=$D/vars.fd"
converged o "$SEED" "$TO"
check "(o) the firmware keeps one Windows Boot Manager entry per ESP" sh -c "
        '$MBSTATE' facts --target '$TO' --json | python3 -c '
import json, sys
f = json.load(sys.stdin)
esps = [p[\"unique_guid\"] for d in f[\"disks\"] for p in d[\"partitions\"] if p[\"role\"] == \"efi\"]
n = [e[\"partition\"] for e in f[\"firmware\"][\"entries\"] if (e.get(\"path\") or \"\").lower() == \"\\\\efi\\\\microsoft\\\\boot\\\\bootmgfw.efi\"]
sys.exit(not (sorted(n) == sorted(esps)))'"
alone o o0 "$TO" 0 "$D/disk1.img" "$D/vars.fd"
alone o o1 "$TO" 1 "$D/disk0.img" "$D/vars.fd"
done_case o

echo "--- each disk alone after each replacement: what the firmware started, what ran (compact)"
for n in a0 a1 b0 b1 c1 c0 d0 d1 o0 o1; do
        [ -f "$T/$n.log" ] || continue
        s=$(grep -a -m1 "^BdsDxe: starting Boot" "$T/$n.log" | sed 's/^BdsDxe: starting //; s/ from HD([0-9]*,GPT,\([0-9A-F-]*\),[^)]*)/ ESP \1/')
        b=$(grep -a -m1 "^MBSTATE-BOOT bootmgfw" "$T/$n.log" | sed 's/^MBSTATE-BOOT //; s/ device=.*//')
        l=$(grep -a -m1 "^MBSTATE-LOADER partition=" "$T/$n.log" | sed 's/^MBSTATE-LOADER //; s/ device=[^ ]*//')
        printf '    %s: %s | %s | loader %s disk %s\n' "$n" "${s:-nothing started}" "${b:-no boot manager}" \
                "${l:-not reached}" "$(loader_disk_guid "$n")"
done
echo "--- $(($(date +%s) - START)) s in all"
finish
