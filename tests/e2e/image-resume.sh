#!/bin/bash
# Interrupted dynamic-disk operations are finished by the next apply:
#  - a conversion stopped after its GPT write (metadata partition made from
#    the MSR, no database yet): the next apply writes the database;
#  - a mirror add stopped after its database commit (plex recorded, its
#    LDM data GPT entry not written): the next apply writes the entry;
#  - a run killed right after disk 0's "convert dynamic" (disk 0 dynamic,
#    C:'s entry typed LDM data, disk 1 still basic, no mirror): the next
#    run finds the os partition through the LDM database and converges.
# The first two states are made with sgdisk on the seed images, as the
# interruption leaves them; the third by killing a real run
# (MBSTATE_FAULT_KILL at the fault point where disk 1's conversion starts).
#   image-resume.sh MBSTATE MKSEED
set -u
mb=$1 mkseed=$2
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
examples/seed/make-images "$tmp" "$mkseed" >/dev/null || { echo "make-images failed"; echo "image-resume: 0 passed, 1 failed"; exit 1; }
I="image:$tmp/disk0.img,$tmp/disk1.img"
site=examples/seed/site.yaml

# 1. disk0 as a conversion leaves it between the GPT write and the database write
sgdisk -d 2 -n 2:206848:208895 -t 2:4201 -c 2:"LDM metadata partition" \
       -n 5:208896:239615 -t 5:0C01 -c 5:"Microsoft reserved partition" \
       -n 6:67104768:67108830 -t 6:4200 "$tmp/disk0.img" >/dev/null || bad "sgdisk"
"$mb" facts --target "$I" > "$tmp/facts.yaml" && ok || bad "facts on a half-converted disk"
grep -q "dynamic: false" "$tmp/facts.yaml" && ok || bad "a metadata partition without a database is reported as not dynamic"
"$mb" plan "$site" --target "$I" > "$tmp/plan" 2>&1
grep -q "dynamic    primary (disk 0): basic -> dynamic" "$tmp/plan" && ok || bad "plan converts disk 0 again: $(cat "$tmp/plan")"
"$mb" apply "$site" --target "$I" > "$tmp/out" 2>&1 && ok || { bad "apply after an interrupted conversion"; cat "$tmp/out"; }
"$mb" check "$site" --target "$I" >/dev/null && ok || bad "check after resuming the conversion"
ldmtool -d "$tmp/disk0.img" -d "$tmp/disk1.img" scan 2>/dev/null | grep -q '[0-9a-f]\{8\}-' && ok || bad "ldmtool finds the disk group"

# 2. disk1 as a mirror add leaves it between the database commit and its GPT entry
n=$(sgdisk -p "$tmp/disk1.img" | awk '$2==239616 {print $1}')
sgdisk -d "$n" "$tmp/disk1.img" >/dev/null || bad "sgdisk -d"
"$mb" check "$site" --target "$I" > "$tmp/out" 2>&1; rc=$?
[ $rc = 2 ] && ok || bad "check exit $rc, expected 2"
grep -q "plex without its GPT entry (an interrupted add)" "$tmp/out" && ok || bad "check names the interrupted add: $(cat "$tmp/out")"
"$mb" apply "$site" --target "$I" > "$tmp/out" 2>&1 && ok || { bad "apply after an interrupted add"; cat "$tmp/out"; }
"$mb" check "$site" --target "$I" >/dev/null && ok || bad "check after resuming the add"
sgdisk -v "$tmp/disk1.img" | grep -q "No problems found" && ok || bad "sgdisk -v on disk1"
n=$(sgdisk -p "$tmp/disk1.img" | awk '$2==239616 && $3==66031615 {print $1}')
[ -n "$n" ] && sgdisk -i "$n" "$tmp/disk1.img" | grep -q "^Partition GUID code: AF9B60A0-1431-4F62-BC68-3311714A69AD" && ok ||
        bad "the os plex's LDM data entry back at LBA 239616: $(sgdisk -p "$tmp/disk1.img")"

# 3. a run killed after disk 0's conversion, before disk 1's
rm -f "$tmp"/disk*.img
examples/seed/make-images "$tmp" "$mkseed" >/dev/null || bad "make-images"
MBSTATE_FAULT_TRACE="$tmp/trace" "$mb" apply "$site" --target "$I" >/dev/null 2>&1 || bad "traced apply"
k=$(awk '/operation convert-dynamic on disk 1$/ {print $1; exit}' "$tmp/trace")
[ -n "$k" ] && ok || bad "no fault point for disk 1's conversion in the trace"
rm -f "$tmp"/disk*.img "$tmp/trace"
examples/seed/make-images "$tmp" "$mkseed" >/dev/null || bad "make-images"
{ MBSTATE_FAULT_KILL=1 MBSTATE_FAULT_AT=${k:-0} "$mb" apply "$site" --target "$I" >/dev/null 2>&1; } 2>/dev/null
"$mb" facts --json --target "$I" > "$tmp/facts.json" && ok || bad "facts after the killed run"
python3 - "$tmp/facts.json" <<'PY' && ok || bad "facts: disk 0 dynamic with its os partition (LDM data, from the database), disk 1 basic"
import json, sys
f = json.load(open(sys.argv[1]))
d0, d1 = f["disks"]
assert d0["dynamic"] and not d1["dynamic"], (d0["dynamic"], d1["dynamic"])
os = [p for p in d0["partitions"] if p["role"] == "os"]
assert len(os) == 1 and os[0]["type_guid"] == "af9b60a0-1431-4f62-bc68-3311714a69ad", d0["partitions"]
assert (os[0]["first_lba"], os[0]["last_lba"]) == (239616, 66031615), os
v = [v for v in f["volumes"] if any(x["disk"] == 0 and x["offset"] == 239616 * 512 for x in v["plexes"])]
assert len(v) == 1 and v[0]["kind"] == "simple", f["volumes"]
PY
"$mb" plan "$site" --target "$I" > "$tmp/plan" 2>&1; rc=$?
[ $rc = 2 ] && grep -q "dynamic    secondary (disk 1): basic -> dynamic" "$tmp/plan" &&
        grep -q "mirror     os mirror plex on secondary (disk 1): no plex" "$tmp/plan" &&
        ! grep -q "dynamic    primary" "$tmp/plan" && ok || bad "plan (exit $rc) finishes the run: $(cat "$tmp/plan")"
"$mb" apply "$site" --target "$I" > "$tmp/out" 2>&1 && ok || { bad "apply after the killed run"; cat "$tmp/out"; }
"$mb" check "$site" --target "$I" >/dev/null && ok || bad "check after finishing the killed run"
"$mb" apply "$site" --target "$I" 2>/dev/null | grep -q '^No changes' && ok || bad "a second apply changes nothing"
for d in 0 1; do
        n=$(sgdisk -p "$tmp/disk$d.img" | awk '$2==239616 && $3==66031615 {print $1}')
        [ -n "$n" ] && sgdisk -i "$n" "$tmp/disk$d.img" | grep -q "^Partition GUID code: AF9B60A0-1431-4F62-BC68-3311714A69AD" && ok ||
                bad "disk $d: C:'s entry is LDM data: $(sgdisk -p "$tmp/disk$d.img")"
        sgdisk -v "$tmp/disk$d.img" | grep -q "No problems found" && ok || bad "sgdisk -v disk$d"
done
ldmtool -d "$tmp/disk0.img" -d "$tmp/disk1.img" scan 2>/dev/null | tr -d ' \n' > "$tmp/scan"
g=$(grep -o '"[0-9a-f]\{8\}-[0-9a-f-]*"' "$tmp/scan" | head -1 | tr -d '"')
ldmtool -d "$tmp/disk0.img" -d "$tmp/disk1.img" show volume "$g" Volume1 2>/dev/null | grep -q '"type" : "mirrored"' && ok ||
        bad "ldmtool reads Volume1 of group '$g' as mirrored"
echo "image-resume: $pass passed, $fail failed"
[ "$fail" = 0 ]
