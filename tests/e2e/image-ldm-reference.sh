#!/bin/sh
# SPDX-License-Identifier: MIT
# `mbstate facts --target image:...` on every image set of the dynamic disks
# written by Windows Server 2003 R2 (MBR) and 2008 R2 (GPT) in
# ../shared/testdata/ldm (or $MB_TESTDATA/ldm): the disk groups, volumes
# (kind, size), plexes and extents must match the README's table and what
# ldmtool reads from the same images. Skipped (77) without the reference data
# (../shared/testdata is not part of the repository); fails without ldmtool.
#
# Usage: image-ldm-reference.sh MBSTATE
set -eu
MBSTATE=${1:?mbstate}
DATA=${MB_TESTDATA:-../shared/testdata}
TAR=$DATA/ldm/ldm-data.tar.xz
if [ ! -r "$TAR" ]; then
        echo "SKIP: reference data $TAR not found (set MB_TESTDATA to the shared testdata folder)"
        exit 77
fi
# ldmtool is installed by scripts/deps.sh: without it the set-up is broken, not the test skipped
command -v ldmtool >/dev/null || { echo "FAIL: ldmtool is not installed (package ldmtool, scripts/deps.sh)"; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/mbstate-ldmref.XXXXXX")
trap 'rm -rf "$T"' EXIT
trap 'exit 143' INT TERM
tar -xJf "$TAR" -C "$T"
FAILS=0

G2003=03c0c4fc-8b6f-402b-9431-4be2e5823b1c
G2008=06495a84-fbfd-11e1-8cf9-52540061f5db

# one SET: OS GROUP KIND IMAGE-SUFFIXES VOLUME LDM-KIND [SECTORS]
set_check() {
        os=$1 group=$2 kind=$3 parts=$4 vol=$5 ldmkind=$6 sectors=${7:-}
        list= args=
        for n in $parts; do
                img=$T/ldm-$os-$kind-$n.img
                list=${list:+$list,}$img
                args="$args -d $img"
        done
        # shellcheck disable=SC2086
        ldmtool $args show diskgroup "$group" 2>/dev/null > "$T/dg.json"
        for v in $(python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["volumes"]))' "$T/dg.json"); do
                # shellcheck disable=SC2086
                ldmtool $args show volume "$group" "$v" 2>/dev/null
        done | python3 -c 'import json,sys; d=json.JSONDecoder(); s=sys.stdin.read(); o=[]; i=0
while True:
    s2=s[i:].lstrip()
    if not s2: break
    x,n=d.raw_decode(s2); o.append(x); i=len(s)-len(s2)+n
json.dump(o, open(sys.argv[1], "w"))' "$T/ldmtool.json"
        if ! "$MBSTATE" facts --json --target "image:$list" > "$T/facts.json" 2> "$T/err"; then
                echo "FAIL: $os $kind: facts failed: $(cat "$T/err")" >&2
                FAILS=$((FAILS + 1))
                return
        fi
        if python3 - "$T/facts.json" "$T/ldmtool.json" "$group" "$vol" "$ldmkind" "$sectors" <<'EOF'
import json, sys
facts = json.load(open(sys.argv[1])); ldm = json.load(open(sys.argv[2]))
group, vol, kind, sectors = sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
fkind = {"mirrored": "mirror"}.get(kind, kind)
disks = facts["disks"]
assert all(d["dynamic"] and d["dynamic_group"] == group for d in disks), \
    "every image is a dynamic disk of %s: %s" % (group, [(d["dynamic"], d.get("dynamic_group")) for d in disks])
vols = {v["name"]: v for v in facts["volumes"]}
assert all(v["group"] == group for v in vols.values())
# the README's row: this set's volume, its kind, extents on every image
v = vols.get(vol)
assert v, "volume %s not in facts (%s)" % (vol, sorted(vols))
assert v["kind"] == fkind, "%s is %s, expected %s" % (vol, v["kind"], fkind)
if sectors:
    assert v["size"] == int(sectors) * 512, "%s is %d bytes" % (vol, v["size"])
present = sorted(p["disk"] for p in v["plexes"] if p["disk"] >= 0)
assert present == list(range(len(disks))), "%s has extents on disks %s" % (vol, present)
for p in v["plexes"]:
    if p["disk"] >= 0:
        assert p["state"] == "healthy" and p["ldm_disk"] == [d for d in disks if d["number"] == p["disk"]][0]["dynamic_name"], p
        assert p["offset"] % 512 == 0 and p["length"] > 0, p
# the whole group agrees with ldmtool: names, types, sizes, extents by LDM disk
assert sorted(vols) == sorted(o["name"] for o in ldm), (sorted(vols), [o["name"] for o in ldm])
for o in ldm:
    f = vols[o["name"]]
    assert f["kind"] == {"mirrored": "mirror"}.get(o["type"].lower(), o["type"].lower()), (o["name"], f["kind"], o["type"])
    assert f["size"] == o["size"] * 512, (o["name"], f["size"], o["size"])
    assert len(f["plexes"]) == len(o["partitions"]), (o["name"], f["plexes"], o["partitions"])
    assert sorted(p["ldm_disk"] for p in f["plexes"]) == sorted(x.rsplit("-", 1)[0] for x in o["partitions"]), o
print("ok: %s: %s %s %s, extents on %d image(s), %d volumes as ldmtool reads them"
      % (group, vol, fkind, v["size"] // 512, len(disks), len(vols)))
EOF
        then :; else
                echo "FAIL: $os $kind ($list)" >&2
                FAILS=$((FAILS + 1))
        fi
}

set_check 2003r2 $G2003 simple "1" Volume1 simple
set_check 2003r2 $G2003 spanned "1 2" Volume2 spanned
set_check 2003r2 $G2003 striped "1 2" Stripe1 striped
set_check 2003r2 $G2003 mirrored "1 2" Volume3 mirrored
set_check 2003r2 $G2003 raid5 "1 2 3" Raid1 raid5
set_check 2008r2 $G2008 spanned "1 2" Volume1 spanned
set_check 2008r2 $G2008 striped "1 2" Volume2 striped
set_check 2008r2 $G2008 mirrored "1 2" Volume3 mirrored 32768
set_check 2008r2 $G2008 raid5 "1 2 3" Volume4 raid5

# the MBR dynamic disks are read as such, and their facts do not fail
"$MBSTATE" facts --json --target "image:$T/ldm-2003r2-mirrored-1.img" > "$T/f.json"
if python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["disks"][0]; assert d["style"] == "mbr" and d["dynamic"], d' "$T/f.json"; then
        echo "ok: a 2003 R2 MBR dynamic disk alone: style mbr, dynamic"
else
        echo "FAIL: 2003 R2 MBR dynamic disk alone" >&2; FAILS=$((FAILS + 1))
fi
if [ $FAILS -ne 0 ]; then echo "$FAILS check(s) failed" >&2; exit 1; fi
echo "all checks passed"
