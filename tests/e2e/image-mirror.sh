#!/bin/sh
# SPDX-License-Identifier: MIT
# The seed scenario end to end through the real CLI on sparse images: apply
# converges (dynamic disks, the os mirror, boot entries, clones), check is
# clean, a second apply changes no byte, and tools nobody here wrote agree
# (sgdisk -v, fsck.fat -n, hivexsh, ldmtool, cmp). Then both disk
# replacements: the secondary lost (a blank disk1.img in its place), and the
# primary lost (the survivor becomes the system disk, examples/replacement);
# last, a member whose PRIVHEAD copies are all damaged: an error, no write.
# Between them, one damaged copy of the LDM metadata at a time (PRIVHEAD,
# TOCBLOCK, a database unlike the other member's): drift, repaired by apply.
#
# Usage: image-mirror.sh MBIMG MKSEED MAKE_IMAGES MBSTATE
MBSTATE=${4:?mbstate}
. "$(dirname "$0")/image-lib.sh"
SEED=examples/seed/site.yaml
REPL=examples/replacement/site.yaml
SIZE=34359738368
OS_FIRST=239616 OS_SECTORS=65792000 REC_FIRST=66031616 REC_SECTORS=1073152

# hole-aware hash of whole image files: data extents with their offsets
imghash() {
        python3 - "$@" <<'EOF'
import hashlib, os, sys
for path in sys.argv[1:]:
    s = hashlib.sha256()
    with open(path, 'rb') as f:
        fd = f.fileno(); size = os.fstat(fd).st_size; off = 0
        s.update(b'%d' % size)
        while off < size:
            try:
                d = os.lseek(fd, off, os.SEEK_DATA)
            except OSError:
                break
            e = os.lseek(fd, d, os.SEEK_HOLE)
            s.update(b'@%d:' % d); f.seek(d); n = e - d
            while n > 0:
                b = f.read(min(n, 1 << 22)); s.update(b); n -= len(b)
            off = e
    print(s.hexdigest(), path)
EOF
}
# data_segments IMG_A OFF_A IMG_B OFF_B LEN: "offset length" (bytes, relative
# to the offsets) of every stretch where either image holds data
data_segments() { python3 - "$@" <<'EOF'
import os, sys
a, oa, b, ob, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
def extents(path, base):
    out = []
    with open(path, 'rb') as f:
        fd = f.fileno(); off = base; end = base + n
        while off < end:
            try:
                d = os.lseek(fd, off, os.SEEK_DATA)
            except OSError:
                break
            if d >= end:
                break
            e = min(os.lseek(fd, d, os.SEEK_HOLE), end)
            out.append((d - base, e - base)); off = e
    return out
segs = sorted(extents(a, oa) + extents(b, ob))
merged = []
for x, y in segs:
    if merged and x <= merged[-1][1]:
        merged[-1][1] = max(merged[-1][1], y)
    else:
        merged.append([x, y])
for x, y in merged:
    print(x, y - x)
EOF
}
# cmp_extents IMG_A IMG_B FIRST_LBA SECTORS: cmp of the same extent of both
# images over every stretch that holds data in either (elsewhere both read
# as zeros: holes)
cmp_extents() {
        base=$(($3 * 512))
        data_segments "$1" $base "$2" $base $(($4 * 512)) > "$T/segs"
        test -s "$T/segs" || return 1
        while read -r o n; do
                cmp -n "$n" "$1" "$2" $((base + o)) $((base + o)) || return 1
        done < "$T/segs"
}
# rangehash IMG FIRST_LBA SECTORS: SHA-256 over the data stretches (offset
# and bytes) of that range: any write there changes it
rangehash() {
        base=$(($2 * 512))
        data_segments "$1" $base "$1" $base $(($3 * 512)) | while read -r o n; do
                echo "@$o"
                dd if="$1" bs=1M iflag=skip_bytes,count_bytes skip=$((base + o)) count="$n" status=none
        done | sha256sum | cut -d' ' -f1
}
mb() { "$MBSTATE" "$@"; }
ldm() { ldmtool "$@" 2>/dev/null; }
group_of() { ldm "$@" scan | tr -d '[]" \n'; }
bcd_descriptions() {    # bcd_descriptions IMG: every BCD object's description, one a line
        mcopy -n -i "$1@@1048576" ::/EFI/Microsoft/Boot/BCD "$T/BCD.x"
        for o in $(printf 'cd \\Objects\nls\n' | hivexsh "$T/BCD.x" | tr -d '\r'); do
                printf 'cd \\Objects\\%s\\Elements\\12000004\nlsval\n' "$o" | hivexsh "$T/BCD.x" 2>/dev/null || true
        done | sed -n 's/^"Element"="\(.*\)"$/\1/p'
}
converged_checks() {    # converged_checks WHAT IMG_A IMG_B (A = primary, B = secondary)
        w=$1 A=$2 B=$3
        check "$w: sgdisk -v primary" sgdisk_ok "$A"
        check "$w: sgdisk -v secondary" sgdisk_ok "$B"
        check "$w: fsck.fat -n primary ESP" esp_fsck "$A" 2048 204800
        check "$w: fsck.fat -n secondary ESP" esp_fsck "$B" 2048 204800
        bcd_descriptions "$A" > "$T/desc"
        check "$w: hivexsh lists \"Windows Boot Manager Cloned\"" grep -qx "Windows Boot Manager Cloned" "$T/desc"
        check "$w: hivexsh lists \"Windows Server - secondary plex\"" grep -qx "Windows Server - secondary plex" "$T/desc"
        bcd_descriptions "$B" > "$T/desc2"
        check "$w: the secondary ESP carries the same BCD objects" cmp -s "$T/desc" "$T/desc2"
        g=$(group_of -d "$A" -d "$B")
        check "$w: ldmtool scan finds one disk group" test -n "$g"
        vol=$(ldm -d "$A" -d "$B" show diskgroup "$g" | sed -n '/"volumes"/,/]/s/^ *"\(Volume[0-9]*\)".*/\1/p' | head -1)
        ldm -d "$A" -d "$B" show volume "$g" "$vol" > "$T/vol.json"
        check "$w: ldmtool: $vol is mirrored" grep -q '"type" : "mirrored"' "$T/vol.json"
        check "$w: ldmtool: $vol has 2 partitions" \
                test "$(sed -n '/"partitions"/,/]/p' "$T/vol.json" | grep -c '"Disk')" = 2
        check "$w: ldmtool: $vol is $OS_SECTORS sectors" grep -q "\"size\" : $OS_SECTORS," "$T/vol.json"
        for d in $(ldm -d "$A" -d "$B" show diskgroup "$g" | sed -n '/"disks"/,/]/s/^ *"\(Disk[0-9]*\)".*/\1/p'); do
                ldm -d "$A" -d "$B" show disk "$g" "$d"
        done | tr -d ' \n' > "$T/disks.json"
        for img in "$A" "$B"; do
                check "$w: ldmtool: $(basename "$img") present, data area from LBA $OS_FIRST" \
                        grep -q "\"present\":true,\"device\":\"$img\",\"data-start\":$OS_FIRST," "$T/disks.json"
        done
        mb facts --json --target "image:$A,$B" > "$T/facts.json"
        check "$w: facts: one mirror volume, two healthy plexes at byte 122683392" python3 -c '
import json, sys
f = json.load(open(sys.argv[1]))
v = [v for v in f["volumes"] if v["kind"] == "mirror"]
assert len(v) == 1 and v[0]["size"] == 33685504000, v
p = v[0]["plexes"]
assert sorted(x["disk"] for x in p) == [0, 1], p
assert all(x["state"] == "healthy" and x["offset"] == 122683392 and x["length"] == 33685504000 for x in p), p
assert all(d["dynamic"] and d["dynamic_group"] == v[0]["group"] for d in f["disks"]), f["disks"]
' "$T/facts.json"
        check "$w: C: read through plex 0 and plex 1 is identical (cmp)" \
                cmp_extents "$A" "$B" $OS_FIRST $OS_SECTORS
}

# degraded_checks WHAT SITE SURVIVOR LDM_DISK BCD_WORDS: the survivor alone
# (the other disk taken out, no replacement yet): plan, check and apply
# report the degraded mirror with exit 2 (never 1) and what the survivor's
# BCD loaders reach (BCD_WORDS), JSON health names the missing plex
# (validated against schemas/report.schema.json); plan and check write
# nothing; apply does what is safe without the missing disk (the
# survivor's own store: the lost disk's entries removed), its os and
# recovery data byte-identical, and a second apply writes nothing.
degraded_checks() {
        w=$1 site=$2 S=$3 ldmname=$4 bcdwords=$5
        imghash "$S" > "$T/dh1"
        rc=0; mb check "$site" --target "image:$S" > "$T/deg.out" 2>&1 || rc=$?
        check "$w: check exits 2 (degraded), not 1 ($rc)" test $rc = 2
        check "$w: check says the os mirror has no plex on secondary, $ldmname missing" \
                grep -q "^degraded: os mirror has no plex on secondary (missing: LDM disk $ldmname in the present disks' LDM database" "$T/deg.out"
        check "$w: check says whether primary boots alone" grep -Eq "; primary boots alone: (yes|no) " "$T/deg.out"
        check "$w: check says what the survivor's BCD loaders reach: $bcdwords" grep -qF "$bcdwords" "$T/deg.out"
        check "$w: no selector error" sh -c "! grep -q 'no disk matches' '$T/deg.out'"
        sed -n 's/^/    /p' "$T/deg.out"
        rc=0; mb plan "$site" --target "image:$S" > "$T/deg.out" 2>&1 || rc=$?
        check "$w: plan exits 2 ($rc)" test $rc = 2
        rc=0; mb check --json "$site" --target "image:$S" > "$T/deg.json" 2>&1 || rc=$?
        check "$w: check --json exits 2 ($rc)" test $rc = 2
        check "$w: JSON health: degraded, secondary's plex missing ($ldmname), primary's healthy 100%" python3 -c '
import json, sys
r = json.load(open(sys.argv[1])); h = r["health"]
assert h["degraded"] is True and r["in_desired_state"] is False, h
p = {x["disk"]: x for x in h["plexes"]}
assert p["secondary"]["state"] == "missing" and p["secondary"]["number"] == -1 and p["secondary"]["ldm_disk"] == sys.argv[2], p
assert p["primary"]["state"] == "healthy" and p["primary"]["percent"] == 100 and p["primary"]["number"] == 0, p
' "$T/deg.json" "$ldmname"
        check "$w: the report matches schemas/report.schema.json" python3 -c '
import json, sys, jsonschema
jsonschema.validate(json.load(open(sys.argv[1])), json.load(open("schemas/report.schema.json")))
' "$T/deg.json"
        imghash "$S" > "$T/dh2"
        check "$w: plan and check wrote nothing to the survivor" cmp -s "$T/dh1" "$T/dh2"
        os1=$(rangehash "$S" $OS_FIRST $OS_SECTORS) rec1=$(rangehash "$S" $REC_FIRST $REC_SECTORS)
        rc=0; mb apply "$site" --target "image:$S" > "$T/deg.out" 2>&1 || rc=$?
        check "$w: apply exits 2 while the disk is missing ($rc)" test $rc = 2
        check "$w: apply repeats the degraded line" grep -q "^degraded: os mirror has no plex on secondary" "$T/deg.out"
        check "$w: apply removed the lost disk's loader from the survivor's store" \
                grep -q "disk_boot  *primary: the system BCD store: .* on a disk that is gone" "$T/deg.out"
        sed -n 's/^/    /p' "$T/deg.out"
        check "$w: the survivor's os data is byte-identical" test "$(rangehash "$S" $OS_FIRST $OS_SECTORS)" = "$os1"
        check "$w: the survivor's recovery partition is byte-identical" \
                test "$(rangehash "$S" $REC_FIRST $REC_SECTORS)" = "$rec1"
        imghash "$S" > "$T/dh1"
        rc=0; mb apply "$site" --target "image:$S" > "$T/deg.out" 2>&1 || rc=$?
        imghash "$S" > "$T/dh2"
        check "$w: a second apply exits 2 and writes nothing ($rc)" sh -c "test $rc = 2 && cmp -s '$T/dh1' '$T/dh2'"
}

# ---- the seed scenario ----
seed
D0=$T/disk0.img D1=$T/disk1.img
mb apply "$SEED" --target "image:$L" > "$T/apply.out" 2>&1 || { cat "$T/apply.out" >&2; fail "apply converges"; finish; }
pass "apply converges"
check "apply converted both disks and mirrored os" \
        sh -c "grep -q 'dynamic primary' '$T/apply.out' && grep -q 'dynamic secondary' '$T/apply.out' && grep -q 'mirror plex on secondary' '$T/apply.out'"
check "check exits 0" mb check "$SEED" --target "image:$L"
imghash "$D0" "$D1" > "$T/h1"
check "second apply: no changes" sh -c "'$MBSTATE' apply '$SEED' --target 'image:$L' | grep -q '^No changes'"
imghash "$D0" "$D1" > "$T/h2"
check "second apply: image hashes unchanged" cmp -s "$T/h1" "$T/h2"
converged_checks seed "$D0" "$D1"
for img in "$D0" "$D1"; do
        check "$(basename "$img"): LDM metadata partition = first 1 MiB of the old MSR" \
                sh -c "sgdisk -p '$img' | grep -Eq '^ +[0-9]+ +206848 +208895 .* 4201 +LDM metadata partition'"
        check "$(basename "$img"): MSR shrank to LBA 208896-239615" \
                sh -c "sgdisk -p '$img' | grep -Eq '^ +[0-9]+ +208896 +239615 .* 0C01'"
        # C: converts as Windows converts it: its entry (disk 0) and the os
        # plex's entry (disk 1) are LDM data ("Dynamic Data" in diskpart),
        # the volume is described by the LDM database alone
        n=$(sgdisk -p "$img" | awk '$2 == 239616 && $3 == 66031615 {print $1}')
        check "$(basename "$img"): one entry at C:'s LBA 239616-66031615 (number ${n:-none})" test -n "$n"
        check "$(basename "$img"): sgdisk -i ${n:-?}: C: is LDM data ($(sg "$img" "${n:-1}" 'Partition GUID code'))" \
                test "$(sg "$img" "${n:-1}" 'Partition GUID code' | cut -d' ' -f1)" = AF9B60A0-1431-4F62-BC68-3311714A69AD
        check "$(basename "$img"): no basic data entry left" \
                sh -c "sgdisk -p '$img' >'$T/sgp' && ! grep -Eq ' 0700 ' '$T/sgp'"
        check "$(basename "$img"): recovery entry keeps its type and attributes" \
                sh -c "n=\$(sgdisk -p '$img' | awk '\$2 == $REC_FIRST {print \$1}'); sgdisk -i \$n '$img' | grep -q '^Partition GUID code: DE94BBA4-06D1-4D40-A16A-BFD50179D6AC' && sgdisk -i \$n '$img' | grep -q '^Attribute flags: 8000000000000001'"
        check "$(basename "$img"): LDM data partition covers the free tail" \
                sh -c "sgdisk -p '$img' | grep -Eq '^ +[0-9]+ +67104768 +67108830 .* 4200 +LDM data partition'"
done

# ---- redundancy of the LDM metadata: one damaged copy at a time ----
# META: the LDM metadata partition (both disks); PRIVHEAD copies at +1856 and
# +2047, TOCBLOCKs at +2 and +2045, the config region (VMDB, VBLKs) from +17
# for 1481 sectors. Each damage leaves the disk running on its other copy:
# check reports it (exit 2) naming disk, structure and sector, apply rewrites
# it from the intact copy, the images come back byte for byte, ldmtool reads.
META=206848
cp --sparse=always "$D0" "$T/d0.good"
cp --sparse=always "$D1" "$T/d1.good"
redundancy() {  # redundancy WHAT IMG SECTOR STRUCTURE DISKLABEL (after damaging IMG)
        w=$1 img=$2 sector=$3 what=$4 label=$5
        rc=0; mb check "$SEED" --target "image:$L" > "$T/check.out" 2>&1 || rc=$?
        check "$w: check exits 2 (drift)" test $rc = 2
        check "$w: check names $label, $what, sector $sector" \
                grep -q "$label.*$what copy at sector $sector" "$T/check.out"
        mb facts --json --target "image:$L" > "$T/facts.json"
        check "$w: facts list it under ldm_damage" python3 -c '
import json, sys
f = json.load(open(sys.argv[1]))
d = [(n["number"], x["structure"], x["sector"]) for n in f["disks"] for x in n.get("ldm_damage", [])]
assert d == [(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))], d' "$T/facts.json" "${label#*disk }" "$what" "$sector"
        mb apply "$SEED" --target "image:$L" > "$T/apply.out" 2>&1 || { cat "$T/apply.out" >&2; fail "$w: apply"; }
        check "$w: apply repaired it as a planned change" grep -q "dynamic .*$what copy at sector $sector" "$T/apply.out"
        check "$w: check exits 0" mb check "$SEED" --target "image:$L"
        check "$w: both images are byte for byte what they were" \
                sh -c "cmp -s '$D0' '$T/d0.good' && cmp -s '$D1' '$T/d1.good'"
        check "$w: ldmtool reads the group" test -n "$(group_of -d "$D0" -d "$D1")"
}
printf 'not a PRIVHEAD!!' | dd of="$D1" bs=512 seek=$((META + 1856)) conv=notrunc status=none
redundancy "damaged PRIVHEAD copy" "$D1" $((META + 1856)) PRIVHEAD "disk 1"
printf 'not a PRIVHEAD!!' | dd of="$D0" bs=512 seek=$((META + 2047)) conv=notrunc status=none
redundancy "damaged primary PRIVHEAD" "$D0" $((META + 2047)) PRIVHEAD "disk 0"
printf 'not a TOCBLOCK!!' | dd of="$D0" bs=512 seek=$((META + 2045)) conv=notrunc status=none
redundancy "damaged TOCBLOCK copy" "$D0" $((META + 2045)) TOCBLOCK "disk 0"
printf 'not a TOCBLOCK!!' | dd of="$D1" bs=512 seek=$((META + 2)) conv=notrunc status=none
redundancy "damaged primary TOCBLOCK" "$D1" $((META + 2)) TOCBLOCK "disk 1"
# one byte of an unused VBLK slot (the config region's last sector): the
# members' databases differ at the same sequence
printf 'X' | dd of="$D1" bs=1 seek=$(((META + 17 + 1480) * 512 + 300)) conv=notrunc status=none
redundancy "databases differ at the same sequence" "$D1" $((META + 17)) database "disk 1"


# ---- (f) the secondary fails: degraded until it is replaced ----
mv "$D1" "$T/gone1.img"
degraded_checks "secondary gone" "$SEED" "$D0" Disk2 \
        'its BCD: "Windows Server" reaches its os plex, "Windows Server - secondary plex" names a partition on no present disk'
rm -f "$T/gone1.img"

# ---- (a) the secondary is replaced: a new blank disk1.img ----
truncate -s $SIZE "$D1"
rc=0; mb check "$SEED" --target "image:$L" > "$T/check.out" 2>&1 || rc=$?
check "replaced secondary: check exits 2 (drift)" test $rc = 2
check "replaced secondary: check names the missing plex" grep -q "plex on missing disk Disk2" "$T/check.out"
mb apply "$SEED" --target "image:$L" > "$T/apply.out" 2>&1 || { cat "$T/apply.out" >&2; fail "replaced secondary: apply"; }
check "replaced secondary: apply removed the missing disk's records" grep -q "missing disk's plex and disk records removed" "$T/apply.out"
check "replaced secondary: apply re-pointed the cloned boot manager entry" \
        test "$(grep -c 'boot_entry .*-> device' "$T/apply.out")" = 1
check "replaced secondary: apply gave the new disk's ESP a store of its own" \
        grep -q "disk_boot  *secondary: the BCD store on disk 1's ESP: {bootmgr} device" "$T/apply.out"
check "replaced secondary: check exits 0" mb check "$SEED" --target "image:$L"
converged_checks "replaced secondary" "$D0" "$D1"
ldm -d "$D0" -d "$D1" show diskgroup "$(group_of -d "$D0" -d "$D1")" > "$T/dg.json"
check "replaced secondary: ldmtool lists the group's two disks, Disk2 not among them" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))["disks"]
assert len(d) == 2 and "Disk2" not in d, d' "$T/dg.json"

# ---- (b) the primary fails: the survivor becomes the system disk ----
N=$T/new.img
rm -f "$D0"
degraded_checks "primary gone" "$REPL" "$D1" Disk1 \
        'its BCD: "Windows Server" names a partition on no present disk, "Windows Server - secondary plex" reaches its os plex'
truncate -s $SIZE "$N"
os_before=$(rangehash "$D1" $OS_FIRST $OS_SECTORS)
rec_before=$(rangehash "$D1" $REC_FIRST $REC_SECTORS)
rc=0; mb check "$REPL" --target "image:$D1,$N" > "$T/check.out" 2>&1 || rc=$?
check "lost primary: check exits 2" test $rc = 2
mb apply "$REPL" --target "image:$D1,$N" > "$T/apply.out" 2>&1 || { cat "$T/apply.out" >&2; fail "lost primary: apply"; }
check "lost primary: nothing but dynamic-database and BCD/ESP steps touch the survivor" \
        sh -c "grep -Eq '^\\[[0-9]+\\] ' '$T/apply.out' && ! grep -E '^\\[[0-9]+\\] (disk|partition|clone) primary' '$T/apply.out'"
check "lost primary: check exits 0" mb check "$REPL" --target "image:$D1,$N"
check "lost primary: the survivor's os data is unchanged" test "$(rangehash "$D1" $OS_FIRST $OS_SECTORS)" = "$os_before"
check "lost primary: the survivor's recovery partition is unchanged" \
        test "$(rangehash "$D1" $REC_FIRST $REC_SECTORS)" = "$rec_before"
converged_checks "lost primary" "$D1" "$N"
imghash "$D1" "$N" > "$T/h1"
check "lost primary: second apply: no changes" sh -c "'$MBSTATE' apply '$REPL' --target 'image:$D1,$N' | grep -q '^No changes'"
imghash "$D1" "$N" > "$T/h2"
check "lost primary: second apply: image hashes unchanged" cmp -s "$T/h1" "$T/h2"

# ---- a damaged database: every PRIVHEAD copy of one member overwritten ----
B=$T/bad.img
cp --sparse=always "$N" "$B"
for s in $((206848 + 1856)) $((206848 + 2047)); do
        printf 'not a PRIVHEAD!!' | dd of="$B" bs=512 seek=$s conv=notrunc status=none
done
imghash "$D1" "$B" > "$T/h1"
rc=0; mb check "$REPL" --target "image:$D1,$B" > "$T/check.out" 2>&1 || rc=$?
check "damaged PRIVHEADs: check exits 1 (error)" test $rc = 1
check "damaged PRIVHEADs: the message names the file" grep -q "$B.*PRIVHEAD" "$T/check.out"
rc=0; mb apply "$REPL" --target "image:$D1,$B" > "$T/apply.out" 2>&1 || rc=$?
check "damaged PRIVHEADs: apply exits 1" test $rc = 1
imghash "$D1" "$B" > "$T/h2"
check "damaged PRIVHEADs: nothing written (image hashes unchanged)" cmp -s "$T/h1" "$T/h2"
finish
