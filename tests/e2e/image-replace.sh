#!/bin/sh
# SPDX-License-Identifier: MIT
# Replacement of a lost primary with a disk of another size (issue 16, cases
# d, e, f), on images: the seed converged, disk0 lost, the survivor (the old
# disk1) listed first with examples/replacement/site.yaml.
#   (f) the survivor alone: a degraded mirror (exit 2); apply edits only the
#       survivor's own BCD store (its plex first, the lost disk's entries
#       removed), its data byte-identical, and a second apply writes nothing;
#   (e) a smaller blank disk (30 GiB, under the site's min_size 32GiB) is not
#       taken: still degraded (exit 2), the disk named among those present,
#       nothing written to either image; with a selector by number (no
#       min_size) the layout does not fit: exit 1, nothing written;
#   (d) a larger blank disk (40 GiB): apply converges, check exits 0, the
#       plex sits at the survivor's LBA with the survivor's length, there is
#       a recovery entry, LDM data reaches the last usable LBA, and the
#       survivor's os and recovery bytes are unchanged.
#
# Usage: image-replace.sh MBIMG MKSEED MAKE_IMAGES MBSTATE
MBSTATE=${4:?mbstate}
. "$(dirname "$0")/image-lib.sh"
SEED=examples/seed/site.yaml
REPL=examples/replacement/site.yaml
OS_FIRST=239616 OS_SECTORS=65792000 REC_FIRST=66031616 REC_SECTORS=1073152
mb() { "$MBSTATE" "$@"; }
# hole-aware SHA-256 of a range of an image (data stretches and their offsets)
rangehash() {
        python3 - "$1" "$2" "$3" <<'PY'
import hashlib, os, sys
path, first, n = sys.argv[1], int(sys.argv[2]) * 512, int(sys.argv[3]) * 512
s = hashlib.sha256()
with open(path, 'rb') as f:
    fd = f.fileno(); off = first; end = first + n
    while off < end:
        try:
            d = os.lseek(fd, off, os.SEEK_DATA)
        except OSError:
            break
        if d >= end:
            break
        e = min(os.lseek(fd, d, os.SEEK_HOLE), end)
        s.update(b'@%d:' % (d - first)); f.seek(d); k = e - d
        while k > 0:
            b = f.read(min(k, 1 << 22)); s.update(b); k -= len(b)
        off = e
print(s.hexdigest())
PY
}
imgsum() { for i in "$@"; do rangehash "$i" 0 $(($(stat -c %s "$i") / 512)); done; }

seed
D0=$T/disk0.img D1=$T/disk1.img
mb apply "$SEED" --target "image:$L" > "$T/apply.out" 2>&1 || { cat "$T/apply.out" >&2; fail "the seed converges"; finish; }
pass "the seed converges"
rm -f "$D0"
S=$D1
os_before=$(rangehash "$S" $OS_FIRST $OS_SECTORS)
rec_before=$(rangehash "$S" $REC_FIRST $REC_SECTORS)

# ---- (f) the survivor alone ----
rc=0; mb check "$REPL" --target "image:$S" > "$T/out" 2>&1 || rc=$?
check "(f) survivor alone: check exits 2 ($rc)" test $rc = 2
check "(f) survivor alone: degraded, Disk1's plex missing" grep -q "^degraded: os mirror has no plex on secondary (missing: LDM disk Disk1 " "$T/out"
sed 's/^/    /' "$T/out"
rc=0; mb apply "$REPL" --target "image:$S" > "$T/out" 2>&1 || rc=$?
check "(f) survivor alone: apply exits 2 ($rc)" test $rc = 2
sed 's/^/    /' "$T/out"
# what is safe without the missing disk: the survivor's own store (its plex
# first, the lost disk's entries removed); its data is not touched
check "(f) survivor alone: its os plex is byte-identical" test "$(rangehash "$S" $OS_FIRST $OS_SECTORS)" = "$os_before"
check "(f) survivor alone: its recovery partition is byte-identical" test "$(rangehash "$S" $REC_FIRST $REC_SECTORS)" = "$rec_before"
sum2=$(imgsum "$S")
rc=0; mb apply "$REPL" --target "image:$S" > "$T/out" 2>&1 || rc=$?
check "(f) survivor alone: a second apply exits 2 ($rc)" test $rc = 2
check "(f) survivor alone: a second apply writes nothing" test "$(imgsum "$S")" = "$sum2"
rc=0; mb check "$REPL" --target "image:$S" > "$T/out" 2>&1 || rc=$?
check "(f) survivor alone: still degraded, and it boots alone ($rc)" sh -c "test $rc = 2 && grep -q '^degraded: .*primary boots alone: yes' '$T/out'"
sed 's/^/    /' "$T/out"

# ---- (e) a smaller disk ----
N=$T/small.img
truncate -s 30G "$N"
sum1=$(imgsum "$S" "$N")
rc=0; mb apply "$REPL" --target "image:$S,$N" > "$T/out" 2>&1 || rc=$?
check "(e) 30 GiB disk: apply exits 2, still degraded ($rc)" test $rc = 2
check "(e) 30 GiB disk: named among the disks present, not selected" \
        grep -q "; disks present: disk 0 (32 GiB, .*); disk 1 (30 GiB, serial [^,]*, 0 partitions)$" "$T/out"
check "(e) 30 GiB disk: nothing written to either image" test "$(imgsum "$S" "$N")" = "$sum1"
sed 's/^/    /' "$T/out"
cat > "$T/by-number.yaml" <<'YAML'
version: 1
disks:
  - name: primary
    match: { system: true }
  - name: secondary
    match: { number: 1 }
    initialize: if-blank
partitions:
  disks: [primary, secondary]
  template: primary
  roles: [efi, msr, os, recovery]
mirrors:
  - role: os
    disks: [primary, secondary]
YAML
refuse "(e) 30 GiB disk selected by number: refused" "(disk 1) (.*small.img, 30 GiB) is too small" \
        mb apply "$T/by-number.yaml" --target "image:$S,$N"
check "(e) refused: nothing written to either image" test "$(imgsum "$S" "$N")" = "$sum1"
rm -f "$N"

# ---- (d) a larger disk ----
N=$T/large.img
truncate -s 40G "$N"
mb apply "$REPL" --target "image:$S,$N" > "$T/out" 2>&1 || { cat "$T/out" >&2; fail "(d) 40 GiB disk: apply"; finish; }
pass "(d) 40 GiB disk: apply converges"
rc=0; mb check "$REPL" --target "image:$S,$N" > "$T/out" 2>&1 || rc=$?
check "(d) 40 GiB disk: check exits 0 ($rc)" test $rc = 0
check "(d) the survivor's os data is unchanged" test "$(rangehash "$S" $OS_FIRST $OS_SECTORS)" = "$os_before"
check "(d) the survivor's recovery partition is unchanged" test "$(rangehash "$S" $REC_FIRST $REC_SECTORS)" = "$rec_before"
sgdisk -p "$N" > "$T/sgp"
check "(d) sgdisk: the plex entry at the survivor's LBA $OS_FIRST-$((OS_FIRST + OS_SECTORS - 1))" \
        grep -Eq "^ +[0-9]+ +$OS_FIRST +$((OS_FIRST + OS_SECTORS - 1)) " "$T/sgp"
last=$(( $(stat -c %s "$N") / 512 - 34 ))
check "(d) sgdisk: a recovery entry (2700), and LDM data up to the last usable LBA $last" \
        sh -c "grep -Eq ' 2700 ' '$T/sgp' && grep -Eq '^ +[0-9]+ +[0-9]+ +$last .* 4200 ' '$T/sgp'"
mb facts --json --target "image:$S,$N" > "$T/facts.json"
check "(d) facts: one mirror, both plexes healthy at byte $((OS_FIRST * 512)), $((OS_SECTORS * 512)) bytes" python3 -c '
import json, sys
f = json.load(open(sys.argv[1]))
v = [v for v in f["volumes"] if v["kind"] == "mirror"]
assert len(v) == 1, v
p = v[0]["plexes"]
assert sorted(x["disk"] for x in p) == [0, 1], p
assert all(x["state"] == "healthy" and x["offset"] == int(sys.argv[2]) and x["length"] == int(sys.argv[3]) for x in p), p
' "$T/facts.json" $((OS_FIRST * 512)) $((OS_SECTORS * 512))
ldmtool scan "$S" "$N" > "$T/ldm.out" 2>/dev/null
check "(d) ldmtool reads one disk group from both disks" test "$(tr -d '[]" \n' < "$T/ldm.out" | wc -c)" -gt 0
finish
