# SPDX-License-Identifier: MIT
# Helpers for the fault and crash tests (GitHub issue 7), sourced by
# faults.sh and crash.sh. Each runs from the source root as
#   TEST MBSTATE MKSEED MAKE_IMAGES
# Builds the seed images once and learns the fault points of one plain apply
# of the site (engine/fault.h).
set -u
MB=${1:?usage: $0 MBSTATE MKSEED MAKE_IMAGES}
MKSEED=${2:?mkseed}
MAKE_IMAGES=${3:?make-images}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export MTOOLS_SKIP_CHECK=1 LC_ALL=C
unset MBSTATE_FAULT_AT MBSTATE_FAULT_KILL MBSTATE_FAULT_COUNT MBSTATE_FAULT_TRACE
T=$(mktemp -d "${TMPDIR:-/tmp}/mbstate-faults.XXXXXX")
trap 'rm -rf "$T"' EXIT
trap 'exit 143' INT TERM
P=$T/pristine W=$T/w
FAILS=0
START=$SECONDS

bad() { FAILS=$((FAILS + 1)); echo "FAIL: $*"; }
elapsed() { echo $((SECONDS - START)); }

"$MAKE_IMAGES" "$P" "$MKSEED" >/dev/null || { echo "FAIL: make-images"; exit 1; }
# FAULTS_PREPARE=SCRIPT turns the pristine images into another starting
# state first (run as SCRIPT DIR MBSTATE; e.g. replace-prepare.sh)
if [ -n "${FAULTS_PREPARE:-}" ]; then
        bash "$FAULTS_PREPARE" "$P" "$MB" >"$T/prepare.out" 2>&1 ||
                { echo "FAIL: $FAULTS_PREPARE"; cat "$T/prepare.out"; exit 1; }
fi
# fresh: $W becomes a copy of the pristine images (holes kept)
fresh() { rm -rf "$W" && mkdir -p "$W" && cp --sparse=always "$P"/* "$W/"; }
L="image:$W/disk0.img,$W/disk1.img"
[ -f "$P/vars.fd" ] && L="$L,nvram=$W/vars.fd"
# The files of disk0's ESP with their hashes, BCD stores excluded (the plan
# edits /EFI/Microsoft/Boot/BCD); one "path sha256" line each.
esp_files() {
        python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
for p in d["disks"][0]["partitions"]:
    if p.get("role") == "efi":
        for f in p.get("files", []):
            if not f["path"].endswith("/BCD"):
                print(f["path"], f["sha256"])' "$1"
}
"$MB" facts --target "image:$P/disk0.img" --json >"$T/pristine.json" 2>&1 ||
        { echo "FAIL: facts of the pristine disk0"; exit 1; }
esp_files "$T/pristine.json" > "$T/esp.before"

# The site (FAULTS_SITE, default the seed's own), and the fault points of a
# plain apply of it.
SITE=${FAULTS_SITE:-examples/seed/site.yaml}
fresh
if ! MBSTATE_FAULT_TRACE=$T/trace "$MB" apply "$SITE" --target "$L" >"$T/out" 2>&1 ||
   ! "$MB" check "$SITE" --target "$L" >/dev/null 2>&1; then
        echo "FAIL: $SITE does not converge on fresh images"; cat "$T/out"; exit 1
fi
N=$(wc -l < "$T/trace")
echo "site $SITE: a plain apply passes $N fault points ($(grep -c ' operation ' "$T/trace") operations)"
MIRROR=0
grep -q '^mirrors:' "$SITE" && MIRROR=1

# pick MAX: prints the fault points to try: all N when N <= MAX, else the
# first and last point of every run of one kind (an operation, a GPT write,
# a tool, a run of block copies) filled up to MAX evenly (or thinned evenly
# to MAX). The order spreads them over the run (bit-reversed index), so a
# time budget that stops early still covers every part of the apply.
pick() {
        python3 - "$T/trace" "$1" <<'PY'
import sys
lines = [l.rstrip("\n").split(" ", 2) for l in open(sys.argv[1])]
mx, n = int(sys.argv[2]), len(lines)
if n <= mx:
    chosen = list(range(1, n + 1))
else:
    kind = [l[1] if l[1] != "operation" else "op:" + l[2] for l in lines]
    edges = sorted(i + 1 for i in range(n)
                   if i == 0 or i == n - 1 or kind[i] != kind[i - 1] or kind[i] != kind[i + 1])
    if len(edges) >= mx:
        chosen = sorted({edges[int(j * len(edges) / mx)] for j in range(mx)})
    else:
        s = set(edges)
        step = n / (mx - len(s))
        k = step / 2
        while len(s) < mx and k < n:
            s.add(int(k) + 1)
            k += step
        chosen = sorted(s)
bits = max(1, (len(chosen) - 1).bit_length())
order = sorted(range(len(chosen)), key=lambda i: int(format(i, "0%db" % bits)[::-1], 2))
print(" ".join(str(chosen[i]) for i in order))
PY
}

# after_recovery K WHAT: a plain apply converges, check agrees, disk0 is
# intact outside the ranges the procedure changes, its ESP files other than
# BCD are unchanged, and (with the mirror) the LDM database reads.
after_recovery() {
        local k=$1 what=$2 rc
        "$MB" apply "$SITE" --target "$L" >"$T/rec.out" 2>&1; rc=$?
        if [ "$rc" != 0 ]; then
                bad "$what $k: the next apply exited $rc"; sed 's/^/    | /' "$T/rec.out" | tail -5
                return 1
        fi
        "$MB" check "$SITE" --target "$L" >"$T/chk.out" 2>&1; rc=$?
        if [ "$rc" != 0 ]; then
                bad "$what $k: check after the next apply exited $rc"; sed 's/^/    | /' "$T/chk.out" | tail -5
                return 1
        fi
        if ! python3 "$HERE/disk-outside.py" "$P/disk0.img" "$W/disk0.img" >"$T/cmp.out"; then
                bad "$what $k: disk0 changed outside GPT/ESP/LDM metadata"; sed 's/^/    | /' "$T/cmp.out"
                return 1
        fi
        # converged: both members' copies agree again
        ldm_readable "$k" "$what (after the next apply)" strict || return 1
        esp_files "$T/facts.json" > "$T/esp.after"
        if ! cmp -s "$T/esp.before" "$T/esp.after"; then
                bad "$what $k: disk0's ESP files (BCD aside) changed"; diff "$T/esp.before" "$T/esp.after" | head -5
                return 1
        fi
        return 0
}

# ldm_readable K WHAT: the images as a crash or fault left them read with our
# reader (facts of both, kept in $T/facts.json), and with the mirror, the LDM
# database reads with ldmtool:
# every dynamic disk alone (its own copy of the database) and the two
# together. The one state where the pair cannot agree is a transaction
# written to one member and not yet to the other (each member's config is
# replaced in one write, one member after the other): ldmtool then refuses
# the pair as "inconsistent" while reading each copy alone, and Windows and
# our reader take the newer copy. Those points are counted in LDM_SPLIT and
# printed; any other ldmtool error fails the test. With a third argument
# "strict" (after the next apply) the pair must read as well.
LDM_SPLIT=0
ldm_readable() {
        if ! "$MB" facts --target "$L" --json >"$T/facts.json" 2>"$T/facts.err"; then
                bad "$2 $1: facts cannot read the images as left: $(tail -1 "$T/facts.err")"
                return 1
        fi
        [ "$MIRROR" = 1 ] && command -v ldmtool >/dev/null 2>&1 || return 0
        local g img dyn=() line
        # "GROUP N": the group of each dynamic disk, by disk number
        line=$(python3 -c '
import json, sys
for d in json.load(open(sys.argv[1]))["disks"]:
    if d.get("dynamic_group"):
        print(d["dynamic_group"], d["number"])' "$T/facts.json")
        g=$(echo "$line" | head -1 | cut -d' ' -f1)
        [ -n "$g" ] || return 0
        for n in $(echo "$line" | awk -v g="$g" '$1 == g {print $2}'); do dyn+=("$W/disk$n.img"); done
        for img in "${dyn[@]}"; do
                if ! ldmtool scan "$img" >"$T/ldm.out" 2>"$T/ldm.err" || ! grep -q "\"$g\"" "$T/ldm.out" ||
                   grep -qiv 'sector size' "$T/ldm.err"; then
                        bad "$2 $1: ldmtool does not read $(basename "$img")'s copy of disk group $g: $(grep -v 'sector size' "$T/ldm.err" | head -c 300)"
                        return 1
                fi
        done
        if ! ldmtool scan "$W/disk0.img" "$W/disk1.img" >"$T/ldm.out" 2>"$T/ldm.err" ||
           ! grep -q "\"$g\"" "$T/ldm.out" || grep -qiv 'sector size' "$T/ldm.err"; then
                if [ "${3:-}" != strict ] && [ "${#dyn[@]}" = 2 ] &&
                   grep -q 'are inconsistent: disk .* has committed sequence' "$T/ldm.err" &&
                   [ "$(grep -v 'sector size' "$T/ldm.err" | wc -l)" = 1 ]; then
                        LDM_SPLIT=$((LDM_SPLIT + 1))
                        echo "note: $2 $1: the members are one transaction apart; ldmtool reads each copy alone ($(grep -o 'committed sequence [0-9]*, group has committed sequence [0-9]*' "$T/ldm.err"))"
                        return 0
                fi
                bad "$2 $1: ldmtool does not read disk group $g from both disks: $(grep -v 'sector size' "$T/ldm.err" | head -c 300)"
                return 1
        fi
        return 0
}
