#!/bin/bash
# SPDX-License-Identifier: MIT
# Two depths of verification on the converged seed images: the default check
# trusts the content hash recorded for a recovery file while its NTFS
# identity is unchanged; check --deep (and apply) reads every byte again and
# refreshes the record; an old deep verification makes check deep; a state
# directory or record others can write is refused.
. "$(dirname "$0")/image-cli-lib.sh"
D=$T/d
seed "$D"
L=$(target "$D")
D0=$D/disk0.img D1=$D/disk1.img
S=$T/state
mb 0 "apply on the seed" apply "$SITE" --target "$L"
check "apply made the state directory, mode 0700" test "$(stat -c %a "$S")" = 700
check "apply wrote one record per recovery volume, mode 0600" \
        test "$(find "$S" -name '*.rec' -perm 0600 | wc -l)" = 2
rec1=$(grep -l '' "$S"/*.rec | while read -r f; do grep -q "$(sgdisk -i 4 "$D1" | sed -n 's/^Partition unique GUID: //p' | tr A-Z a-z)" <<<"$f" && echo "$f"; done)
check "disk1's record is named after its recovery partition's GUID" test -n "$rec1"
part "$D1" $REC_LBA $REC_SECTORS "$T/rec1"
check "the record holds Winre.wim's SHA-256 as ntfscat | sha256sum reads it" \
        grep -q " $(ntfscat "$T/rec1" /Winre.wim | sha256sum | cut -d' ' -f1) /Winre.wim\$" "$rec1"

mb 0 "check (default depth)" check "$SITE" --target "$L"
says "$T/out" '^verified: metadata \(file identities against the record; last deep verification 20[0-9-]+ [0-9:]+ UTC\)' \
        "check says it verified from metadata and when the last deep verification ran"
mb 0 "check --deep" check "$SITE" --target "$L" --deep
says "$T/out" '^verified: deep' "check --deep says it read every byte"
mb 0 "check --json" check "$SITE" --target "$L" --json
check "check --json: verification {depth: metadata, last_deep: a UTC time}, valid against schemas/report.schema.json" \
        python3 -c '
import json, re, sys, jsonschema
r = json.load(open(sys.argv[1]))
jsonschema.validate(r, json.load(open("schemas/report.schema.json")))
v = r["verification"]
assert v["depth"] == "metadata", v
assert re.fullmatch(r"20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ", v["last_deep"]), v
' "$T/out"

# ---- a raw write into Winre.wim's clusters, bypassing NTFS ----
lcn=$(ntfsinfo -v -F /Winre.wim "$T/rec1" 2>/dev/null | awk '/Runlist:/ { getline; print $2; exit }')
lcn=$((${lcn:-0}))
csize=$(ntfsinfo -m "$T/rec1" 2>/dev/null | awk '/Cluster Size:/ { print $3; exit }')
check "ntfsinfo: Winre.wim's first cluster ($lcn) and the cluster size ($csize)" test "$lcn" -gt 0 -a "${csize:-0}" -gt 0
printf 'R' | dd of="$D1" bs=1 seek=$((REC_OFF + lcn * csize + 4099)) conv=notrunc status=none
part "$D0" $REC_LBA $REC_SECTORS "$T/rec0"
part "$D1" $REC_LBA $REC_SECTORS "$T/rec1"
ntfscat "$T/rec0" /Winre.wim > "$T/winre0"; ntfscat "$T/rec1" /Winre.wim > "$T/winre1"
check "ntfscat: disk1's Winre.wim differs from disk0's now (cmp exit 1)" \
        sh -c "cmp -s '$T/winre0' '$T/winre1'; [ \$? = 1 ]"
mb 0 "check (default depth) does not see a write that bypassed NTFS" check "$SITE" --target "$L"
says "$T/out" '^verified: metadata' "check verified from metadata"
mb 2 "check --deep finds it" check "$SITE" --target "$L" --deep
says "$T/out" 'recovery of primary \(disk 0\) on secondary \(disk 1\): 1 file differs \(/Winre\.wim\)' \
        "check --deep names /Winre.wim"
mb 2 "and the record now holds what --deep read: the default check finds it too" check "$SITE" --target "$L"
mb 0 "apply repairs it (reads deep, block copy)" apply "$SITE" --target "$L"
part "$D0" $REC_LBA $REC_SECTORS "$T/rec0"
part "$D1" $REC_LBA $REC_SECTORS "$T/rec1"
check "cmp: the recovery partitions are byte-identical again" cmp -s "$T/rec0" "$T/rec1"
mb 0 "check after the repair" check "$SITE" --target "$L"

# ---- ntfscp: ntfs-3g writes the file's data in place and leaves its MFT
# record (times, runs) as it was, so to the default check it is a write that
# bypassed the file system too ----
part "$D1" $REC_LBA $REC_SECTORS "$T/rec1"
ntfscat "$T/rec1" /Winre.wim > "$T/winre"
printf 'C' | dd of="$T/winre" bs=1 seek=77777 conv=notrunc status=none
check "ntfscp writes a Winre.wim with one byte changed into disk1's recovery volume" \
        sh -c "ntfscp -q -f '$T/rec1' '$T/winre' /Winre.wim >/dev/null 2>&1"
ntfsinfo -F /Winre.wim "$T/rec0" 2>/dev/null | grep -i 'time' > "$T/times0"
ntfsinfo -F /Winre.wim "$T/rec1" 2>/dev/null | grep -i 'time' > "$T/times1"
check "ntfsinfo: Winre.wim's times are unchanged by ntfscp" sh -c "test -s '$T/times0' && cmp -s '$T/times0' '$T/times1'"
dd if="$T/rec1" of="$D1" bs=1M oflag=seek_bytes seek=$REC_OFF conv=notrunc status=none
mb 0 "check (default depth) after ntfscp" check "$SITE" --target "$L"
mb 2 "check --deep after ntfscp" check "$SITE" --target "$L" --deep
says "$T/out" '1 file differs \(/Winre\.wim\)' "check --deep names /Winre.wim"
mb 0 "apply repairs it" apply "$SITE" --target "$L"
mb 0 "check --deep after the repair" check "$SITE" --target "$L" --deep

# ---- an old deep verification makes check deep ----
sleep 2
mb 0 "check --deep-age 1s after 2 s" check "$SITE" --target "$L" --deep-age 1s
says "$T/out" '^verified: deep' "an older deep verification than --deep-age: check read every byte"
mb 0 "check --deep-age 7d" check "$SITE" --target "$L" --deep-age 7d
says "$T/out" '^verified: metadata' "within --deep-age: metadata"

# ---- the state directory and the records are refused when others can write them ----
chmod g+w "$S"
mb 1 "check with a group-writable state directory" check "$SITE" --target "$L"
says "$T/err" "$S: refusing a state directory that its group can modify" "check names the directory and why"
chmod g-w "$S"
chmod o+w "$rec1"
mb 1 "check with a record every user can write" check "$SITE" --target "$L"
says "$T/err" "refusing a state file that every user can modify" "check names the record and why"
chmod o-w "$rec1"
mv "$S" "$T/state.real"; ln -s "$T/state.real" "$S"
mb 1 "check with a state directory that is a symbolic link" check "$SITE" --target "$L"
says "$T/err" 'the state directory is a symbolic link' "check refuses the link"
rm "$S"; mv "$T/state.real" "$S"
mb 0 "check with the state directory restored" check "$SITE" --target "$L"
finish
