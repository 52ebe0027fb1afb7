#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Runs the cross-built mbstate.exe under wine and compares it with the
# native build (the golden output): same stdout, stderr and exit code for
# --version, --help, validate (good and bad files) and plan against the seed
# snapshot; `facts --target windows` must end with a clear error, not a crash.
#
#   tests/wine/run.sh NATIVE_MBSTATE MBSTATE_EXE
#
# Run from anywhere; paths in the commands are relative to the repository
# root so both builds print the same names. Last line: "N passed, N failed,
# N skipped" (tests/run.sh reads it). A check is skipped only when what it
# needs is not in the repository (skip NAME REASON), never for a missing
# package: wine itself missing is a failure of every check.
set -uo pipefail

if [ $# -ne 2 ]; then
    echo "usage: $0 NATIVE_MBSTATE MBSTATE_EXE" >&2
    exit 1
fi
native=$(readlink -f "$1")
exe=$(readlink -f "$2")
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1

export WINEDEBUG=-all
export WINEPREFIX=${WINEPREFIX:-/tmp/mbstate-wineprefix}
# No desktop integration, no Mono/Gecko prompts.
export WINEDLLOVERRIDES="mscoree,mshtml=;winemenubuilder.exe=d"
out=$(mktemp -d /tmp/mbstate-wine.XXXXXX)
trap 'rm -rf "$out"' EXIT

passed=0
failed=0
skipped=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && sed 's/^/     /' "$2" | head -40; }
skip() { skipped=$((skipped + 1)); echo "SKIP $1: $2"; }

# wine prints "\r\n" and may add its own diagnostics on stderr: strip both.
run_wine() { # NAME ARGS...
    local name=$1; shift
    timeout 300 wine "$exe" "$@" >"$out/$name.wout" 2>"$out/$name.werr"
    echo $? >"$out/$name.wrc"
    sed -i 's/\r$//' "$out/$name.wout" "$out/$name.werr"
    sed -i '/^wine: \|^[0-9a-f]*:err:\|^[0-9a-f]*:fixme:/d' "$out/$name.werr"
}
run_native() { # NAME ARGS...
    local name=$1; shift
    timeout 300 "$native" "$@" >"$out/$name.nout" 2>"$out/$name.nerr"
    echo $? >"$out/$name.nrc"
}

# Same exit code, stdout and stderr from both builds.
same() { # NAME ARGS...
    local name=$1
    run_native "$@"
    run_wine "$@"
    {
        diff -u "$out/$name.nrc" "$out/$name.wrc" | sed 's/^/exit: /'
        diff -u "$out/$name.nout" "$out/$name.wout"
        diff -u "$out/$name.nerr" "$out/$name.werr"
    } >"$out/$name.diff" 2>&1
    if [ -s "$out/$name.diff" ]; then
        bad "$name: native and wine differ" "$out/$name.diff"
    else
        ok "$name (exit $(cat "$out/$name.nrc"))"
    fi
}

# wine must be set up once; its first start prints configuration noise.
timeout 300 wineboot -i >/dev/null 2>&1 || true

same version --version
same help --help
for verb in validate plan check facts apply; do
    same "help-$verb" "$verb" --help
done
same validate-seed validate examples/seed/site.yaml
for f in tests/data/bad/*.yaml; do
    [ -e "$f" ] || { skip validate-bad "no tests/data/bad/*.yaml"; continue; }
    same "validate-bad-$(basename "$f" .yaml)" validate "$f"
done
for s in tests/data/seed/facts-*.yaml; do
    [ -e "$s" ] || { skip plan "no tests/data/seed/facts-*.yaml"; continue; }
    n=$(basename "$s" .yaml)
    same "plan-$n" plan examples/seed/site.yaml --target "snapshot:$s"
    same "plan-$n-json" plan examples/seed/site.yaml --target "snapshot:$s" --json
    same "plan-$n-commands" plan examples/seed/site.yaml --target "snapshot:$s" --commands windows
done

# BCD.LOG* files that differ between the ESPs are not drift (both builds).
same plan-bcd-logs plan examples/seed/site.yaml \
    --target snapshot:tests/data/windows/facts-bcd-logs-differ.yaml
if [ "$(cat "$out/plan-bcd-logs.nrc")" = 3 ] && ! grep -q 'clone' "$out/plan-bcd-logs.nout"; then
    ok "BCD.LOG* files are ignored by the ESP clone (exit 3: converging)"
else
    bad "BCD.LOG* files made the ESP clone drift: exit $(cat "$out/plan-bcd-logs.nrc")" "$out/plan-bcd-logs.nout"
fi

# The live target under wine: a clear error, never a crash.
run_wine facts-windows facts --target windows
rc=$(cat "$out/facts-windows.wrc")
if [ "$rc" = 1 ] && grep -q '^mbstate' "$out/facts-windows.werr" &&
   ! grep -qiE 'unhandled exception|unimplemented function|backtrace|page fault' "$out/facts-windows.werr"; then
    ok "facts --target windows ends with a clear error: $(head -1 "$out/facts-windows.werr")"
else
    bad "facts --target windows: exit $rc" "$out/facts-windows.werr"
fi

# The monitoring formats (README, "Monitoring"): the same output from both
# builds but for the time taken; the textfile replaced through MoveFileExA.
for f in nagios checkmk prometheus zabbix-discovery; do
    run_native "format-$f" check examples/seed/site.yaml --target snapshot:tests/data/seed/facts-before.yaml --format "$f"
    run_wine "format-$f" check examples/seed/site.yaml --target snapshot:tests/data/seed/facts-before.yaml --format "$f"
    for x in nout wout; do
        sed -i -E "s/('time'=|time=|_seconds )[0-9.]+/\1T/" "$out/format-$f.$x"
    done
    if [ "$(cat "$out/format-$f.nrc")" = "$(cat "$out/format-$f.wrc")" ] &&
       cmp -s "$out/format-$f.nout" "$out/format-$f.wout" && [ -s "$out/format-$f.wout" ]; then
        ok "check --format $f: same output under wine (exit $(cat "$out/format-$f.wrc"))"
    else
        diff -u "$out/format-$f.nout" "$out/format-$f.wout" >"$out/format-$f.diff"
        bad "check --format $f differs under wine" "$out/format-$f.diff"
    fi
done
run_wine textfile check examples/seed/site.yaml --target snapshot:tests/data/seed/facts-before.yaml \
    --textfile "$(winepath -w "$out/w.prom" 2>/dev/null)"
run_wine textfile2 check examples/seed/site.yaml --target snapshot:tests/data/seed/facts-before.yaml \
    --textfile "$(winepath -w "$out/w.prom" 2>/dev/null)"
if [ "$(cat "$out/textfile2.wrc")" = 2 ] && grep -q '^mbstate_check_state 2$' "$out/w.prom" &&
   [ "$(ls "$out" | grep -c '^w\.prom')" = 1 ] && ! grep -q $'\r' "$out/w.prom"; then
    ok "check --textfile under wine: written, then replaced (MoveFileExA), LF only, no temporary left"
else
    bad "check --textfile under wine: exit $(cat "$out/textfile2.wrc")" "$out/textfile2.werr"
fi

# The Event Log message table (README, "Monitoring"): read back from the exe
# with wrestool (icoutils), every event ID present with its text and level.
if command -v wrestool >/dev/null; then
    if wrestool -x -R --type=11 "$exe" >"$out/msgtable.bin" 2>"$out/wrestool.err" && [ -s "$out/msgtable.bin" ] &&
       python3 tests/wine/event-messages.py "$out/msgtable.bin" engine/monitor_events.mc \
           engine/monitor_events.h README.md >"$out/msgtable.txt" 2>&1; then
        ok "message table in the exe: $(grep -c '^ok' "$out/msgtable.txt") event IDs (wrestool)"
        sed 's/^/     /' "$out/msgtable.txt"
    else
        bad "message table in the exe (wrestool)" "$out/msgtable.txt"
        cat "$out/wrestool.err"
    fi
else
    bad "wrestool (icoutils, scripts/deps.sh) is not installed: the message table was not read"
fi

# --log eventlog under wine: registers the source and reports, without an error.
for s in tests/data/seed/facts-before.yaml; do
    run_wine eventlog-check check examples/seed/site.yaml --target "snapshot:$s" --log eventlog
    rc=$(cat "$out/eventlog-check.wrc")
    if [ "$rc" = 2 ] && ! grep -qi 'event log\|eventlog\|RegisterEventSource' "$out/eventlog-check.werr"; then
        ok "check --log eventlog under wine (exit 2: drift, no log error)"
    else
        bad "check --log eventlog under wine: exit $rc" "$out/eventlog-check.werr"
    fi
done
# The IDs and types ReportEventW is given (wine traces them): the start
# (100, Information) and the outcome of this check -- the seed before its
# first apply: disk 1 has no ESP -- 1003 as an Error.
WINEDEBUG=+eventlog timeout 300 wine "$exe" check examples/seed/site.yaml \
    --target snapshot:tests/data/seed/facts-before.yaml --log eventlog >/dev/null 2>"$out/eventlog-trace.err"
if grep -q 'ReportEventW (.*,0x0004,0x0000,0x40000064,' "$out/eventlog-trace.err" &&
   grep -q 'ReportEventW (.*,0x0001,0x0000,0xc00003eb,' "$out/eventlog-trace.err"; then
    ok "ReportEventW got event 100 (Information) and 1003 (Error) for a disk that would not boot"
else
    bad "ReportEventW calls (WINEDEBUG=+eventlog)" "$out/eventlog-trace.err"
fi
if timeout 120 wine reg query 'HKLM\SYSTEM\CurrentControlSet\Services\EventLog\Application\mbstate' \
        /v EventMessageFile 2>/dev/null | tr -d '\r' | grep -qi 'mbstate.exe'; then
    ok "the event source mbstate is registered with mbstate.exe as its EventMessageFile"
else
    bad "the event source mbstate is not registered (wine reg query)"
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
