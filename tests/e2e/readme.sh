#!/bin/bash
# SPDX-License-Identifier: MIT
# The README's console examples run as written: every "$ mbstate ..." line
# in a code block is run from the source root (the snapshot copy the README
# applies to, /tmp/facts.yaml, and the image files it names are made in a
# temporary directory and their paths put in), and the first output line
# the README shows after it, when it shows one literally, is the first line
# the command prints; an "(exit N)" the README gives is the exit status,
# and a command the README shows without one does not end in an error (1)
# unless what it shows is an error naming FILE:LINE:COLUMN.
# Runs from the source root as: readme.sh MBSTATE MKSEED MAKE_IMAGES
set -u
MB=${1:?usage: $0 MBSTATE MKSEED MAKE_IMAGES}
MKSEED=${2:?mkseed}
MAKE_IMAGES=${3:?make-images}
export MTOOLS_SKIP_CHECK=1 LC_ALL=C.UTF-8
T=$(mktemp -d "${TMPDIR:-/tmp}/mbstate-readme.XXXXXX")
trap 'rm -rf "$T"' EXIT
PASS=0 FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok: $*"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL: $*"; }

cp tests/data/seed/facts-before.yaml "$T/facts.yaml"
chmod 600 "$T/facts.yaml"
"$MAKE_IMAGES" "$T" "$MKSEED" >/dev/null || bad "make-images"

# "COMMAND<TAB>FIRST LINE SHOWN<TAB>EXIT SHOWN" for each example, in order
python3 - README.md >"$T/examples" <<'PY'
import re, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
inblock = False
i = 0
while i < len(lines):
    l = lines[i]
    if l.startswith("```"):
        inblock = not inblock
        i += 1
        continue
    if inblock and l.startswith("$ mbstate "):
        cmd = l[2:]
        shown, code = "", ""
        j = i + 1
        while j < len(lines) and lines[j] and not lines[j].startswith("$ ") and not lines[j].startswith("```"):
            m = re.search(r"\s+\(exit (\d)\)$", lines[j])
            if m:
                code = m.group(1)
            if j == i + 1:
                shown = re.sub(r"\s+\(exit \d\)$", "", lines[j])
            j += 1
        if shown.strip().startswith("(") or shown.strip() == "...":
            shown = ""
        print("%s\t%s\t%s" % (cmd, shown, code))
    i += 1
PY
n=$(wc -l <"$T/examples")
[ "$n" -ge 8 ] && ok "$n console examples found in README.md" || bad "only $n console examples found in README.md"
while IFS=$'\t' read -r cmd shown code; do
        run=${cmd/#mbstate /}
        run=${run//\/tmp\/facts.yaml/$T/facts.yaml}
        run=${run//image:disk0.img,disk1.img/image:$T/disk0.img,$T/disk1.img}
        run=${run//> facts.json/> $T/facts.json}
        # the example's words, split as the shell would (no pipes but one redirection)
        out=$T/out
        if [[ "$run" == *" > "* ]]; then
                eval "set -- ${run% > *}"
                "$MB" "$@" >"${run##* > }" 2>"$T/err"; rc=$?
                out=${run##* > }
        else
                eval "set -- $run"
                "$MB" "$@" >"$T/out" 2>"$T/err"; rc=$?
        fi
        # the README shows a terminal: its first line is the first of stdout
        # or of stderr (progress and the steps of apply go to stderr)
        first=$(head -1 "$out")
        if [ "$first" != "$shown" ]; then first=$(head -1 "$T/err"); fi
        if [ -n "$code" ]; then
                [ "$rc" = "$code" ] && ok "$cmd: exit $rc, as shown" || bad "$cmd: exit $rc, the README shows $code"
        elif [ "$rc" = 1 ] && ! [[ "$shown" =~ :[0-9]+:[0-9]+:\  ]]; then
                bad "$cmd: exit 1: $(head -3 "$out" "$T/err" 2>/dev/null)"
        else
                ok "$cmd: exit $rc"
        fi
        if [ -n "$shown" ]; then
                [ "$first" = "$shown" ] && ok "$cmd: prints the README's first line" ||
                        bad "$cmd: prints '$first', the README shows '$shown'"
        fi
done <"$T/examples"
echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
