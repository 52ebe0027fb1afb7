#!/bin/bash
# Interrupted dynamic-disk operations are finished by the next apply:
#  - a conversion stopped after its GPT write (metadata partition made from
#    the MSR, no database yet): the next apply writes the database;
#  - a mirror add stopped after its database commit (plex recorded, its
#    retained GPT entry not written): the next apply writes the entry.
# Each state is made with sgdisk on the seed images, as the interruption
# leaves it.
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
sgdisk -p "$tmp/disk1.img" | awk '$2==239616' | grep -q 0700 && ok || bad "retained os entry back at LBA 239616"
echo "image-resume: $pass passed, $fail failed"
[ "$fail" = 0 ]
