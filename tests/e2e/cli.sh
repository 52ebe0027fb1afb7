#!/bin/bash
# The mbstate binary as an administrator uses it: verbs, exit codes, JSON.
set -u
mb=$1
pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok() { pass=$((pass + 1)); }
jsondir=$tmp/json
mkdir -p "$jsondir"
# Every --json report of this file is kept and validated against schemas/report.schema.json.
keep_json() { cp "$tmp/out" "$jsondir/$(ls "$jsondir" | wc -l).json"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
expect() { # expect CODE DESCRIPTION -- command...
        local want=$1 what=$2; shift 3
        "$@" >"$tmp/out" 2>"$tmp/err"; local got=$?
        if [ "$got" = "$want" ]; then ok; else bad "$what: exit $got, expected $want"; cat "$tmp/err"; fi
}
contains() { if grep -q -- "$2" "$1"; then ok; else bad "$3: '$2' not in $(head -c 300 "$1")"; fi; }

expect 0 "--version" -- "$mb" --version
contains "$tmp/out" "^mbstate [0-9]" "--version"
expect 0 "--help" -- "$mb" --help
contains "$tmp/out" "Exit codes" "--help"
for v in apply check plan facts validate; do
        expect 0 "$v --help" -- "$mb" $v --help
        contains "$tmp/out" "usage: mbstate $v" "$v --help"
done
# every option and target form the README's examples and prose use is in
# --help: the options in spans that are an mbstate command or an option
# (`make-images --secure-boot` is not mbstate's; --check is Ansible's check
# mode)
"$mb" --help > "$tmp/help"
for o in $(grep -o -- '`[^`]*`' README.md | grep -E -- '^`(mbstate |--)' | grep -o -- '--[a-z][a-z-]*' | sort -u) \
         $(grep -E '^\$? *mbstate ' README.md | grep -o -- '--[a-z][a-z-]*' | sort -u); do
        [ "$o" = --check ] && continue
        if grep -q -- "$o" "$tmp/help"; then ok; else bad "--help does not list $o (the README uses it)"; fi
done
for form in 'image:' 'snapshot:' 'replay:' 'windows' 'nvram=' ',,'; do
        grep -q -- "$form" README.md || bad "README no longer uses $form (update this test)"
        if grep -q -- "$form" "$tmp/help"; then ok; else bad "--help does not show the target form $form"; fi
done

expect 1 "unknown verb" -- "$mb" frobnicate
expect 1 "unknown option" -- "$mb" plan examples/seed/site.yaml --frob
expect 1 "unknown target" -- "$mb" plan examples/seed/site.yaml --target floppy:x
contains "$tmp/err" "unknown target 'floppy:x'" "unknown target message"
expect 0 "validate seed" -- "$mb" validate examples/seed/site.yaml
expect 1 "validate bad" -- "$mb" validate tests/data/bad/unknown-role.yaml
contains "$tmp/err" "unknown-role.yaml:11:25:" "validate bad names file:line:col"

cp tests/data/seed/facts-before.yaml "$tmp/s.yaml"
cp "$tmp/s.yaml" "$tmp/orig.yaml"
expect 2 "plan seed" -- "$mb" plan examples/seed/site.yaml --target "snapshot:$tmp/s.yaml"
contains "$tmp/out" "disk-init-gpt disk 1" "plan shows operations"
cmp -s "$tmp/s.yaml" "$tmp/orig.yaml" && ok || bad "plan wrote the snapshot"
expect 2 "check seed" -- "$mb" check examples/seed/site.yaml --target "snapshot:$tmp/s.yaml" --json
keep_json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["changed"] is False and d["in_desired_state"] is False and len(d["changes"])==19, d' "$tmp/out" && ok || bad "check --json"
expect 3 "apply seed" -- "$mb" apply examples/seed/site.yaml --target "snapshot:$tmp/s.yaml" --json
keep_json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["changed"] is True and d["in_desired_state"] is True and d["health"]["resyncing"], d' "$tmp/out" && ok || bad "apply --json"
expect 3 "check converging" -- "$mb" check examples/seed/site.yaml --target "snapshot:$tmp/s.yaml"
contains "$tmp/out" "^converging: os mirror" "check converging line"
expect 0 "apply --wait" -- "$mb" apply examples/seed/site.yaml --target "snapshot:$tmp/s.yaml" --wait
expect 0 "check in state" -- "$mb" check examples/seed/site.yaml --target "snapshot:$tmp/s.yaml"
contains "$tmp/out" "^in desired state" "check line"
cp "$tmp/s.yaml" "$tmp/conv.yaml"
expect 0 "apply again" -- "$mb" apply examples/seed/site.yaml --target "snapshot:$tmp/s.yaml" --json
keep_json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["changed"] is False, d' "$tmp/out" && ok || bad "second apply changed"
cmp -s "$tmp/s.yaml" "$tmp/conv.yaml" && ok || bad "second apply rewrote the snapshot"
expect 0 "facts yaml" -- "$mb" facts --target "snapshot:$tmp/s.yaml"
cp "$tmp/out" "$tmp/facts.yaml"
expect 0 "facts of facts" -- "$mb" facts --target "snapshot:$tmp/facts.yaml"
cmp -s "$tmp/out" "$tmp/facts.yaml" && ok || bad "facts output does not load back identically"
expect 0 "facts json" -- "$mb" facts --target "snapshot:$tmp/s.yaml" --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["disks"])==2 and d["volumes"][0]["kind"]=="mirror"' "$tmp/out" && ok || bad "facts --json"
expect 1 "plan on used secondary" -- "$mb" plan examples/seed/site.yaml --target snapshot:tests/data/seed/facts-secondary-used.yaml
contains "$tmp/err" "partition 1" "refusal names the partition"
expect 1 "bad facts file" -- "$mb" plan examples/seed/site.yaml --target snapshot:tests/data/bad/unknown-role.yaml
expect 1 "missing facts file" -- "$mb" facts --target snapshot:/nonexistent/facts.yaml

expect 1 "plan --json on used secondary" -- "$mb" plan examples/seed/site.yaml --json --target snapshot:tests/data/seed/facts-secondary-used.yaml
keep_json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["exit_code"]==1 and "partition 1" in d["errors"][0], d' "$tmp/out" && ok || bad "errors in JSON"

# Trust: a site.yaml or facts file others can write is refused.
cp examples/seed/site.yaml "$tmp/open.yaml"; chmod 666 "$tmp/open.yaml"
expect 1 "world-writable site.yaml" -- "$mb" validate "$tmp/open.yaml"
contains "$tmp/err" "refusing a file that every user can modify" "trust message"
cp tests/data/seed/facts-before.yaml "$tmp/open-facts.yaml"; chmod 664 "$tmp/open-facts.yaml"
expect 1 "group-writable facts" -- "$mb" check examples/seed/site.yaml --target "snapshot:$tmp/open-facts.yaml"
contains "$tmp/err" "its group" "trust message (group)"

# One run at a time: a held lock makes the second run wait, then give up.
cp tests/data/seed/facts-before.yaml "$tmp/l.yaml"
MBSTATE_LOCK=$tmp/lock flock "$tmp/lock" sleep 4 &
holder=$!
# until the holder really holds it (a loaded machine may start it late)
for _ in $(seq 200); do flock -n "$tmp/lock" true 2>/dev/null || break; sleep 0.02; done
MBSTATE_LOCK=$tmp/lock expect 1 "locked apply" -- "$mb" apply examples/seed/site.yaml --target "snapshot:$tmp/l.yaml" --lock-timeout 1
contains "$tmp/err" "another mbstate run holds the lock" "lock message"
cmp -s "$tmp/l.yaml" tests/data/seed/facts-before.yaml && ok || bad "the locked-out apply wrote"
wait $holder
MBSTATE_LOCK=$tmp/lock expect 3 "apply after the lock is free" -- "$mb" apply examples/seed/site.yaml --target "snapshot:$tmp/l.yaml" --lock-timeout 1

# --log FILE: start, each change, outcome.
cp tests/data/seed/facts-before.yaml "$tmp/g.yaml"
expect 0 "apply --log --wait=10s" -- "$mb" apply examples/seed/site.yaml --target "snapshot:$tmp/g.yaml" --log "$tmp/mb.log" --wait=10s
contains "$tmp/mb.log" "apply examples/seed/site.yaml --target snapshot:.*: start" "log start"
contains "$tmp/mb.log" "applied mirror os mirror plex" "log change"
contains "$tmp/mb.log" "exit 0 (in desired state; 16 changes applied)" "log outcome"
contains "$tmp/err" "resync 0%" "wait progress (not a terminal: percentages)"
expect 1 "bad --wait" -- "$mb" apply examples/seed/site.yaml --target "snapshot:$tmp/g.yaml" --wait=soon

# JSON Schema of site.yaml against every example, and of the report.
if /usr/bin/python3 -c 'import jsonschema, yaml' 2>/dev/null; then
        for f in examples/*/site.yaml tests/data/site-no-mirror.yaml; do
                /usr/bin/python3 - "$f" <<'PY' && ok || bad "JSON Schema rejects $f"
import json, sys, yaml, jsonschema
jsonschema.validate(yaml.safe_load(open(sys.argv[1])), json.load(open("schemas/site.schema.json")))
PY
        done
        /usr/bin/python3 - <<'PY' && ok || bad "JSON Schema accepts a bad document"
import json, yaml, jsonschema
s = json.load(open("schemas/site.schema.json"))
for f in ["unknown-role", "unknown-key", "missing-version", "bad-firmware-position", "negative-number"]:
    try:
        jsonschema.validate(yaml.safe_load(open("tests/data/bad/%s.yaml" % f)), s)
    except jsonschema.ValidationError:
        continue
    raise SystemExit("%s accepted" % f)
PY
        /usr/bin/python3 - "$jsondir" <<'PY' && ok || bad "a report does not match schemas/report.schema.json"
import glob, json, sys, jsonschema
schema = json.load(open("schemas/report.schema.json"))
files = sorted(glob.glob(sys.argv[1] + "/*.json"))
assert len(files) >= 4, files
for f in files:
    jsonschema.validate(json.load(open(f)), schema)
PY
else
        bad "JSON Schema checks need python3-jsonschema and python3-yaml (scripts/deps.sh installs them)"
fi

echo "cli: $pass passed, $fail failed"
[ "$fail" = 0 ]
