#!/bin/bash
# SPDX-License-Identifier: MIT
# Fault injection (GitHub issue 7): `apply` of the seed on fresh copies of
# its images, once per fault point (engine/fault.h: every operation, every
# write inside it), failing that point. Each time: exit 1 with a message
# naming the injected fault, nothing left behind (temporary files), then a
# plain `apply` converges, `check` agrees, disk0 is byte-identical outside
# the GPT, the ESP and the LDM metadata, and its ESP files other than BCD are
# unchanged.
#
# Every point is tried (FAULTS_MAX=N tries N of them instead: the first and
# last point of every run of one kind, filled up evenly). The test fails if
# FAULTS_SECONDS (default 3000) run out before every chosen point was tried.
# It prints how many it tried of how many.
. "$(dirname "$0")/faults-lib.sh"
max=${FAULTS_MAX:-0}
budget=${FAULTS_SECONDS:-3000}
[ "$max" = 0 ] && max=$N
points=$(pick "$max")
set -- $points
echo "trying $# of $N points: $points"
tried=0
for k in $points; do
        if [ "$(elapsed)" -ge "$budget" ]; then
                bad "time budget of ${budget}s used: stopping after $tried of $# points"
                break
        fi
        tried=$((tried + 1))
        fresh
        what=$(sed -n "${k}s/^[0-9]* //p" "$T/trace")
        MBSTATE_FAULT_AT=$k "$MB" apply "$SITE" --target "$L" >"$T/f.out" 2>"$T/f.err"
        rc=$?
        if [ "$rc" != 1 ]; then
                bad "fault $k ($what): apply exited $rc, expected 1"; tail -3 "$T/f.err"
                continue
        fi
        if ! grep -q "injected fault #$k at " "$T/f.err"; then
                bad "fault $k ($what): the error does not name the injected fault: $(tail -2 "$T/f.err")"
                continue
        fi
        left=$(cd "$W" && ls -A | grep -v -x -e disk0.img -e disk1.img -e vars.fd)
        [ -z "$left" ] || bad "fault $k ($what): left behind: $left"
        ldm_readable "$k" fault || continue
        after_recovery "$k" fault || continue
        echo "ok: fault $k ($what): exit 1, then converged ($(elapsed)s)"
done
echo "faults: ldmtool read every dynamic disk's database at every point; at $LDM_SPLIT point(s) the two members were one transaction apart"
if [ "$FAILS" = 0 ]; then
        echo "faults: $N points, tried $tried, all recovered"
else
        echo "faults: $N points, tried $tried, $FAILS failed"
        exit 1
fi
