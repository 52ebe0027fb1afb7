#!/bin/bash
# SPDX-License-Identifier: MIT
# Crashes (GitHub issue 7): `apply` of the seed killed with SIGKILL, on fresh
# copies of its images, at points spread over the run:
#   - at fault points (MBSTATE_FAULT_KILL=1: the process kills itself right
#     before that operation or write), CRASH_POINTS of them (default 16);
#   - while a step runs: the whole process group (mbstate and the tool it
#     runs: mkfs.fat, mkntfs, mcopy...) killed a moment after the k-th step
#     line "[k] ..." appears, for CRASH_STEPS steps (default 4).
# After each kill the images are read as left (facts; with the mirror, the
# LDM database by our reader and by ldmtool), then a plain `apply` converges,
# `check` agrees and disk0 is intact outside the GPT, the ESP and the LDM
# metadata. Stops starting new kills after CRASH_SECONDS (default 420).
. "$(dirname "$0")/faults-lib.sh"
budget=${CRASH_SECONDS:-420}
points=$(pick "${CRASH_POINTS:-16}")
nsteps=$(grep -c ' operation ' "$T/trace")
want_steps=${CRASH_STEPS:-4}
echo "kill points: $points; and during steps of $nsteps"
tried=0 steps=0 temps=0

# crashed K WHAT: what every kill must leave
crashed() {
        local n
        n=$(cd "$W" && ls -A | grep -c -v -x -e disk0.img -e disk1.img -e vars.fd)
        temps=$((temps + n))
        ldm_readable "$1" "$2" || return 1     # facts read them, and ldmtool
        after_recovery "$1" "$2" || return 1
        echo "ok: $2 $1: killed, images readable, then converged ($(elapsed)s)"
}

for k in $points; do
        [ "$(elapsed)" -lt "$budget" ] || { echo "time budget of ${budget}s used"; break; }
        tried=$((tried + 1))
        fresh
        { MBSTATE_FAULT_KILL=1 MBSTATE_FAULT_AT=$k "$MB" apply "$SITE" --target "$L" >"$T/f.out" 2>"$T/f.err"; } 2>/dev/null
        rc=$?
        if [ "$rc" != 137 ] || ! grep -q "injected crash #$k at " "$T/f.err"; then
                bad "kill at point $k: apply exited $rc, expected 137 (SIGKILL): $(tail -2 "$T/f.err")"
                continue
        fi
        crashed "$k" "kill at point" || continue
done

# Kills during a step, the tool it runs included (what a power cut does).
delays=(0.05 0.3 0.8 0.15)
for ((i = 0; i < want_steps && i < nsteps; i++)); do
        [ "$(elapsed)" -lt "$budget" ] || { echo "time budget of ${budget}s used"; break; }
        s=$(( (i * nsteps) / want_steps + 1 + (nsteps / want_steps) / 2 ))
        [ "$s" -le "$nsteps" ] || s=$nsteps
        d=${delays[$((i % ${#delays[@]}))]}
        fresh
        rm -f "$T/s.err"
        setsid "$MB" apply "$SITE" --target "$L" >"$T/s.out" 2>"$T/s.err" &
        pid=$!
        while kill -0 "$pid" 2>/dev/null && ! grep -q "^\[$s\] " "$T/s.err" 2>/dev/null; do
                sleep 0.02
        done
        sleep "$d"
        kill -KILL -- "-$pid" 2>/dev/null
        { wait "$pid"; } 2>/dev/null; rc=$?
        if [ "$rc" = 0 ]; then
                echo "note: step $s + ${d}s: apply finished before the kill"
        fi
        steps=$((steps + 1))
        crashed "$s+${d}s" "kill during step" || continue
done
echo "crash: $tried kill points of $N fault points, $steps kills during steps, $temps temporary file(s) left by kills"
echo "crash: ldmtool read every dynamic disk's database at every kill; at $LDM_SPLIT kill(s) the two members were one transaction apart"
if [ "$FAILS" = 0 ]; then
        echo "crash: all recovered"
else
        echo "crash: $FAILS failed"
        exit 1
fi
