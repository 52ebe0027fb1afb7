#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The mirrored machine boots from either disk, under Secure Boot, and
# `mbstate check` predicts what the firmware does. The seed images are made
# a Secure Boot machine (make-images --secure-boot: OVMF_VARS_4M.snakeoil.fd,
# whose PK, KEK and db hold Debian's snakeoil test key, and GRUB stand-in
# boot managers signed with it), converged by `mbstate apply` of
# examples/seed/site.yaml (dynamic disks, the os mirror, both ESPs, the
# firmware entries), then booted by the real firmware: OVMF's Secure Boot
# build (OVMF_CODE_4M.secboot.fd, SMM) under QEMU, software emulation. The
# stand-ins print the unique GUID of the partition they were started from
# and power off; \EFI\Boot\bootx64.efi prints FALLBACK instead.
#
#   (a) both disks:            "Windows Boot Manager" -> disk0's ESP
#   (b) disk0 detached:        "Windows Boot Manager Cloned" -> disk1's ESP
#   (f) the firmware's own entries: a boot with a DVD drive writes the store
#       back (OVMF adds its entries); check exits 0, apply changes nothing;
#       disk0 detached: the firmware tries only the Windows entries before
#       "Windows Boot Manager Cloned" starts from disk1's ESP
#   (c) the cloned entry gone: `mbstate check` exits 2 naming it and predicts
#       the fallback; with disk0 detached the firmware falls back to
#       \EFI\Boot\bootx64.efi
#   (n) negative control: an unsigned boot manager on disk1 is refused by
#       the firmware (Access Denied), as check predicts
#   (r) revocation: the boot manager's Authenticode digest appended to dbx
#       (then the fallback's too) in a copy of the variables: check's
#       verdict for disk 1 and the firmware's boot from disk 1 alone agree
#
# Usage: boot-failover.sh MBIMG MKSEED MAKE_IMAGES MBSTATE [MBPE]
# Fails when qemu-system-x86, ovmf, grub-efi-amd64-bin or sbsigntool is
# missing: scripts/deps.sh installs them, so their absence is a broken
# set-up, not a reason to skip.
set -u
MBSTATE=${4:?mbstate}
MBPE=${5:-$(dirname "$MBSTATE")/engine/format/pe/mbpe}
OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.secboot.fd
OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd
SITE=examples/seed/site.yaml
BOOT_LIMIT=${BOOT_LIMIT:-150}   # seconds per boot

have_tools() {
        command -v qemu-system-x86_64 >/dev/null && command -v grub-mkstandalone >/dev/null &&
                command -v sbsign >/dev/null && [ -x "$MBPE" ] &&
                [ -r "$OVMF_CODE" ] && [ -r "$OVMF_VARS" ] && [ -d /usr/lib/grub/x86_64-efi ]
}
if ! have_tools; then
        echo "FAIL: boot-failover needs qemu-system-x86_64, OVMF ($OVMF_CODE, $OVMF_VARS), grub-mkstandalone, sbsign and mbpe ($MBPE) (Debian: qemu-system-x86 ovmf grub-efi-amd64-bin sbsigntool; scripts/deps.sh installs them)"
        exit 1
fi

# shellcheck source=image-lib.sh
. "$(dirname "$0")/image-lib.sh"
set +e

"$MAKE_IMAGES" --secure-boot "$T" "$MKSEED" >/dev/null || { echo "FAIL: make-images --secure-boot"; exit 1; }
[ -f "$T/vars.fd" ] || { echo "make-images wrote no vars.fd" >&2; exit 1; }
D0=$T/disk0.img D1=$T/disk1.img
L="$D0,$D1"
TARGET="image:$D0,$D1,nvram=$T/vars.fd"
lower() { tr A-Z a-z; }

# shellcheck source=ovmf-lib.sh
. "$(dirname "$0")/ovmf-lib.sh"
OVMF_MACHINE=(-machine q35,smm=on -global driver=cfi.pflash01,property=secure,value=on)
BOOT_STOP='No bootable option or device was found'
BOOT_LABEL='Secure Boot'
boot() { ovmf_boot "$@"; }
marker() { grep -a -c "MBSTATE-BOOT $2 partition=$3 " "$T/$1.log"; }
# verdict FILE NAME: "bootable|via|reason" of declared disk NAME in a JSON report
verdict() {
        python3 -c '
import json, sys
for b in json.load(open(sys.argv[1]))["boot"]:
    if b["disk"] == sys.argv[2]:
        print("%s|%s|%s" % ("bootable" if b["bootable"] else "not-bootable", b["via"], b["reason"]))' "$1" "$2"
}
# entry NUMBER of the firmware entry with description DESC, from facts
entry() {
        "$MBSTATE" facts --target "$TARGET" --json | python3 -c '
import json, sys
for e in json.load(sys.stdin)["firmware"]["entries"]:
    if e.get("description") == sys.argv[1]:
        print("%04X" % e["number"])' "$1"
}

ESP0=$(sg "$D0" 1 "Partition unique GUID" | lower)

# ---- the variable store is part of the disk an entry names ----
cp "$T/vars.fd" "$T/vars.seed.fd"
refuse "FW_ENTRY naming disk 1 is refused while only disk 0 may be written" "not selected for writing" \
        "$MBIMG" exec "$D0,$D1,nvram=$T/vars.fd" 0 FW_ENTRY disk=1 role=efi \
        "description=Windows Boot Manager Cloned" 'path=\EFI\Microsoft\Boot\bootmgfw.efi' position=last
check "... and vars.fd is unchanged" cmp -s "$T/vars.fd" "$T/vars.seed.fd"
head -c 4096 "$T/vars.fd" >"$T/short.fd"
refuse "a damaged variable store is refused, naming the file" "$T/short.fd" \
        "$MBSTATE" facts --target "image:$D0,$D1,nvram=$T/short.fd"

# ---- converge the seed scenario: dynamic disks, mirror, clones, BCD, firmware ----
rc=0; "$MBSTATE" check "$SITE" --target "$TARGET" >"$T/check0.out" 2>&1 || rc=$?
check "check before apply: drift (exit 2)" test $rc -eq 2
check "check before apply: disk 1 would not boot: no ESP" grep -q "^drift: disk 1 would not boot: no ESP$" "$T/check0.out"
rc=0; "$MBSTATE" apply "$SITE" --target "$TARGET" >"$T/apply.out" 2>&1 || rc=$?
check "apply converges" test $rc -eq 0
rc=0; "$MBSTATE" check "$SITE" --target "$TARGET" --json >"$T/check.json" 2>&1 || rc=$?
check "check after apply: in desired state (exit 0)" test $rc -eq 0
ESP1=$(sg "$D1" 1 "Partition unique GUID" | lower)
check "disk1 has its own ESP ($ESP1)" test -n "$ESP1" -a "$ESP1" != "$ESP0"
"$MBSTATE" facts --target "$TARGET" >"$T/facts.yaml"
check "facts: both disks are dynamic (LDM)" test "$(grep -c '^  dynamic: true' "$T/facts.yaml")" = 2
check "facts: the os mirror has two plexes" grep -q "kind: mirror" "$T/facts.yaml"
check "facts: firmware entry \"Windows Boot Manager Cloned\"" \
        grep -q "description: Windows Boot Manager Cloned" "$T/facts.yaml"
check "facts: the cloned entry names partition $ESP1" grep -q "partition: $ESP1" "$T/facts.yaml"
check "facts: Secure Boot on" grep -q "^  secure_boot: true" "$T/facts.yaml"
check "facts: db holds the snakeoil certificate" grep -q "subject: /C=US/ST=Colorado/L=Fort Collins/O=SnakeOil" "$T/facts.yaml"
N0=$(entry "Windows Boot Manager") N1=$(entry "Windows Boot Manager Cloned")
check "predicted: disk 0 boots through Boot$N0 \"Windows Boot Manager\"" \
        test "$(verdict "$T/check.json" primary)" = "bootable|Boot$N0 \"Windows Boot Manager\" \\EFI\\Microsoft\\Boot\\bootmgfw.efi|"
check "predicted: disk 1 boots through Boot$N1 \"Windows Boot Manager Cloned\"" \
        test "$(verdict "$T/check.json" secondary)" = "bootable|Boot$N1 \"Windows Boot Manager Cloned\" \\EFI\\Microsoft\\Boot\\bootmgfw.efi|"
cp "$T/vars.fd" "$T/vars.applied.fd"
"$MBSTATE" apply "$SITE" --target "$TARGET" >"$T/apply2.out" 2>&1
check "second apply changes nothing" grep -q "No changes" "$T/apply2.out"
check "second apply leaves vars.fd byte-identical" cmp -s "$T/vars.fd" "$T/vars.applied.fd"

# ---- (a) both disks ----
boot a "$T/vars.applied.fd" "$D0" "$D1"
check "(a) both disks: the signed boot manager starts from disk0's ESP ($ESP0)" test "$(marker a bootmgfw "$ESP0")" = 1
check "(a) no fallback" test "$(grep -a -c FALLBACK "$T/a.log")" = 0

# ---- (b) disk0 detached ----
boot b "$T/vars.applied.fd" "$D1"
check "(b) disk0 detached: Boot$N0 fails" grep -a -q "failed to load Boot$N0 \"Windows Boot Manager\"" "$T/b.log"
check "(b) \"Windows Boot Manager Cloned\" is started" grep -a -q "starting Boot$N1 \"Windows Boot Manager Cloned\"" "$T/b.log"
check "(b) the signed boot manager runs from disk1's ESP ($ESP1)" test "$(marker b bootmgfw "$ESP1")" = 1
check "(b) not the fallback" test "$(grep -a -c FALLBACK "$T/b.log")" = 0

# ---- (f) the firmware's own entries: one boot writes the store back ----
# OVMF, at each boot, adds a Boot#### entry for every bootable device it
# finds (EfiBootManagerRefreshAllBootOption: the DVD drive, each disk as a
# "UEFI Misc Device", the built-in shell) and appends it to BootOrder. Boot
# the converged pair once with a DVD drive attached and keep the store the
# firmware wrote; `check` must not call those entries drift, `apply` must
# leave them alone, and with disk 0 gone the firmware must reach disk 1's
# boot manager before any of them.
# fwvars STORE: "NNNN description" of each active Boot#### variable and the
# BootOrder, read straight from the firmware volume by a reader that shares
# no code with mbstate (layout: UEFI PI spec vol. 3, the firmware volume
# header; EDK II AuthenticatedVariableFormat.h, VARIABLE_STORE_HEADER and
# AUTHENTICATED_VARIABLE_HEADER; UEFI spec 3.1.3, EFI_LOAD_OPTION).
fwvars() {
        python3 - "$1" <<'PY'
import struct, sys, uuid
b = open(sys.argv[1], "rb").read()
assert b[40:44] == b"_FVH", "no firmware volume"
off = struct.unpack_from("<H", b, 48)[0]
size = struct.unpack_from("<I", b, off + 16)[0]
end, p = off + size, off + 28
glob = uuid.UUID("8be4df61-93ca-11d2-aa0d-00e098032b8c")
vars_ = {}
while p + 60 <= end and struct.unpack_from("<H", b, p)[0] == 0x55AA:
    state = b[p + 2]
    ns, ds = struct.unpack_from("<II", b, p + 36)
    guid = uuid.UUID(bytes_le=b[p + 44:p + 60])
    name = b[p + 60:p + 60 + ns].decode("utf-16-le").rstrip("\0")
    data = b[p + 60 + ns:p + 60 + ns + ds]
    if guid == glob and state in (0x3F, 0x3E):   # VAR_ADDED, or its deletion not done
        if state == 0x3F or name not in vars_:
            vars_[name] = data
    p = (p + 60 + ns + ds + 3) & ~3
for name in sorted(vars_):
    if len(name) == 8 and name.startswith("Boot") and name[4:] != "Next":
        try: int(name[4:], 16)
        except ValueError: continue
        d = vars_[name]
        attr, fplen = struct.unpack_from("<IH", d, 0)
        desc = d[6:].decode("utf-16-le", "replace").split("\0")[0]
        print("%s %s%s" % (name[4:].upper(), desc, "" if attr & 1 else " (inactive)"))
order = vars_.get("BootOrder", b"")
print("BootOrder " + ",".join("%04X" % n for n in struct.unpack("<%dH" % (len(order) // 2), order)))
PY
}
# facts_entries TARGET: the same list from mbstate facts
facts_entries() {
        "$MBSTATE" facts --target "$1" --json | python3 -c '
import json, sys
fw = json.load(sys.stdin)["firmware"]
for e in sorted(fw["entries"], key=lambda e: e["number"]):
    print("%04X %s%s" % (e["number"], e.get("description", ""), "" if e.get("active", True) else " (inactive)"))
print("BootOrder " + ",".join("%04X" % n for n in fw.get("order", [])))'
}
BOOT_CDROM=1 boot f1 "$T/vars.applied.fd" "$D0" "$D1"
check "(f) both disks and a DVD drive: the boot manager starts from disk0's ESP" test "$(marker f1 bootmgfw "$ESP0")" = 1
cp "$T/f1.vars.fd" "$T/vars.fw.fd"
TARGETF="image:$D0,$D1,nvram=$T/vars.fw.fd"
fwvars "$T/vars.applied.fd" >"$T/fw-before.txt"
fwvars "$T/vars.fw.fd" >"$T/fw-after.txt"
facts_entries "$TARGETF" >"$T/facts-after.txt"
echo "--- firmware entries after one boot with a DVD drive (independent reader of the variable store; -/+ = what the firmware removed/wrote)"
grep -v -x -F -f "$T/fw-after.txt" "$T/fw-before.txt" | sed 's/^/    - /'
grep -v -x -F -f "$T/fw-before.txt" "$T/fw-after.txt" | sed 's/^/    + /'
grep -v -x -F -f "$T/fw-before.txt" "$T/fw-after.txt" | grep -v '^BootOrder ' >"$T/fw-added.txt"
sed 's/^/    /' "$T/fw-after.txt"
check "(f) the firmware added entries of its own at that boot" test -s "$T/fw-added.txt"
check "(f) ... among them the DVD drive" grep -q "DVD" "$T/fw-added.txt"
check "(f) mbstate facts reads the same entries and BootOrder as the independent reader" \
        cmp -s "$T/facts-after.txt" "$T/fw-after.txt"
cmp -s "$T/facts-after.txt" "$T/fw-after.txt" || diff "$T/fw-after.txt" "$T/facts-after.txt" | sed 's/^/    /'
rc=0; "$MBSTATE" check "$SITE" --target "$TARGETF" >"$T/check-f.out" 2>&1 || rc=$?
check "(f) check with the store the firmware wrote: in desired state (exit 0)" test $rc -eq 0
sed 's/^/    /' "$T/check-f.out"
cp "$T/vars.fw.fd" "$T/vars.fw0.fd"
rc=0; "$MBSTATE" apply "$SITE" --target "$TARGETF" >"$T/apply-f.out" 2>&1 || rc=$?
check "(f) apply exits 0 and changes nothing" grep -q "No changes" "$T/apply-f.out"
check "(f) ... and leaves the firmware's store byte-identical" cmp -s "$T/vars.fw.fd" "$T/vars.fw0.fd"
BOOT_CDROM=1 boot f2 "$T/vars.fw.fd" "$D1"
check "(f) disk0 detached, DVD attached: the boot manager runs from disk1's ESP ($ESP1)" test "$(marker f2 bootmgfw "$ESP1")" = 1
check "(f) ... not the fallback" test "$(grep -a -c FALLBACK "$T/f2.log")" = 0
# every load the firmware tried before the first start must be a Windows entry
grep -a -E "BdsDxe: (loading|failed to load|starting) Boot" "$T/f2.log" | sed '/BdsDxe: starting/q' >"$T/f2-tries.txt"
check "(f) the first program the firmware starts is Boot$N1 \"Windows Boot Manager Cloned\"" \
        grep -q "^BdsDxe: starting Boot$N1 \"Windows Boot Manager Cloned\"" <(tail -n 1 "$T/f2-tries.txt")
check "(f) ... and before it the firmware tried only Boot$N0 and Boot$N1 (no DVD, shell or other entry)" \
        test "$(grep -v -c -E "Boot($N0|$N1) \"Windows Boot Manager( Cloned)?\"" "$T/f2-tries.txt")" = 0

# ---- (n) negative control: an unsigned boot manager on disk 1 ----
mkdir -p "$T/u"
UNSIGNED=1 "$MAKE_IMAGES" --secure-boot "$T/u" "$MKSEED" >/dev/null
mcopy -n -i "$T/u/disk0.img@@1048576" ::/EFI/Microsoft/Boot/bootmgfw.efi "$T/unsigned.efi"
rm -rf "$T/u"
check "the control's boot manager is unsigned" grep -q "^signatures: 0$" <("$MBPE" "$T/unsigned.efi")
cp --sparse=always "$D1" "$T/d1-unsigned.img"
mcopy -o -i "$T/d1-unsigned.img@@1048576" "$T/unsigned.efi" ::/EFI/Microsoft/Boot/bootmgfw.efi
"$MBSTATE" check "$SITE" --target "image:$D0,$T/d1-unsigned.img,nvram=$T/vars.applied.fd" --json >"$T/check-n.json" 2>&1
v=$(verdict "$T/check-n.json" secondary)
check "(n) predicted: disk 1's boot manager is refused, the fallback starts" \
        test "$v" = "bootable|the fallback \\EFI\\Boot\\bootx64.efi|"
boot n "$T/vars.applied.fd" "$T/d1-unsigned.img"
check "(n) the firmware refuses the unsigned boot manager (Access Denied)" \
        grep -a -q "failed to load Boot$N1 \"Windows Boot Manager Cloned\" .*: Access Denied" "$T/n.log"
check "(n) ... the unsigned program never runs" test "$(marker n bootmgfw "$ESP1")" = 0
check "(n) ... and the signed fallback on disk1 starts" test "$(marker n FALLBACK "$ESP1")" = 1
rm -f "$T/d1-unsigned.img"

# ---- (r) revocation by dbx: prediction against the firmware, both ways ----
mcopy -n -i "$D1@@1048576" ::/EFI/Microsoft/Boot/bootmgfw.efi "$T/bm.efi"
mcopy -n -i "$D1@@1048576" ::/EFI/Boot/bootx64.efi "$T/fb.efi"
BM=$("$MBPE" "$T/bm.efi" | sed -n 's/^authenticode_sha256: //p')
FB=$("$MBPE" "$T/fb.efi" | sed -n 's/^authenticode_sha256: //p')
check "the boot manager's digest is osslsigncode's ($BM)" \
        test "$BM" = "$(osslsigncode verify -in "$T/bm.efi" 2>&1 | sed -n 's/^Calculated message digest *: *\([0-9A-F]*\).*/\1/p' | tr A-F a-f)"
cp "$T/vars.applied.fd" "$T/vars.dbx1.fd"
"$MBPE" --dbx-add "$T/vars.dbx1.fd" "$BM"
cp "$T/vars.dbx1.fd" "$T/vars.dbx2.fd"
"$MBPE" --dbx-add "$T/vars.dbx2.fd" "$FB"
rc=0; "$MBSTATE" check "$SITE" --target "image:$D0,$D1,nvram=$T/vars.dbx1.fd" --json >"$T/check-r1.json" 2>&1 || rc=$?
v1=$(verdict "$T/check-r1.json" secondary)
check "(r1) bootmgfw.efi revoked: predicted: disk 1 boots only through the fallback" \
        test "$v1" = "bootable|the fallback \\EFI\\Boot\\bootx64.efi|"
rc=0; "$MBSTATE" check "$SITE" --target "image:$D0,$D1,nvram=$T/vars.dbx2.fd" >"$T/check-r2.out" 2>&1 || rc=$?
"$MBSTATE" check "$SITE" --target "image:$D0,$D1,nvram=$T/vars.dbx2.fd" --json >"$T/check-r2.json" 2>&1
v2=$(verdict "$T/check-r2.json" secondary)
check "(r2) both revoked: check exits 2 (drift)" test $rc -eq 2
check "(r2) ... naming disk 1, Secure Boot and the revoked digest" \
        grep -q "^drift: disk 1 would not boot with Secure Boot on: \\\\EFI\\\\Microsoft\\\\Boot\\\\bootmgfw.efi sha256 $BM is revoked by dbx; \\\\EFI\\\\Boot\\\\bootx64.efi sha256 $FB is revoked by dbx$" "$T/check-r2.out"
check "(r2) predicted: disk 1 would not boot" test "${v2%%|*}" = not-bootable
boot r1 "$T/vars.dbx1.fd" "$D1"
check "(r1) firmware: the revoked boot manager is refused (Access Denied)" \
        grep -a -q "failed to load Boot$N1 \"Windows Boot Manager Cloned\" .*: Access Denied" "$T/r1.log"
check "(r1) firmware: the fallback starts from disk1's ESP, as predicted" test "$(marker r1 FALLBACK "$ESP1")" = 1
boot r2 "$T/vars.dbx2.fd" "$D1"
check "(r2) firmware: nothing on disk 1 starts, as predicted" test "$(grep -a -c "MBSTATE-BOOT" "$T/r2.log")" = 0
check "(r2) firmware: no bootable option" grep -a -q "No bootable option or device was found" "$T/r2.log"
fw() {  # what the firmware started in a transcript
        if grep -a -q "^MBSTATE-BOOT bootmgfw" "$T/$1.log"; then echo "bootmgfw.efi (Boot$N1)"
        elif grep -a -q "^MBSTATE-BOOT FALLBACK" "$T/$1.log"; then echo "fallback bootx64.efi"
        else echo "nothing (refused)"; fi
}
pred() { case $1 in bootable\|Boot*) echo "bootmgfw.efi (Boot$N1)";; bootable\|*) echo "fallback bootx64.efi";; *) echo "nothing (refused)";; esac; }
echo "--- disk 1 alone, Secure Boot on: mbstate check's prediction vs the firmware"
printf '    %-34s %-26s %-26s\n' "dbx holds" "check predicts" "OVMF starts"
printf '    %-34s %-26s %-26s\n' "(store as applied)" "$(pred "$(verdict "$T/check.json" secondary)")" "$(fw b)"
printf '    %-34s %-26s %-26s\n' "unsigned bootmgfw.efi (control)" "$(pred "$v")" "$(fw n)"
printf '    %-34s %-26s %-26s\n' "bootmgfw.efi digest" "$(pred "$v1")" "$(fw r1)"
printf '    %-34s %-26s %-26s\n' "bootmgfw.efi + bootx64.efi" "$(pred "$v2")" "$(fw r2)"
check "prediction and firmware agree on every row" test "$(pred "$(verdict "$T/check.json" secondary)")|$(pred "$v")|$(pred "$v1")|$(pred "$v2")" = "$(fw b)|$(fw n)|$(fw r1)|$(fw r2)"

# ---- (c) the cloned entry removed from the variables ----
sed 's/firmware: last/firmware: absent/' "$SITE" >"$T/site-absent.yaml"
rc=0; "$MBSTATE" apply "$T/site-absent.yaml" --target "$TARGET" >"$T/remove.out" 2>&1 || rc=$?
check "(c) apply with firmware: absent removes the entry (FW_DELETE)" test $rc -eq 0
rc=0; "$MBSTATE" check "$SITE" --target "$TARGET" >"$T/check-c.out" 2>&1 || rc=$?
"$MBSTATE" check "$SITE" --target "$TARGET" --json >"$T/check-c.json" 2>&1
check "(c) check exits 2 (drift)" test $rc -eq 2
check "(c) check names the missing entry" grep -q '"Windows Boot Manager Cloned": no firmware entry' "$T/check-c.out"
check "(c) check predicts disk 1 boots only through the fallback" \
        test "$(verdict "$T/check-c.json" secondary)" = "bootable|the fallback \\EFI\\Boot\\bootx64.efi|"
truncate -s 32G "$T/spare.img"
rc=0; "$MBSTATE" check "$SITE" --target "image:$D1,$T/spare.img,nvram=$T/vars.fd" >"$T/check-c2.out" 2>&1 || rc=$?
check "(c) disk0 replaced by a blank disk: check exits 2" test $rc -eq 2
check "(c) ... and removes Boot$N0, whose partition is on no disk (boot: each-disk)" \
        grep -q "firmware: Boot$N0 \"Windows Boot Manager\" names partition $ESP0, which is on none of the disks -> absent" "$T/check-c2.out"
boot c "$T/vars.fd" "$D1"
check "(c) disk0 detached, no cloned entry: the firmware falls back to \\EFI\\Boot\\bootx64.efi on disk1" \
        test "$(marker c FALLBACK "$ESP1")" = 1
check "(c) the boot manager entry was not used" test "$(grep -a -c "MBSTATE-BOOT bootmgfw" "$T/c.log")" = 0

echo "--- mbstate check with both boot programs revoked by dbx:"
sed 's/^/    /' "$T/check-r2.out" | head -3
echo "--- mbstate check after the entry was removed:"
sed 's/^/    /' "$T/check-c.out"
echo "--- mbstate check with disk0 replaced by a blank disk (last lines):"
tail -n 3 "$T/check-c2.out" | sed 's/^/    /'
if [ "$FAILS" -ne 0 ]; then
        for n in a b n r1 r2 c; do echo "=== $n.log"; tail -n 30 "$T/$n.log" 2>/dev/null; done
fi
finish
