#!/bin/bash
# SPDX-License-Identifier: MIT
# GitHub issue 3 through the real CLI: `mbstate apply` with
# tests/data/site-no-mirror.yaml turns the seed's blank disk1 into a copy of
# disk0's boot drive (partitions, recovery clone, cloned boot manager, ESP),
# `check` then agrees and a second `apply` writes nothing. Every result is
# read back by tools nobody here wrote: sgdisk, fsck.fat, blkid, mtools,
# hivexsh, reglookup, cmp, sha256sum, openssl. Then `mbstate facts` is checked against
# them, field by field (DESIGN.md §3).
. "$(dirname "$0")/image-cli-lib.sh"
D=$T/seed
seed "$D"
L=$(target "$D")
D0=$D/disk0.img D1=$D/disk1.img

# ---- apply on the seed images ----
mb 2 "check on the seed: drift" check "$SITE" --target "$L"
says "$T/out" '^drift: 10 changes' "check lists the 10 changes"
says "$T/out" 'secondary \(disk 1\): not initialized' "check names the blank disk"
check "check wrote nothing to disk1 (still all holes)" test "$(stat -c %b "$D1")" = 0
mb 0 "apply on the seed" apply "$SITE" --target "$L"
says "$T/out" '^converged: 10 changes applied' "apply reports 10 changes"
mb 0 "check after apply" check "$SITE" --target "$L"
says "$T/out" '^in desired state' "check says in desired state"
imgsum "$D0" "$D1" > "$T/sum1"
mb 0 "second apply" apply "$SITE" --target "$L" --json
check "second apply: changed false, nothing applied" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["changed"] is False and d["in_desired_state"] is True and d["applied"] == [], d' "$T/out"
imgsum "$D0" "$D1" > "$T/sum2"
check "second apply wrote nothing (SHA-256 of every data extent, mtime)" cmp -s "$T/sum1" "$T/sum2"

# ---- sgdisk ----
for n in 0 1; do
        check "sgdisk -v disk$n.img: No problems found, no warning" sgdisk_clean "$D/disk$n.img"
        echo "    sgdisk -v disk$n.img: $(grep -m1 . "$T/sgv")"
done
check "sgdisk -p disk1: first usable sector 34 (as Windows writes)" \
        sh -c "sgdisk -p '$D1' | grep -q 'First usable sector is 34,'"
check "sgdisk -p disk1: exactly 4 partitions" test "$(sgdisk -p "$D1" | sed '1,/^Number/d' | wc -l)" = 4
want_type=(- C12A7328-F81F-11D2-BA4B-00A0C93EC93B E3C9E316-0B5C-4DB8-817D-F92DF00215AE
        EBD0A0A2-B9E5-4433-87C0-68B6B72699C7 DE94BBA4-06D1-4D40-A16A-BFD50179D6AC)
want_attr=(- 0000000000000000 0000000000000000 0000000000000000 8000000000000001)
for n in 1 2 3 4; do
        check "sgdisk -i $n disk1: type ${want_type[$n]}" \
                test "$(sg "$D1" $n 'Partition GUID code' | cut -d' ' -f1)" = "${want_type[$n]}"
        check "sgdisk -i $n disk1: attribute flags ${want_attr[$n]}" \
                test "$(sg "$D1" $n 'Attribute flags')" = "${want_attr[$n]}"
        for k in 'First sector' 'Last sector' 'Partition name'; do
                check "sgdisk -i $n: $k as on disk0 ($(sg "$D1" $n "$k"))" \
                        test "$(sg "$D1" $n "$k")" = "$(sg "$D0" $n "$k")"
        done
        check "sgdisk -i $n: a unique GUID of its own" \
                test "$(sg "$D1" $n 'Partition unique GUID')" != "$(sg "$D0" $n 'Partition unique GUID')"
done
echo "    sgdisk -i 4 disk1.img: Attribute flags: $(sg "$D1" 4 'Attribute flags')"

# ---- fsck.fat, blkid ----
for n in 0 1; do
        part "$D/disk$n.img" $ESP_LBA $ESP_SECTORS "$T/esp$n"
        check "fsck.fat -n on disk$n's ESP" sh -c "fsck.fat -n '$T/esp$n' > '$T/fsck$n' 2>&1"
        echo "    fsck.fat -n disk$n ESP: $(tail -1 "$T/fsck$n")"
        check "blkid -p: disk$n ESP is vfat FAT32 labelled SYSTEM" \
                test "$(blkid -p -O $ESP_OFF -s TYPE -s VERSION -s LABEL -o value "$D/disk$n.img" | sort | tr '\n' ' ')" = "FAT32 SYSTEM vfat "
        check "blkid -p: disk$n OS partition is ntfs" test "$(blkid -p -O $OS_OFF -s TYPE -o value "$D/disk$n.img")" = ntfs
        check "blkid -p: disk$n recovery partition is ntfs" test "$(blkid -p -O $REC_OFF -s TYPE -o value "$D/disk$n.img")" = ntfs
        echo "    blkid -p -O $ESP_OFF disk$n.img: $(blkid -p -O $ESP_OFF "$D/disk$n.img" | cut -d' ' -f2-)"
done
check "blkid: the ESPs have different volume serials (formatted, not cloned)" \
        test "$(blkid -p -O $ESP_OFF -s UUID -o value "$D0")" != "$(blkid -p -O $ESP_OFF -s UUID -o value "$D1")"
check "blkid: the recovery NTFS serials are equal (block clone)" \
        test "$(blkid -p -O $REC_OFF -s UUID -o value "$D0")" = "$(blkid -p -O $REC_OFF -s UUID -o value "$D1")"

# ---- recovery: byte-identical ----
part "$D0" $REC_LBA $REC_SECTORS "$T/rec0"
part "$D1" $REC_LBA $REC_SECTORS "$T/rec1"
check "recovery partitions are byte-identical (cmp on dd extracts)" cmp "$T/rec0" "$T/rec1"

# ---- ESPs: file-identical, BCD included ----
espsums "$D0" > "$T/files0"
espsums "$D1" > "$T/files1"
check "ESP file lists and SHA-256 sums match (mdir, mcopy | sha256sum)" cmp -s "$T/files0" "$T/files1"
check "the ESPs hold 14 files" test "$(wc -l < "$T/files1")" = 14
check "disk1's ESP carries the BCD" grep -q ' /EFI/Microsoft/Boot/BCD$' "$T/files1"
mdir -/ -b -a -i "$(esp "$D0")" ::/ | sort > "$T/m0"; mdir -/ -b -a -i "$(esp "$D1")" ::/ | sort > "$T/m1"
check "mdir listings identical, directories included" cmp -s "$T/m0" "$T/m1"

# ---- the BCD: the cloned boot manager points at disk1's ESP ----
mcopy -n -i "$(esp "$D0")" ::/EFI/Microsoft/Boot/BCD "$T/BCD0"
mcopy -n -i "$(esp "$D1")" ::/EFI/Microsoft/Boot/BCD "$T/BCD1"
check "the BCD on disk1's ESP equals the system store on disk0's" cmp -s "$T/BCD0" "$T/BCD1"
bcdobjs "$T/BCD1" > "$T/objs"
sed 's/^/    reglookup: /' "$T/objs"
check "reglookup: {bootmgr} is a boot manager (0x10100002) 'Windows Boot Manager'" \
        grep -qx '{9dea862c-5cdd-4e70-acc1-f32b344d4795} 0x10100002 Windows Boot Manager' "$T/objs"
check "reglookup: one 'Windows Boot Manager Cloned', type 0x10100002" \
        test "$(grep -c ' 0x10100002 Windows Boot Manager Cloned$' "$T/objs")" = 1
check "reglookup: the OS loader 'Windows Server' (0x10200003) is still there" \
        grep -q ' 0x10200003 Windows Server$' "$T/objs"
cid=$(grep ' Windows Boot Manager Cloned$' "$T/objs" | cut -d' ' -f1)
printf 'cd \\Objects\\%s\\Description\nlsval\ncd \\Objects\\%s\\Elements\\11000001\nlsval\ncd \\Objects\\%s\\Elements\\12000004\nlsval\n' \
        "$cid" "$cid" "$cid" | hivexsh "$T/BCD1" > "$T/hivex" 2>&1
sed 's/^/    hivexsh: /' "$T/hivex" | cut -c1-160
check "hivexsh: the cloned object's type is dword:10100002" grep -qx '"Type"=dword:10100002' "$T/hivex"
check "hivexsh: its description element" grep -q '"Element"=.*Windows Boot Manager Cloned' "$T/hivex"
esp1=$(sg "$D1" 1 'Partition unique GUID')
g1=$(sgdisk -p "$D1" | sed -n 's/^Disk identifier (GUID): //p')
check "hivexsh: its device element names disk1's ESP ($esp1) on disk1 ($g1)" \
        grep -q "$(guid_bytes "$esp1").*$(guid_bytes "$g1")" "$T/hivex"

# ---- facts: everything DESIGN.md §3 names, from the bytes ----
mb 0 "facts (YAML)" facts --target "$L"
cp "$T/out" "$T/facts.yaml"
mb 0 "facts --json" facts --target "$L" --json
cp "$T/out" "$T/facts.json"
mb 0 "the YAML facts load back (snapshot target) and print identically" facts --target "snapshot:$T/facts.yaml"
check "facts of the facts file = the facts" cmp -s "$T/out" "$T/facts.yaml"
sgdisk -p "$D0" | sed -n 's/^Disk identifier (GUID): //p' > "$T/g0"
for n in 0 1; do for i in 1 2 3 4; do sg "$D/disk$n.img" $i 'Partition unique GUID'; done; done > "$T/uniq"
ntfssums "$T/rec0" > "$T/recfiles0"; ntfssums "$T/rec1" > "$T/recfiles1"
blkid -p -O $ESP_OFF -s LABEL -o value "$D1" > "$T/esplabel"
check "facts --json: every field of DESIGN.md §3, equal to what the tools read" python3 - \
        "$T/facts.json" "$T/facts.yaml" "$T" "$g1" <<'PY'
import json, sys, yaml
j = json.load(open(sys.argv[1]))
y = yaml.safe_load(open(sys.argv[2]))
T, g1 = sys.argv[3], sys.argv[4].lower()
assert j == y, "YAML and JSON facts differ"
rd = lambda n: open(T + "/" + n).read().split()
assert j["version"] == 1 and j["target"].startswith("image:")
disk_keys = {"number", "path", "serial", "unique_id", "size", "sector_size", "online",
             "read_only", "system", "style", "disk_guid", "first_usable_lba", "last_usable_lba",
             "dynamic", "partitions"}
part_keys = {"number", "role", "type_guid", "unique_guid", "name", "first_lba", "last_lba",
             "attributes", "fs"}
assert [d["number"] for d in j["disks"]] == [0, 1]
for d in j["disks"]:
    missing = disk_keys - d.keys()
    assert not missing, ("disk", d["number"], missing)
    assert d["size"] == 34359738368 and d["sector_size"] == 512 and d["style"] == "gpt"
    assert d["online"] is True and d["read_only"] is False and d["dynamic"] is False
    assert d["first_usable_lba"] == 34 and d["last_usable_lba"] == 67108830
    assert d["serial"].startswith("IMG-") and d["unique_id"] == d["disk_guid"]
    assert [p["role"] for p in d["partitions"]] == ["efi", "msr", "os", "recovery"]
    for p in d["partitions"]:
        missing = part_keys - p.keys()
        assert not missing, ("partition", d["number"], p["number"], missing)
assert j["disks"][0]["system"] is True and j["disks"][1]["system"] is False
assert j["disks"][0]["disk_guid"] == rd("g0")[0].lower(), "disk 0 GUID vs sgdisk"
assert j["disks"][1]["disk_guid"] == g1, "disk 1 GUID vs sgdisk"
uniq = [u.lower() for u in rd("uniq")]
assert [p["unique_guid"] for d in j["disks"] for p in d["partitions"]] == uniq, "unique GUIDs vs sgdisk"
for d in j["disks"]:
    e, m, o, r = d["partitions"]
    assert (e["first_lba"], e["last_lba"], e["fs"], e["type_guid"]) == (2048, 206847, "fat32", "c12a7328-f81f-11d2-ba4b-00a0c93ec93b")
    assert e["label"] == open(T + "/esplabel").read().strip() == "SYSTEM"
    assert m["fs"] == "none" and o["fs"] == "ntfs" and r["fs"] == "ntfs"
    assert r["attributes"] == 0x8000000000000001 and e["attributes"] == 0
    # the recovery volume is described by its files, read through NTFS
    assert "content_sha256" not in r, "recovery compared by its files, not its bytes"
    rf = {f["path"]: (f["sha256"], f["size"]) for f in r["files"]}
    tool = open(T + "/recfiles%d" % d["number"]).read().split()
    assert rf == {"/" + p: (s, int(n)) for s, n, p in zip(tool[0::3], tool[1::3], tool[2::3])}, \
        "recovery files vs ntfsls + ntfscat | sha256sum"
    assert set(rf) == {"/Winre.wim", "/ReAgent.xml"}, rf
    files = {f["path"]: (f["sha256"], f["size"]) for f in e["files"]}
    tool = dict((p, s) for s, p in zip(rd("files%d" % d["number"])[0::2], rd("files%d" % d["number"])[1::2]))
    assert {p: s for p, (s, _) in files.items()} == tool, "ESP files vs mcopy | sha256sum"
    assert files["/EFI/Microsoft/Boot/BCD"][1] > 8192
bcd = j["bcd"]
assert bcd["store"].startswith("disk 0 partition 1") and bcd["store"].endswith("/EFI/Microsoft/Boot/BCD")
objs = {o["id"]: o for o in bcd["objects"]}
for o in bcd["objects"]:
    assert {"id", "type"} <= o.keys(), o
bm = objs["{bootmgr}"]
assert bm["type"] == "boot-manager" and bm["description"] == "Windows Boot Manager"
assert bm["path"] == "\\EFI\\Microsoft\\Boot\\bootmgfw.efi" and bm["displayorder"]
assert bm["device"]["partition"] == j["disks"][0]["partitions"][0]["unique_guid"]
cl = [o for o in bcd["objects"] if o.get("description") == "Windows Boot Manager Cloned"]
assert len(cl) == 1 and cl[0]["type"] == "boot-manager"
assert cl[0]["device"] == {"kind": "partition", "partition": j["disks"][1]["partitions"][0]["unique_guid"], "disk": g1}
ld = objs[bm["displayorder"][0]]
assert ld["type"] == "os-loader" and ld["description"] == "Windows Server" and ld["path"].endswith("winload.efi")
assert ld["osdevice"]["partition"] == j["disks"][0]["partitions"][2]["unique_guid"]
# no dynamic disk here: no volumes; no firmware store without nvram=
assert not j.get("volumes") and "firmware" not in j
PY
# The per-disk boot verdict (bootability.h): each disk that holds an ESP,
# judged on its own; the snapshot above printed it back identically.
check "facts: both converged disks would boot on their own, through the boot manager" python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
for d in j["disks"]:
    b = d["boot"]
    assert b["bootable"] is True and b["secure_boot"] is False and "reason" not in b, d["number"]
    assert b["via"] == "the boot manager \\EFI\\Microsoft\\Boot\\bootmgfw.efi", b' "$T/facts.json"
copyset "$D" "$T/nobm"
mdel -i "$(esp "$T/nobm/disk1.img")" ::/EFI/Microsoft/Boot/bootmgfw.efi
mb 0 "facts: disk 1 without bootmgfw.efi" facts --target "$(target "$T/nobm")" --json
check "facts: disk 1 without bootmgfw.efi starts through the fallback, disk 0 through the boot manager" python3 -c '
import json, sys
d0, d1 = json.load(open(sys.argv[1]))["disks"]
assert d0["boot"]["bootable"] and d0["boot"]["via"].endswith("bootmgfw.efi"), d0["boot"]
assert d1["boot"] == {"bootable": True, "secure_boot": False, "via": "the fallback \\EFI\\Boot\\bootx64.efi"}, d1["boot"]' "$T/out"
mdel -i "$(esp "$T/nobm/disk1.img")" ::/EFI/Boot/bootx64.efi
mb 0 "facts: disk 1 without bootmgfw.efi and bootx64.efi" facts --target "$(target "$T/nobm")"
cp "$T/out" "$T/nobm.yaml"
check "facts: disk 1 would not boot, and says why" python3 -c '
import sys, yaml
d0, d1 = yaml.safe_load(open(sys.argv[1]))["disks"]
assert d0["boot"]["bootable"] is True, d0["boot"]
assert d1["boot"] == {"bootable": False, "secure_boot": False, "reason":
    "the boot manager names \\EFI\\Microsoft\\Boot\\bootmgfw.efi, which is not on disk 1'"'"'s ESP; "
    "no fallback \\EFI\\Boot\\bootx64.efi"}, d1["boot"]' "$T/nobm.yaml"
mb 0 "the facts of the unbootable disk load back as a snapshot" facts --target "snapshot:$T/nobm.yaml"
check "snapshot round-trip: the same facts, verdict included" cmp -s "$T/out" "$T/nobm.yaml"
check "facts: the same BCD objects as reglookup (count; GUID ids, types' descriptions)" python3 - \
        "$T/facts.json" "$T/objs" <<'PY'
import json, sys
objs = json.load(open(sys.argv[1]))["bcd"]["objects"]
tool = {}
for line in open(sys.argv[2]):
    i, t, *d = line.rstrip("\n").split(" ", 2) + [""]
    tool[i] = d[0]
assert len(objs) == len(tool), (len(objs), len(tool))
for o in objs:
    if o["id"].count("-") == 4:
        assert o["id"] in tool, o["id"]
        assert (o.get("description") or "") == tool[o["id"]], o
PY
# The firmware's boot entries: make-images writes OVMF's variable store (the
# package ovmf, which scripts/deps.sh installs); the image target reads it as
# nvram=FILE.
check "make-images wrote the UEFI variable store vars.fd (package ovmf)" test -s "$D/vars.fd"
mb 0 "facts with nvram=" facts --target "$L,nvram=$D/vars.fd" --json
cp "$T/out" "$T/fw.json"
check "facts with nvram=: Boot0000 'Windows Boot Manager' -> disk0's ESP, in BootOrder" python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
fw = j["firmware"]
e = [e for e in fw["entries"] if e["description"] == "Windows Boot Manager"]
assert e and e[0]["partition"] == j["disks"][0]["partitions"][0]["unique_guid"], fw
assert e[0]["path"].lower().endswith("bootmgfw.efi") and e[0]["number"] in fw["order"], fw' "$T/fw.json"
finish
