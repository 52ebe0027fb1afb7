#!/bin/bash
# SPDX-License-Identifier: MIT
# `check --format checkmk` and `--format zabbix-discovery` on the converged
# seed images. Zabbix: a zabbix_agentd started here on a loopback port runs
# the UserParameters of examples/monitoring/zabbix_agentd-mbstate.conf (paths
# replaced by this build's) and answers passive checks for the discovery and
# metrics keys, before and after drift. Checkmk: no Checkmk site or agent is
# packaged for Debian, so the line is checked against the local-check format
# of Checkmk's documentation (docs.checkmk.com, "Local checks").
# The Zabbix part is skipped without zabbix_agentd (scripts/deps.sh).
. "$(dirname "$0")/image-cli-lib.sh"
. "$(dirname "$0")/monitoring-lib.sh"
D=$T/d
converged "$D"
ABS_MB=$(cd "$(dirname "$MB")" && pwd)/$(basename "$MB")
ABS_SITE=$(pwd)/$SITE

# ---- bad options: refused, named ----
mb 1 "--format of an unknown system" check "$SITE" --target "$L" --format icinga
says "$T/err" "--format takes text, nagios, checkmk, prometheus or zabbix-discovery, not 'icinga'" "the error lists the formats"
mb 1 "--format is an option of check only" apply "$SITE" --target "$L" --format nagios
says "$T/err" "--format is an option of check" "the error says so"
mb 1 "--json with --format" check "$SITE" --target "$L" --json --format nagios
says "$T/err" "--json and --format are alternatives" "the error says so"
mb 1 "--textfile without a name" check "$SITE" --target "$L" --textfile=
says "$T/err" "--textfile : expected PATH.prom" "the error says so"
mb 1 "--textfile not ending in .prom" check "$SITE" --target "$L" --textfile "$T/mbstate.txt"
says "$T/err" "textfile collectors read only \*\.prom" "the error says why"
check "and nothing was written" test ! -e "$T/mbstate.txt"

# ---- Checkmk local check ----
# cmk_line DESCRIPTION STATUS TEXT-PATTERN: $T/out is one local-check line
# "<status> <service> <metrics|-> <text>" with this status and text
cmk_line() {
        if python3 - "$T/out" "$2" "$3" <<'PY'
import re, sys
data = open(sys.argv[1]).read()
lines = data.split("\n")
if len(lines) != 2 or lines[1] != "":
    sys.exit("not exactly one line")
m = re.fullmatch(r"([0-3P]) (\S+) (\S+) (.+)", lines[0])
if not m:
    sys.exit("not <status> <service> <metrics> <text>")
status, service, metrics, text = m.groups()
if status != sys.argv[2] or service != "mbstate":
    sys.exit("status %s service %s" % (status, service))
num = r"-?[0-9]+(\.[0-9]+)?"
if metrics != "-":
    for x in metrics.split("|"):
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=%s(;(%s)?){0,4}" % (num, num), x):
            sys.exit("metric %r" % x)
if not re.search(sys.argv[3], text):
    sys.exit("text %r" % text)
PY
        then ok "$1"; else bad "$1: $(cat "$T/out")"; fi
}
mb 0 "--format checkmk on the converged images" check "$SITE" --target "$L" --format checkmk
cmk_line "checkmk: status 0, service mbstate, metrics, text" 0 '^in desired state\\nprimary \(disk 0\): bootable .*\\nsecondary \(disk 1\): bootable '
says "$T/out" '^0 mbstate healthy_plexes=2;;;0;2\|resync_percent=100;;;0;100\|esps_in_sync=2;;;0;2\|firmware_entries=2;;;0;\|drift_items=0;;;0;\|time=' "checkmk: the metrics"
sed 's/^/    checkmk: /' "$T/out"
printf 'a new boot.stl\n' > "$T/new"
mcopy -o -i "$(esp "$D/disk0.img")" "$T/new" ::/EFI/Microsoft/Boot/boot.stl
mb 0 "--format checkmk with drift that leaves both disks bootable (exit 0: the state is in the line)" check "$SITE" --target "$L" --format checkmk
cmk_line "checkmk: status 1 (WARN) names the drift" 1 '^drift: 1 item \(efi of primary \(disk 0\)'
lose_bootmgr "$D"
mb 0 "--format checkmk after disk1's ESP lost its boot programs" check "$SITE" --target "$L" --format checkmk
cmk_line "checkmk: status 2 (CRIT) names disk 1" 2 '^secondary \(disk 1\) would not boot: '
sed 's/^/    checkmk: /' "$T/out"
mb 0 "--format checkmk with a missing site.yaml" check "$T/none.yaml" --target "$L" --format checkmk
cmk_line "checkmk: status 3 (UNKNOWN)" 3 '^cannot evaluate: .*none\.yaml'
mb 0 "apply repairs both ESPs" apply "$SITE" --target "$L"

# ---- Zabbix ----
AGENTD=$(command -v zabbix_agentd || echo /usr/sbin/zabbix_agentd)
if [ ! -x "$AGENTD" ]; then
        bad "zabbix_agentd is missing (scripts/deps.sh installs zabbix-agent)"
        finish
        exit 1
fi
mb 0 "--format zabbix-discovery" check "$SITE" --target "$L" --format zabbix-discovery
Z=$T/zabbix
mkdir -p "$Z"
PORT=$(free_port 20000 32767)
{
        echo "LogFile=$Z/agentd.log"
        echo "PidFile=$Z/agentd.pid"
        echo "ListenIP=127.0.0.1"
        echo "ListenPort=$PORT"
        echo "Server=127.0.0.1"
        echo "StartAgents=1"
        echo "AllowRoot=1"
        echo "Timeout=30"       # the time itself is measured in tests/bench, not asserted here
        grep '^UserParameter=' examples/monitoring/zabbix_agentd-mbstate.conf |
                sed "s|\"C:\\\\Program Files\\\\mbstate\\\\mbstate.exe\"|$ABS_MB|; s|C:\\\\ProgramData\\\\mbstate\\\\site.yaml|$ABS_SITE --target $L|"
} > "$Z/agentd.conf"
check "the example's two UserParameters, with this build's paths" \
        test "$(grep -c "^UserParameter=mbstate\.[a-z]*,$ABS_MB check $ABS_SITE --target " "$Z/agentd.conf")" = 2
"$AGENTD" -f -c "$Z/agentd.conf" > "$Z/agentd.out" 2>&1 &
PIDS="$PIDS $!"
# zget KEY: the agent's answer to a passive check (Zabbix protocol: "ZBXD\1",
# little-endian data and reserved lengths, data), in $T/zget
zget() {
        python3 - "$PORT" "$1" > "$T/zget" <<'PY'
import socket, struct, sys, time
key = sys.argv[2].encode()
for _ in range(60):                     # the agent may still be starting: at most 30 s
    try:
        s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=60)
        break
    except OSError:
        time.sleep(0.5)
else:
    sys.exit("no agent on port " + sys.argv[1])
s.sendall(b"ZBXD\x01" + struct.pack("<II", len(key), 0) + key)
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
if data[:5] != b"ZBXD\x01":
    sys.exit("not a Zabbix answer: %r" % data[:40])
n = struct.unpack("<I", data[5:9])[0]
sys.stdout.write(data[13:13 + n].decode())
PY
}
check "zabbix_agentd answers mbstate.discovery" zget mbstate.discovery
check "the discovery is LLD JSON: one entry per declared disk and mirror" python3 - "$T/zget" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
want = [{"{#KIND}": "disk", "{#NAME}": "primary", "{#NUMBER}": "0"},
        {"{#KIND}": "disk", "{#NAME}": "secondary", "{#NUMBER}": "1"},
        {"{#KIND}": "mirror", "{#NAME}": "os", "{#DISKS}": "primary,secondary"}]
ok = d == want and all(isinstance(v, (str, int, float, bool)) for e in d for v in e.values())
sys.exit(0 if ok else "got %r" % d)
PY
{ cat "$T/zget"; echo; } | sed 's/^/    mbstate.discovery: /'
# metric NAME{LABELS} VALUE: the agent's mbstate.metrics answer has this sample
metric() { grep -Fxq "$1 $2" "$T/zget"; }
check "zabbix_agentd answers mbstate.metrics" zget mbstate.metrics
check "mbstate.metrics: state 0, disk 1 bootable" sh -c "
        grep -Fxq 'mbstate_check_state 0' '$T/zget' &&
        grep -Fxq 'mbstate_disk_bootable{disk=\"secondary\",number=\"1\"} 1' '$T/zget'"
grep -E '^mbstate_(check_state|disk_bootable)' "$T/zget" | sed 's/^/    mbstate.metrics converged: /'
lose_bootmgr "$D"
check "zabbix_agentd answers mbstate.metrics after the drift" zget mbstate.metrics
check "mbstate.metrics: state 2, disk 1 not bootable" sh -c "
        grep -Fxq 'mbstate_check_state 2' '$T/zget' &&
        grep -Fxq 'mbstate_disk_bootable{disk=\"secondary\",number=\"1\"} 0' '$T/zget'"
grep -E '^mbstate_(check_state|disk_bootable)' "$T/zget" | sed 's/^/    mbstate.metrics drift: /'
stop_daemons
check "zabbix_agentd logged its start and no failed UserParameter" sh -c "
        grep -q 'Starting Zabbix Agent' '$Z/agentd.log' && ! grep -Eqi 'not supported|timeout|error' '$Z/agentd.log'"
finish
