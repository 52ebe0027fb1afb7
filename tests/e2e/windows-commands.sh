#!/bin/bash
# `plan --commands windows` for the seed machine: the exact diskpart script
# and bcdedit lines the windows target runs, compared with a reviewed golden
# file, and checked step by step against the seed procedure (without its
# defects: the recovery partition gets its attributes, no drive letter is
# borrowed, no partition is deleted).
#   windows-commands.sh MBSTATE
set -u
mb=$1
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$mb" plan examples/seed/site.yaml --target snapshot:tests/data/seed/facts-before.yaml --commands windows > "$out"
[ $? = 2 ] && ok || bad "plan exit code"
if diff -u tests/data/windows/seed-plan-commands.golden "$out"; then ok; else bad "differs from tests/data/windows/seed-plan-commands.golden"; fi
has() { grep -qF -- "$1" "$out" && ok || bad "missing: $2 ($1)"; }
hasnt() { grep -qiF -- "$1" "$out" && bad "present: $2 ($1)" || ok; }
# seed step -> what mbstate runs instead
has 'IOCTL_DISK_SET_DISK_ATTRIBUTES \\.\PhysicalDrive1' "Disk 1 online"
has 'IOCTL_DISK_CREATE_DISK \\.\PhysicalDrive1: PartitionStyle=GPT' "clean, convert gpt"
has 'PartitionCount=0 (no MSR left behind)' "delete the default MSR"
has 'StartingOffset=1048576 PartitionLength=104857600' "create partition EFI size=100 (at 1024 KiB)"
has 'format fs=fat32' "format fs=fat32 quick"
has 'StartingOffset=105906176 PartitionLength=16777216' "create partition MSR size=16"
has 'StartingOffset=33808187392 PartitionLength=549453824' "recovery at the template's offset"
has 'PartitionType={de94bba4-06d1-4d40-a16a-bfd50179d6ac}' "set id=de94bba4-..."
has 'Attributes=0x8000000000000001' "recovery attributes (the seed left 0)"
grep -A2 'select disk 0' "$out" | grep -q 'convert dynamic' && ok || bad "convert dynamic on disk 0"
grep -A2 'select disk 1' "$out" | grep -q 'convert dynamic' && ok || bad "convert dynamic on disk 1"
has 'add disk=1' "add mirror on Disk 1"
has 'bcdedit /copy {bootmgr} /d "Windows Boot Manager Cloned"' "bcdedit /copy {bootmgr}"
has 'device partition=' "bcdedit /set ... device partition="
has 'bcdedit /set {fwbootmgr} displayorder' "firmware boot list"
has 'copy blocks \\?\Volume{0b1d3f5a-7c9e-4b2d-8f1a-3c5e7a9b1d04}' "recovery copy through a volume GUID path"
has 'copy tree \\?\Volume{0b1d3f5a-7c9e-4b2d-8f1a-3c5e7a9b1d01}\' "ESP copy through a volume GUID path"
has 'bcdedit /export' "BCD exported to the second ESP"
hasnt 'assign letter' "no borrowed drive letters"
hasnt 'delete partition' "no partition deleted"
hasnt 'robocopy' "no robocopy"
# the plex's loader entry is Windows' own: checked, never made by a copy
# of {default} (which boots from disk 0 under a name that says disk 1)
grep -qE '^ +bcdedit /copy \{default\}' "$out" && bad "a secondary-plex entry copied from {default}" || ok
has 'check: an OS loader whose device and osdevice are the os plex on disk 1' "plex entry checked"
echo "windows-commands: $pass passed, $fail failed"
[ "$fail" = 0 ]
