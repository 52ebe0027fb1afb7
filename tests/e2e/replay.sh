#!/bin/bash
# The replay target through the CLI: facts, plan and check of the seed
# machine from tests/data/windows/seed-recording.txt (a recording made from
# the seed buffers through the call table; see tests/data/windows/README.md),
# on this build, with no Windows. A recording that does not match what the
# target asks for, or is not a recording, is an error naming the call, the
# file and the line; apply changes nothing; --record needs the Windows build.
#   replay.sh MBSTATE
set -u
mb=$1
rec=tests/data/windows/seed-recording.txt
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# facts: the seed machine as the windows target reads it
"$mb" facts --target "replay:$rec" > "$tmp/facts.yaml" 2> "$tmp/err"
[ $? = 0 ] && ok || bad "facts exit code: $(cat "$tmp/err")"
has() { grep -qF -- "$1" "$2" && ok || bad "missing in $2: $1"; }
has 'target: windows' "$tmp/facts.yaml"
has 'path: \\.\PhysicalDrive0' "$tmp/facts.yaml"
has 'path: \\.\PhysicalDrive1' "$tmp/facts.yaml"
has 'unique_guid: 0d3e1c2b-0003-4a1b-9c2d-3e4f5a6b7c03' "$tmp/facts.yaml"
has 'description: Windows Boot Manager' "$tmp/facts.yaml"
for role in efi msr os recovery; do has "role: $role" "$tmp/facts.yaml"; done
# JSON too, and the same facts read back as a snapshot
"$mb" facts --target "replay:$rec" --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert [x["number"] for x in d["disks"]] == [0, 1]' && ok || bad "facts --json"
"$mb" facts --target "snapshot:$tmp/facts.yaml" > "$tmp/again.yaml" && diff -u "$tmp/facts.yaml" "$tmp/again.yaml" >/dev/null && ok || bad "facts read back from the snapshot differ"

# plan and check: what the seed machine needs (drift, exit 2), the same
# plan as from its facts saved as a snapshot
"$mb" plan examples/seed/site.yaml --target "replay:$rec" > "$tmp/plan.txt"
[ $? = 2 ] && ok || bad "plan exit code"
"$mb" plan examples/seed/site.yaml --target "snapshot:$tmp/facts.yaml" > "$tmp/plan-snapshot.txt"
diff -u "$tmp/plan-snapshot.txt" "$tmp/plan.txt" && ok || bad "plan from the replay differs from the plan from its facts"
has 'convert-dynamic disk 0' "$tmp/plan.txt"
has 'mirror-add disk 1' "$tmp/plan.txt"
"$mb" plan examples/seed/site.yaml --target "replay:$rec" --commands windows > "$tmp/commands.txt"
[ $? = 2 ] && ok || bad "plan --commands windows exit code"
has 'add disk=1' "$tmp/commands.txt"
"$mb" check examples/seed/site.yaml --target "replay:$rec" > "$tmp/check.txt"
[ $? = 2 ] && ok || bad "check exit code"
"$mb" check examples/seed/site.yaml --target "replay:$rec" --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["exit_code"] == 2, d["exit_code"]' && ok || bad "check --json"

# apply: a recording cannot be changed
cp "$rec" "$tmp/rec.txt"
"$mb" apply examples/seed/site.yaml --target "replay:$tmp/rec.txt" > /dev/null 2> "$tmp/err"
[ $? = 1 ] && ok || bad "apply exit code"
has 'target replay cannot change anything' "$tmp/err"
cmp -s "$rec" "$tmp/rec.txt" && ok || bad "apply changed the recording"

# a recording that does not match: the call, the line, nothing on stdout
sed 's/^> name "\\\\.\\PhysicalDrive1"$/> name "\\\\.\\PhysicalDrive5"/' "$rec" > "$tmp/other.txt"
cmp -s "$rec" "$tmp/other.txt" && bad "the edit did not apply"
"$mb" facts --target "replay:$tmp/other.txt" > "$tmp/out" 2> "$tmp/err"
[ $? = 1 ] && ok || bad "mismatch exit code"
[ ! -s "$tmp/out" ] && ok || bad "facts printed from a mismatching recording"
has "replay of '$tmp/other.txt': call " "$tmp/err"
has 'CreateFileW (line ' "$tmp/err"
has 'argument name is "\\.\PhysicalDrive1" here, "\\.\PhysicalDrive5" in the recording' "$tmp/err"
sed '/^call 30 /,$d' "$rec" > "$tmp/short.txt"
"$mb" check examples/seed/site.yaml --target "replay:$tmp/short.txt" > /dev/null 2> "$tmp/err"
[ $? = 1 ] && ok || bad "short recording exit code"
has 'call 30: the target asks for CreateFileW, and the recording ends after call 29' "$tmp/err"
printf 'disks: []\n' > "$tmp/notrec.txt"
"$mb" facts --target "replay:$tmp/notrec.txt" > /dev/null 2> "$tmp/err"
[ $? = 1 ] && ok || bad "not a recording exit code"
has "$tmp/notrec.txt:1" "$tmp/err"
has 'not an mbstate win32 recording' "$tmp/err"
"$mb" facts --target "replay:$tmp/missing.txt" > /dev/null 2> "$tmp/err"
[ $? = 1 ] && ok || bad "missing recording exit code"
has "cannot open the recording '$tmp/missing.txt'" "$tmp/err"

# --record: the windows target's, on the Windows build only
"$mb" facts --target windows --record "$tmp/new.txt" > /dev/null 2> "$tmp/err"
[ $? = 1 ] && ok || bad "--record exit code off Windows"
has 'only in the Windows build' "$tmp/err"
[ ! -e "$tmp/new.txt" ] && ok || bad "--record wrote a file off Windows"
"$mb" facts --target "replay:$rec" --record "$tmp/new.txt" > /dev/null 2> "$tmp/err"
[ $? = 1 ] && ok || bad "--record of a replay exit code"
has '--record records the windows target' "$tmp/err"
"$mb" plan examples/seed/site.yaml --target "replay:$rec" --record "$tmp/new.txt" > /dev/null 2> "$tmp/err"
[ $? = 1 ] && ok || bad "--record on plan exit code"
has '--record is an option of facts' "$tmp/err"

echo "replay: $pass passed, $fail failed"
[ "$fail" = 0 ]
