#!/bin/bash
# SPDX-License-Identifier: MIT
# `check --textfile` read by the real consumers: promtool accepts the file,
# and a prometheus-node-exporter started here (textfile collector, 127.0.0.1)
# serves the metrics with the expected values on the converged seed images,
# after disk 1's ESP loses its boot programs, and after apply repaired it.
# Fails without promtool or prometheus-node-exporter (scripts/deps.sh installs them).
. "$(dirname "$0")/image-cli-lib.sh"
. "$(dirname "$0")/monitoring-lib.sh"
for t in promtool prometheus-node-exporter curl; do
        [ -x "/usr/bin/$t" ] || { echo "FAIL: /usr/bin/$t is missing (scripts/deps.sh installs it)"; exit 1; }
done
D=$T/d P=$T/textfiles
mkdir -p "$P"
converged "$D"
PROM=$P/mbstate.prom

# textfile_ok DESCRIPTION: the file's bytes are what the exposition format
# and the textfile collector want, and promtool accepts it
textfile_ok() {
        check "$1: promtool check metrics accepts it" sh -c "promtool check metrics < '$PROM' > '$T/promtool' 2>&1"
        [ -s "$T/promtool" ] && sed 's/^/    promtool: /' "$T/promtool"
        check "$1: UTF-8 without BOM, LF only, ends with a newline" python3 - "$PROM" <<'PY'
import sys
b = open(sys.argv[1], "rb").read()
b.decode("utf-8")
sys.exit(0 if b and not b.startswith(b"\xef\xbb\xbf") and b"\r" not in b and b.endswith(b"\n") else 1)
PY
        check "$1: no timestamps (every sample is NAME[{LABELS}] VALUE)" python3 - "$PROM" <<'PY'
import re, sys
for line in open(sys.argv[1]):
    if line.startswith("#"):
        continue
    if not re.fullmatch(r'[a-z_]+(\{[^}]*\})? [-0-9.e+]+\n', line):
        sys.exit(1)
PY
        check "$1: HELP and TYPE for every family" python3 - "$PROM" <<'PY'
import re, sys
help_, type_, names = set(), set(), set()
for line in open(sys.argv[1]):
    m = re.match(r"# (HELP|TYPE) (\S+)", line)
    if m:
        (help_ if m.group(1) == "HELP" else type_).add(m.group(2))
    elif line.strip():
        names.add(re.match(r"[a-z_]+", line).group(0))
sys.exit(0 if names and names <= help_ and names <= type_ else 1)
PY
        check "$1: no temporary file left beside it" test "$(ls -A "$P")" = mbstate.prom
}

# node_exporter's textfile collector on a loopback port
PORT=$(free_port)
prometheus-node-exporter --web.listen-address=127.0.0.1:$PORT --collector.disable-defaults \
        --collector.textfile --collector.textfile.directory="$P" >"$T/node.log" 2>&1 &
PIDS="$PIDS $!"
up=no
for _ in $(seq 1 60); do     # at most 30 s
        if curl -sf "http://127.0.0.1:$PORT/metrics" >/dev/null 2>&1; then up=yes; break; fi
        sleep 0.5
done
check "prometheus-node-exporter serves 127.0.0.1:$PORT" test $up = yes
[ $up = yes ] || { sed 's/^/    | /' "$T/node.log"; finish; exit 1; }

# scraped "SERIES=VALUE ...": the listed series must have these values in node_exporter's answer
scraped() {
        local d=$1; shift
        curl -sf "http://127.0.0.1:$PORT/metrics" > "$T/scrape"
        if python3 - "$T/scrape" "$@" <<'PY'
import sys
got = {}
for line in open(sys.argv[1]):
    if line.startswith("#") or not line.strip():
        continue
    k, v = line.rsplit(" ", 1)
    got[k] = float(v)
bad = 0
for want in sys.argv[2:]:
    k, v = want.rsplit("=", 1)
    if got.get(k) != float(v):
        print("    %s: scraped %s, expected %s" % (k, got.get(k), v))
        bad += 1
sys.exit(1 if bad else 0)
PY
        then ok "$d"; else bad "$d"; fi
}
show() {        # the mbstate series node_exporter serves, for the log
        grep -E '^(mbstate_|node_textfile_scrape_error)' "$T/scrape" | sed "s/^/    $1: /"
}

# ---- in the desired state ----
t0=$(date +%s)
mb 0 "check --textfile on the converged images" check "$SITE" --target "$L" --textfile "$PROM"
says "$T/out" '^in desired state' "check's own line is printed beside the textfile"
textfile_ok "converged"
scraped "node_exporter serves the converged state" \
        'node_textfile_scrape_error=0' \
        'mbstate_check_success=1' 'mbstate_check_state=0' 'mbstate_in_desired_state=1' \
        'mbstate_disk_bootable{disk="primary",number="0"}=1' \
        'mbstate_disk_bootable{disk="secondary",number="1"}=1' \
        'mbstate_plex_healthy{disk="primary",mirror="os"}=1' \
        'mbstate_plex_healthy{disk="secondary",mirror="os"}=1' \
        'mbstate_mirror_resync_ratio{mirror="os"}=1' \
        'mbstate_drift_items{resource="clone"}=0' 'mbstate_drift_items{resource="mirror"}=0' \
        'mbstate_esps_in_sync=2' 'mbstate_firmware_entries=2'
show converged
check "mbstate_last_check_timestamp_seconds is the time of the check" python3 - "$T/scrape" "$t0" <<'PY'
import sys
v = [float(l.split()[1]) for l in open(sys.argv[1]) if l.startswith("mbstate_last_check_timestamp_seconds ")]
sys.exit(0 if v and int(sys.argv[2]) <= v[0] <= int(sys.argv[2]) + 120 else 1)
PY
check "mbstate_check_duration_seconds is there and positive" \
        grep -Eq '^mbstate_check_duration_seconds [0-9.]*[1-9]' "$T/scrape"

# ---- disk 1's ESP loses its boot programs ----
lose_bootmgr "$D"
mb 2 "check --textfile after disk1's ESP lost its boot programs: drift" check "$SITE" --target "$L" --textfile "$PROM"
textfile_ok "drift"
scraped "node_exporter serves the drift: disk 1 not bootable, one clone item" \
        'node_textfile_scrape_error=0' \
        'mbstate_check_success=1' 'mbstate_check_state=2' 'mbstate_in_desired_state=0' \
        'mbstate_disk_bootable{disk="primary",number="0"}=1' \
        'mbstate_disk_bootable{disk="secondary",number="1"}=0' \
        'mbstate_plex_healthy{disk="secondary",mirror="os"}=1' \
        'mbstate_drift_items{resource="clone"}=1' 'mbstate_drift_items{resource="partition"}=0' \
        'mbstate_esps_in_sync=1'
show drift

# ---- apply repairs it ----
mb 0 "apply repairs disk1's ESP" apply "$SITE" --target "$L"
mb 0 "check --textfile after apply" check "$SITE" --target "$L" --textfile "$PROM"
textfile_ok "repaired"
scraped "node_exporter serves the repaired state" \
        'mbstate_check_state=0' 'mbstate_in_desired_state=1' \
        'mbstate_disk_bootable{disk="secondary",number="1"}=1' \
        'mbstate_drift_items{resource="clone"}=0' 'mbstate_esps_in_sync=2'
show repaired

# ---- a check that cannot evaluate still says so in the textfile ----
mb 1 "check of a missing site.yaml: error" check "$T/none.yaml" --target "$L" --textfile "$PROM"
textfile_ok "unevaluated"
scraped "node_exporter serves check_success 0, state UNKNOWN" \
        'mbstate_check_success=0' 'mbstate_check_state=3'
check "and no per-disk series from a check that saw nothing" sh -c "! grep -q '^mbstate_disk_bootable' '$T/scrape'"

# ---- a textfile that cannot be written: error named, exit 1 ----
mb 1 "check --textfile into a missing directory" check "$SITE" --target "$L" --textfile "$T/nodir/x.prom"
says "$T/err" "cannot write the textfile $T/nodir/x.prom" "the error names the file"
finish
