#!/bin/bash
# SPDX-License-Identifier: MIT
# `check --format nagios` run by a real Nagios 4 started here with a
# configuration of its own: a service whose command checks the converged seed
# images every few seconds. The state Nagios records in its status.dat is OK,
# CRITICAL once disk 1's ESP lost its boot programs, and OK again after apply; the
# plugin output and the exit codes follow the monitoring-plugins API.
# Fails without nagios4 (scripts/deps.sh installs nagios4-core).
. "$(dirname "$0")/image-cli-lib.sh"
. "$(dirname "$0")/monitoring-lib.sh"
NAGIOS=/usr/sbin/nagios4
[ -x "$NAGIOS" ] || { echo "FAIL: nagios4 is missing (scripts/deps.sh installs nagios4-core)"; exit 1; }
D=$T/d N=$T/nagios
converged "$D"
ABS_MB=$(cd "$(dirname "$MB")" && pwd)/$(basename "$MB")
ABS_SITE=$(pwd)/$SITE

# ---- the plugin on its own: output and exit codes ----
mb 0 "--format nagios on the converged images: exit 0 (OK)" check "$SITE" --target "$L" --format nagios
says "$T/out" "^MBSTATE OK - in desired state \| 'healthy_plexes'=2;;2:;0;2 'resync'=100%;;;0;100 'esps_in_sync'=2;2:;;0;2 'firmware_entries'=2;;;0; 'drift_items'=0;0;;0; 'time'=[0-9]+\.[0-9]{3}s;;;0;$" \
        "first line: MBSTATE OK - summary | perfdata in 'label'=value[UOM];warn;crit;min;max"
says "$T/out" '^primary \(disk 0\): bootable \(Boot0000 "Windows Boot Manager" \\EFI\\Microsoft\\Boot\\bootmgfw\.efi\), os plex healthy, 0 drift items$' "a line for disk 0"
says "$T/out" '^secondary \(disk 1\): bootable \(Boot0001 "Windows Boot Manager Cloned" \\EFI\\Microsoft\\Boot\\bootmgfw\.efi\), os plex healthy, 0 drift items$' "a line for disk 1"
check "perfdata parse: every item is 'label'=value[UOM];warn;crit;min;max" python3 - "$T/out" <<'PY'
import re, sys
first = open(sys.argv[1]).readline().rstrip("\n")
text, perf = first.split("|", 1)
item = re.compile(r"'[^'=]+'=-?[0-9.]+(s|%|B|KB|MB|TB|c)?(;[0-9@:~.-]*){0,4}")
sys.exit(0 if all(item.fullmatch(p) for p in perf.split()) and len(perf.split()) == 6 else 1)
PY

# a WARNING: drift that leaves both disks bootable (a file changed on disk0's ESP)
printf 'a new boot.stl\n' > "$T/new"
mcopy -o -i "$(esp "$D/disk0.img")" "$T/new" ::/EFI/Microsoft/Boot/boot.stl
mb 1 "a changed boot.stl on disk0's ESP: exit 1 (WARNING)" check "$SITE" --target "$L" --format nagios
says "$T/out" '^MBSTATE WARNING - drift: 1 item \(efi of primary \(disk 0\) on secondary \(disk 1\): 1 file differs' "WARNING names the drift"
mb 0 "apply repairs it" apply "$SITE" --target "$L"
# UNKNOWN: the check could not evaluate
mb 3 "a missing site.yaml: exit 3 (UNKNOWN)" check "$T/none.yaml" --target "$L" --format nagios
says "$T/out" "^MBSTATE UNKNOWN - cannot evaluate: .*none\.yaml" "UNKNOWN names the file"
mb 3 "images that cannot be read: exit 3 (UNKNOWN)" check "$SITE" --target "image:$T/gone0.img,$T/gone1.img" --format nagios
says "$T/out" "^MBSTATE UNKNOWN - cannot evaluate: .*gone0\.img" "UNKNOWN names the image"
MBSTATE_LOCK=$T/lock flock "$T/lock" sleep 60 &
holder=$!
# until the holder really holds it (a loaded machine may start it late)
for _ in $(seq 200); do flock -n "$T/lock" true 2>/dev/null || break; sleep 0.1; done
MBSTATE_LOCK=$T/lock mb 3 "another run holds the lock past --lock-timeout: exit 3 (UNKNOWN)" \
        check "$SITE" --target "$L" --format nagios --lock-timeout 1
says "$T/out" "^MBSTATE UNKNOWN - cannot evaluate: .*another mbstate run holds the lock" "UNKNOWN names the lock"
kill $holder 2>/dev/null; wait $holder 2>/dev/null

# ---- Nagios 4 with its own configuration ----
mkdir -p "$N/spool" "$N/rw"
cat > "$N/objects.cfg" <<CFG
define timeperiod {
        timeperiod_name always
        alias           always
        sunday          00:00-24:00
        monday          00:00-24:00
        tuesday         00:00-24:00
        wednesday       00:00-24:00
        thursday        00:00-24:00
        friday          00:00-24:00
        saturday        00:00-24:00
}
define contact {
        contact_name                  nobody
        host_notifications_enabled    0
        service_notifications_enabled 0
        host_notification_period      always
        service_notification_period   always
        host_notification_options     n
        service_notification_options  n
        host_notification_commands    mbstate_check
        service_notification_commands mbstate_check
}
define command {
        command_name mbstate_check
        command_line $ABS_MB check $ABS_SITE --target $L --format nagios --lock-timeout 20
}
define host {
        host_name             seed
        address               127.0.0.1
        max_check_attempts    1
        check_period          always
        contacts              nobody
        notification_interval 0
        notification_period   always
        notifications_enabled 0
        active_checks_enabled 0
}
define service {
        host_name             seed
        service_description   mbstate
        check_command         mbstate_check
        max_check_attempts    1
        check_interval        3
        retry_interval        3
        check_period          always
        contacts              nobody
        notification_interval 0
        notification_period   always
        notifications_enabled 0
}
CFG
cat > "$N/nagios.cfg" <<CFG
cfg_file=$N/objects.cfg
log_file=$N/nagios.log
object_cache_file=$N/objects.cache
precached_object_file=$N/objects.precache
status_file=$N/status.dat
status_update_interval=1
temp_file=$N/nagios.tmp
temp_path=$N
lock_file=$N/nagios.lock
command_file=$N/rw/nagios.cmd
check_external_commands=0
check_result_path=$N/spool
check_result_reaper_frequency=1
state_retention_file=$N/retention.dat
retain_state_information=0
use_retained_program_state=0
use_retained_scheduling_info=0
nagios_user=$(id -un)
nagios_group=$(id -gn)
use_syslog=0
interval_length=1
max_service_check_spread=1
service_inter_check_delay_method=n
enable_notifications=0
enable_flap_detection=0
service_check_timeout=60
log_initial_states=1
check_for_updates=0
bare_update_check=1
enable_environment_macros=0
illegal_macro_output_chars=\`~\$&"<>
CFG
check "nagios4 -v accepts the configuration" sh -c "'$NAGIOS' -v '$N/nagios.cfg' > '$T/verify' 2>&1"
grep -E 'Total (Warnings|Errors)' "$T/verify" | sed 's/^/    nagios4 -v: /'
"$NAGIOS" "$N/nagios.cfg" > "$T/nagios.out" 2>&1 &
PIDS="$PIDS $!"

# recorded AFTER: the first service status Nagios records from a check run after
# Unix time AFTER (at most 90 s): "STATE<TAB>OUTPUT<TAB>PERFDATA<TAB>LONG OUTPUT"
recorded() {
        local after=$1 i
        for i in $(seq 1 180); do
                if [ -f "$N/status.dat" ] && python3 - "$N/status.dat" "$after" > "$T/status" <<'PY'
import sys
text = open(sys.argv[1]).read()
for block in text.split("servicestatus {")[1:]:
    f = dict(l.strip().split("=", 1) for l in block.split("}")[0].splitlines() if "=" in l)
    if f.get("service_description") != "mbstate":
        continue
    if int(f.get("has_been_checked", 0)) and int(f.get("last_check", 0)) > int(sys.argv[2]):
        print("\t".join([f["current_state"], f["plugin_output"], f.get("performance_data", ""),
                         f.get("long_plugin_output", "")]))
        sys.exit(0)
sys.exit(1)
PY
                then return 0; fi
                sleep 0.5
        done
        return 1
}
state_is() {    # state_is DESCRIPTION STATE OUTPUT-PATTERN
        if [ -s "$T/status" ] && [ "$(cut -f1 "$T/status")" = "$2" ] && cut -f2 "$T/status" | grep -Eq -- "$3"; then
                ok "$1"
        else
                bad "$1: status.dat has: $(cat "$T/status" 2>/dev/null) $(tail -5 "$N/nagios.log" 2>/dev/null)"
        fi
        sed 's/^/    status.dat: /; s/\t/ | /g' "$T/status"
}

t=$(date +%s)
recorded "$((t - 1))"
state_is "Nagios records OK on the converged images" 0 '^MBSTATE OK - in desired state$'
check "Nagios keeps the perfdata" grep -q "'healthy_plexes'=2;;2:;0;2" "$T/status"

lose_bootmgr "$D"
t=$(date +%s)
recorded "$t"
state_is "Nagios records CRITICAL after disk 1's ESP lost its boot programs" 2 \
        '^MBSTATE CRITICAL - secondary \(disk 1\) would not boot: Boot0001 "Windows Boot Manager Cloned" names .*bootmgfw\.efi, which is not on disk 1.s ESP'
check "its long output says which disk" grep -q 'secondary (disk 1): NOT bootable' "$T/status"

mb 0 "apply repairs disk1's ESP (while Nagios keeps checking)" apply "$SITE" --target "$L"
t=$(date +%s)
recorded "$t"
state_is "Nagios records OK again after apply" 0 '^MBSTATE OK - in desired state$'
stop_daemons
check "the Nagios log shows the service going CRITICAL and back to OK" sh -c "
        grep -q 'SERVICE ALERT: seed;mbstate;CRITICAL;HARD' '$N/nagios.log' &&
        grep -q 'SERVICE ALERT: seed;mbstate;OK;HARD' '$N/nagios.log'"
grep 'SERVICE ALERT' "$N/nagios.log" | sed 's/^/    nagios.log: /'

# examples/monitoring/nagios-mbstate.cfg is a valid Nagios 4 object file: with
# the generic-service template and a host of Nagios' sample configuration
# shape, nagios4 -v accepts it.
E=$T/example
mkdir -p "$E"
sed -n '/^define timeperiod/,/^}/p; /^define contact /,/^}/p' "$N/objects.cfg" |
        sed 's/notification_commands\( *\)mbstate_check/notification_commands\1check_mbstate/' > "$E/base.cfg"
cat >> "$E/base.cfg" <<CFG
define service {
        name                  generic-service
        register              0
        check_period          always
        contacts              nobody
        notification_interval 0
        notification_period   always
        max_check_attempts    3
        check_interval        10
        retry_interval        2
}
define host {
        host_name             winsrv01
        address               127.0.0.1
        max_check_attempts    1
        check_period          always
        contacts              nobody
        notification_interval 0
        notification_period   always
}
CFG
sed "s|^cfg_file=.*|cfg_file=$E/base.cfg\ncfg_file=$(pwd)/examples/monitoring/nagios-mbstate.cfg|" "$N/nagios.cfg" > "$E/nagios.cfg"
check "nagios4 -v accepts examples/monitoring/nagios-mbstate.cfg" sh -c "'$NAGIOS' -v '$E/nagios.cfg' > '$E/verify' 2>&1"
grep -E 'Total (Warnings|Errors)|Checked [0-9]+ (services|commands)|Error' "$E/verify" | sed 's/^/    nagios4 -v example: /'

# examples/monitoring/icinga2-mbstate.conf: Icinga 2 validates it, and its
# apply rule gives a Windows host flagged vars.mbstate the service.
if command -v icinga2 >/dev/null; then
        I=$T/icinga2
        mkdir -p "$I/data" "$I/log" "$I/cache" "$I/spool" "$I/run"
        cat > "$I/icinga2.conf" <<CFG
include "$(pwd)/examples/monitoring/icinga2-mbstate.conf"
object CheckCommand "alive" { command = [ "/bin/true" ] }
object Host "winsrv01" {
        check_command = "alive"
        vars.os = "Windows"
        vars.mbstate = true
        vars.agent_endpoint = ""
}
CFG
        check "icinga2 daemon -C accepts examples/monitoring/icinga2-mbstate.conf, one boot-mirror service" sh -c "
                icinga2 daemon -C -c '$I/icinga2.conf' -DConfigDir='$I' -DDataDir='$I/data' -DLogDir='$I/log' \
                        -DCacheDir='$I/cache' -DSpoolDir='$I/spool' -DInitRunDir='$I/run' \
                        -DRunAsUser=$(id -un) -DRunAsGroup=$(id -gn) > '$I/out' 2>&1 &&
                grep -q 'Instantiated 1 Service' '$I/out'"
        grep -E 'Instantiated|critical' "$I/out" | sed 's/^.*\] /    icinga2 -C: /'
else
        bad "icinga2 is missing (scripts/deps.sh installs icinga2-bin)"
fi
finish
