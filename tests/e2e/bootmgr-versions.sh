#!/bin/bash
# SPDX-License-Identifier: MIT
#
# A boot manager is never downgraded, nor replaced by a revoked one, by the
# ESP clone; `clones: from: booted` spreads the one the machine booted from.
# Two stand-in boot managers differ in the FileVersion of their VERSIONINFO
# resource (tests/e2e/standin: a UEFI application built by mingw-w64, the
# resource compiled by windres, both signed with the snakeoil key), and
# windres reading the built files back must report the same versions
# mbstate reads. On the seed images made a Secure Boot machine:
#   - disk 1 holds the newer boot manager (Windows serviced it while booted
#     from disk 1): plan shows the conflict with both versions and what to
#     do; apply converges the rest (a recovery attribute) and exits 1;
#     disk 1's boot manager is untouched; check exits 2 naming it;
#   - from: booted with booted= naming disk 1's ESP: apply copies disk 1's
#     ESP to disk 0, the newer boot manager spreads; check is clean;
#   - from: booted without booted=: an error naming what is missing;
#   - the source's boot manager digest in dbx: the clone refuses to spread it.
#
# Usage: bootmgr-versions.sh MBSTATE MKSEED MAKE_IMAGES MBPE
. "$(dirname "$0")/image-cli-lib.sh"
MBPE=${4:?mbpe}
for t in x86_64-w64-mingw32-gcc x86_64-w64-mingw32-windres sbsign osslsigncode; do
        command -v $t >/dev/null || { echo "FAIL: bootmgr-versions needs $t (scripts/deps.sh installs mingw-w64 sbsigntool osslsigncode)"; exit 1; }
done
OLD=10.0.20348.1 NEW=10.0.20348.2169

# ---- two stand-in builds ----
for v in $OLD $NEW; do
        sh tests/e2e/standin/build.sh "$T/u-$v.efi" $v || { echo "FAIL: building the stand-in $v"; exit 1; }
        openssl pkey -in /usr/share/ovmf/PkKek-1-snakeoil.key -passin pass:snakeoil -out "$T/k.pem" 2>/dev/null
        sbsign --key "$T/k.pem" --cert /usr/share/ovmf/PkKek-1-snakeoil.pem --output "$T/$v.efi" "$T/u-$v.efi" 2>/dev/null
        "$MBPE" "$T/$v.efi" >"$T/$v.mbpe"
        check "stand-in $v: mbstate reads FileVersion $v" grep -q "^version: $v$" "$T/$v.mbpe"
        check "stand-in $v: windres reads it back as FILEVERSION $(echo $v | sed 's/\./, /g')" \
                grep -q "^ FILEVERSION $(echo $v | sed 's/\./, /g')$" <(x86_64-w64-mingw32-windres -i "$T/$v.efi" -O rc 2>/dev/null)
        check "stand-in $v: the Authenticode digest equals osslsigncode's" \
                test "$(sed -n 's/^authenticode_sha256: //p' "$T/$v.mbpe")" = \
                "$(osslsigncode verify -in "$T/$v.efi" 2>&1 | sed -n 's/^Calculated message digest *: *\([0-9A-F]*\).*/\1/p' | tr A-F a-f)"
done

# ---- the seed, converged, Secure Boot ----
D=$T/seed
"$MAKE_IMAGES" --secure-boot "$D" "$MKSEED" >/dev/null
D0=$D/disk0.img D1=$D/disk1.img
L="image:$D0,$D1,nvram=$D/vars.fd"
mb 0 "apply the site" apply "$SITE" --target "$L"
put() { mcopy -o -i "$1@@$ESP_OFF" "$2" ::/EFI/Microsoft/Boot/bootmgfw.efi; }
get() { mcopy -n -i "$1@@$ESP_OFF" ::/EFI/Microsoft/Boot/bootmgfw.efi - | sha256sum | cut -c1-64; }
put "$D0" "$T/$OLD.efi"
put "$D1" "$T/$NEW.efi"
# and something else to converge: disk 1's recovery partition loses an
# attribute (sgdisk), a partition change apply makes while the ESP conflict stands
sgdisk --attributes=4:clear:63 "$D1" >/dev/null
NEWSUM=$(sha256sum <"$T/$NEW.efi" | cut -c1-64)

# ---- the newer boot manager on disk 1 is not downgraded ----
mb 2 "plan: drift (exit 2)" plan "$SITE" --target "$L"
says "$T/out" "^conflict: efi of primary \(disk 0\) on secondary \(disk 1\): not copying the ESP of primary \(disk 0\): it would downgrade secondary \(disk 1\)'s .EFI.Microsoft.Boot.bootmgfw.efi from version $NEW, sha256 [0-9a-f]{64} to version $OLD, sha256 [0-9a-f]{64}" \
        "plan shows the conflict with both versions"
says "$T/out" "clone from it \(from: booted" "plan says what to do"
echo "--- mbstate plan, disk 1 holding the newer boot manager:"
grep -E "^(conflict|No changes|  *[0-9]+\.)" "$T/out" | sed 's/^/    /'
says "$T/out" "partition +secondary \(disk 1\) recovery: attributes" "plan still lists the recovery partition's attributes"
mb 2 "plan --json" plan "$SITE" --target "$L" --json
check "plan --json: the efi clone's state is conflict, the conflict is listed" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
st = {r["subject"]: r["state"] for r in d["resources"]}
assert st["efi of primary (disk 0) on secondary (disk 1)"] == "conflict", st
assert len(d["conflicts"]) == 1 and "would downgrade" in d["conflicts"][0], d["conflicts"]
assert d["in_desired_state"] is False' "$T/out"
check "plan --json matches schemas/report.schema.json" python3 -c '
import json, sys, jsonschema
jsonschema.validate(json.load(open(sys.argv[1])), json.load(open("schemas/report.schema.json")))' "$T/out"
mb 1 "apply: exit 1 for the conflict" apply "$SITE" --target "$L"
says "$T/out" "^converged: 1 change applied" "apply converges the rest (the recovery partition's attributes)"
says "$T/out" "^conflict: efi of primary \(disk 0\) on secondary \(disk 1\)" "apply reports the conflict"
check "disk 1's newer boot manager is untouched" test "$(get "$D1")" = "$NEWSUM"
mb 2 "check: drift (exit 2) while the conflict stands" check "$SITE" --target "$L"
says "$T/out" "^conflict: .*would downgrade" "check names the conflict"

# ---- from: booted ----
# Booted from disk 1's ESP, disk 1 is the system disk (its ESP is the system
# partition), so primary is named by number here: { system: true } would
# select disk 1, which secondary's { number: 1 } selects too.
sed -e 's/{ role: efi,      from: primary, to: \[secondary\] }/{ role: efi, from: booted, to: [primary, secondary] }/' \
    -e 's/match: { system: true } /match: { number: 0 }    /' \
        "$SITE" >"$T/site-booted.yaml"
check "the from: booted site names primary by number" grep -q "match: { number: 0 }" "$T/site-booted.yaml"
check "the from: booted site names from: booted" grep -q "from: booted, to: \[primary, secondary\]" "$T/site-booted.yaml"
mb 0 "validate accepts from: booted" validate "$T/site-booted.yaml"
sed 's/from: booted, to: \[primary, secondary\]/from: booted, to: [secondary]/' "$T/site-booted.yaml" >"$T/site-booted1.yaml"
mb 1 "validate refuses from: booted with one target" validate "$T/site-booted1.yaml"
says "$T/err" "site-booted1.yaml:[0-9]+:[0-9]+: .*from: booted: expected every disk that may have booted under 'to'" \
        "... located, saying what is expected"
mb 1 "from: booted without booted=: an error" plan "$T/site-booted.yaml" --target "$L"
says "$T/err" "from: booted: the target does not say which ESP the machine booted from .*booted=GUID" \
        "... naming what is missing"
ESP1=$(sgdisk -i 1 "$D1" | sed -n 's/^Partition unique GUID: *//p' | tr A-Z a-z)
LB="image:$D0,$D1,nvram=$D/vars.fd,booted=$ESP1"
mb 0 "apply from: booted (disk 1's ESP)" apply "$T/site-booted.yaml" --target "$LB"
says "$T/out" "^converged: " "apply copies the booted disk's ESP"
check "disk 0 now has the newer boot manager" test "$(get "$D0")" = "$NEWSUM"
check "disk 1 keeps it" test "$(get "$D1")" = "$NEWSUM"
mb 0 "check from: booted: in desired state" check "$T/site-booted.yaml" --target "$LB"
mb 0 "check with from: primary: in desired state too" check "$SITE" --target "$L"

# ---- a revoked boot manager is not spread ----
put "$D1" "$T/$OLD.efi"
cp "$D/vars.fd" "$D/vars.dbx.fd"
"$MBPE" --dbx-add "$D/vars.dbx.fd" "$(sed -n 's/^authenticode_sha256: //p' "$T/$NEW.mbpe")"
mb 2 "plan with disk 0's boot manager revoked: drift" plan "$SITE" --target "image:$D0,$D1,nvram=$D/vars.dbx.fd"
says "$T/out" "^conflict: efi of primary \(disk 0\) on secondary \(disk 1\): not copying the ESP of primary \(disk 0\): its .EFI.Microsoft.Boot.bootmgfw.efi \(version $NEW, sha256 [0-9a-f]{64}\) is revoked by dbx; secondary \(disk 1\) keeps its own \(version $OLD" \
        "plan refuses to spread the revoked boot manager, naming both"
echo "--- mbstate plan, disk 0's boot manager revoked by dbx:"
grep "^conflict" "$T/out" | sed 's/^/    /'
mb 2 "check with disk 0's boot manager revoked: drift" check "$SITE" --target "image:$D0,$D1,nvram=$D/vars.dbx.fd" --json
check "... and predicts disk 0 starts only through its fallback, the revoked boot manager refused" python3 -c '
import json, sys
b = {x["disk"]: x for x in json.load(open(sys.argv[1]))["boot"]}
assert b["primary"]["bootable"] and b["primary"]["via"] == "the fallback \\EFI\\Boot\\bootx64.efi", b
assert b["secondary"]["bootable"] and b["secondary"]["via"].startswith("Boot"), b' "$T/out"
finish
