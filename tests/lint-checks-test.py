#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The lint of tests/lint-checks.py on small scripts: every bad snippet is
flagged with its rule, no good snippet is flagged, and the command line
exits 1 on a bad script and 0 on a good one.

    tests/lint-checks-test.py
"""
import importlib.util
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("lint_checks", os.path.join(HERE, "lint-checks.py"))
lc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lc)

# The helpers a test script sources (as image-lib.sh defines them): they
# write $T/out and $T/err.
LIB = '''
check() { d=$1; shift; if "$@"; then pass "$d"; else fail "$d"; fi; }
refuse() {
        d=$1 pat=$2; shift 2
        if "$@" >"$T/out" 2>"$T/err"; then fail "$d (succeeded)"; return; fi
        if grep -q -- "$pat" "$T/err"; then pass "$d"; else fail "$d"; fi
}
'''

# (rule, script): each must be flagged with that rule
BAD = [
    ("or-true", '''check "CLONE_BLOCKS onto a different-size partition is refused" sh -c "! '$MBIMG' exec '$L' 1 CLONE_BLOCKS disk=1 disk2=0 role=os >/dev/null 2>&1 || true"'''),
    ("not-or", '''check "refused" sh -c "! '$MBIMG' exec '$L' 1 CLONE_BLOCKS >/dev/null 2>&1 || true"'''),
    ("not-or", '''check "refused" sh -c "! '$MB' plan x.yaml || echo refused"'''),
    ("or-true", '''check "grep" sh -c "grep -q a '$T/out' || :"'''),
    ("or-true", '''check "exit 0" sh -c "'$MB' apply x.yaml || exit 0"'''),
    ("or-true", '''refuse "refused" "same disk" sh -c "'$MB' apply x.yaml || true"'''),
    ("or-true", '''check "continued" \\\n        sh -c "'$MB' apply x.yaml || true"'''),
    ("or-true", '''"$MB" check x.yaml || true && ok || bad "check"'''),
    ("semi-true", '''check "semicolon" sh -c "'$MB' apply x.yaml; true"'''),
    ("semi-true", '''check "colon" sh -c "'$MB' apply x.yaml; :"'''),
    ("not-pipeline", '''check "deleted object gone" sh -c "! '$MBIMG' facts '$L' | grep -q '$plex'"'''),
    ("not-pipeline", '''check "no Stale" sh -c "! mdir -/ -b -a -i '$(esp "$D1")' ::/ | grep -q Stale"'''),
    ("not-pipeline", '''! "$MB" facts | grep -q x && ok || bad "facts"'''),
    ("not-pipeline", '''if ! "$MB" facts | grep -q x; then\n        ok "facts"\nelse\n        bad "facts"\nfi'''),
    ("not-cmp", '''check "differ now" sh -c "! cmp -s '$T/out' '$T/err'"'''),
    ("filter-last", '''check "facts" sh -c "'$MB' facts | sort"'''),
    ("filter-last", '''check "facts kept" sh -c "'$MB' facts | tee '$T/f'"'''),
    ("filter-last", '''check "first line" sh -c "grep foo '$T/out' | head -1"'''),
    ("filter-last", '''check "counted" sh -c "'$MB' facts | wc -l"'''),
    ("unwritten", '''check "said it" grep -q foo "$T/never-written"'''),
    ("unwritten", '''grep -q x "$tmp/nofile" && ok || bad "y"'''),
    ("unwritten", '''check "said it" sh -c "grep -q foo '$T/typo.out'"'''),
    ("unwritten", '''check "same" cmp -s "$T/out" "$T/nobody"'''),
    ("skip-exit", '''echo "SKIP: ansible-playbook not installed"\necho "0 passed, 0 failed"\nexit 0'''),
    ("skip-exit", '''if [ -f x ]; then check "x" test -f x; else\n        echo "skip: no x"\nfi'''),
    ("skip-exit", '''command -v qemu >/dev/null || { echo "qemu missing: skipped"; exit 0; }'''),
    ("skip-tool", '''command -v ldmtool >/dev/null || { echo "SKIP: ldmtool is not installed"; exit 77; }'''),
    ("skip-tool", '''if ! command -v valgrind >/dev/null; then\n        echo "valgrind is not installed: skipped"\n        exit 77\nfi'''),
]

# scripts no rule may flag
GOOD = [
    '''check "nothing left" sh -c "'$MB' facts > '$T/f' && grep -q a '$T/f' && ! grep -q b '$T/f'"''',
    '''check "differ (exit 1, not 2)" sh -c "cmp -s '$T/out' '$T/err'; [ \\$? = 1 ]"''',
    '''fsck.fat -v -n "$T/esp" > "$T/fsck.v" 2>&1 || true\ncheck "sectors" grep -q '204800 sectors' "$T/fsck.v"''',
    '''check "4 partitions" test "$(sgdisk -p "$D" | sed '1,/^Number/d' | wc -l)" = 4''',
    '''check "a description that says || true and ; true" test 1 = 1''',
    '''echo "SKIP: reference data not found"\nexit 77''',
    '''[ -r "$TAR" ] || { echo "SKIP: no reference data"; exit 77; }''',
    '''refuse "itself" "same disk" op 1 CLONE_BLOCKS disk=1 disk2=1 role=recovery''',
    '''check "first usable" sh -c "sgdisk -p '$D' | grep -q 'First usable sector is 34,'"''',
    '''boot() { name=$1; qemu >"$T/$name.log"; }\ncheck "booted" grep -q MBSTATE "$T/b.log"''',
    '''timeout 300 wineboot -i >/dev/null 2>&1 || true''',
    '''cmp -s "$T/out" "$T/err" && ok || bad "differ"''',
    '''check "json" python3 - "$T/out" <<'PY'\nimport sys  # x || true ; true\nprint(open(sys.argv[1]).read() or "x" | 1)\nPY''',
    '''mkdir -p "$T/ro" && cp a "$T/ro/"\ncmp -s a "$T/ro/disk1.img" && ok "same" || bad "differ"''',
    '''check "hivexsh refuses it" sh -c "! hivexsh '$T/out' </dev/null >/dev/null 2>&1"''',
    '''check "rc" test $rc = 2''',
    '''skip() { skipped=$((skipped + 1)); echo "SKIP $1: $2"; }''',
    '''echo "$passed passed, $failed failed, $skipped skipped"''',
    '''grep -qa __asan_init "$MB" && { echo "built with ASan, which valgrind cannot run: skipped"; exit 77; }''',
    '''command -v ldmtool >/dev/null || { echo "FAIL: ldmtool is not installed"; exit 1; }''',
    '''"$MB" plan x > "$T/plan" 2>&1\ngrep -q "convert" "$T/plan" && ok || bad "plan"''',
]


def run(script):
    with tempfile.TemporaryDirectory() as d:
        lib = os.path.join(d, "lib.sh")
        path = os.path.join(d, "t.sh")
        with open(lib, "w") as f:
            f.write(LIB)
        with open(path, "w") as f:
            f.write('#!/bin/sh\n. "$(dirname "$0")/lib.sh"\n' + script + "\n")
        [(p, text, libs)] = list(lc.read_files([path]))
        return [rule for _, rule, _ in lc.lint(p, text, libs)]


def cli(script):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "t.sh")
        with open(path, "w") as f:
            f.write(script + "\n")
        return subprocess.run([sys.executable, os.path.join(HERE, "lint-checks.py"), path],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


fails = 0
for rule, script in BAD:
    got = run(script)
    if rule in got:
        print("ok: flagged %s: %s" % (rule, script.splitlines()[0][:90]))
    else:
        fails += 1
        print("FAIL: not flagged as %s (got %s): %s" % (rule, got, script))
for script in GOOD:
    got = run(script)
    if not got:
        print("ok: not flagged: %s" % script.splitlines()[0][:90])
    else:
        fails += 1
        print("FAIL: flagged %s: %s" % (got, script))
r = cli(BAD[0][1])
if r.returncode == 1 and "or-true" in r.stdout and "t.sh:1:" in r.stdout:
    print("ok: the command line exits 1 on a bad script and names FILE:LINE and the rule")
else:
    fails += 1
    print("FAIL: command line on a bad script: exit %d: %s" % (r.returncode, r.stdout))
r = cli(GOOD[0])
if r.returncode == 0:
    print("ok: the command line exits 0 on a good script")
else:
    fails += 1
    print("FAIL: command line on a good script: exit %d: %s" % (r.returncode, r.stdout))
# include cycles among the wing's headers: a circle of three is found, a
# chain is not
with tempfile.TemporaryDirectory() as d:
    for name, inc in (("a.h", "b.h"), ("b.h", "c.h"), ("c.h", "a.h"), ("d.h", "a.h")):
        with open(os.path.join(d, name), "w") as f:
            f.write('#include "error.h"\n#include "platform/posix/%s"\n' % inc)
    cyc = lc.include_cycles(d)
    if len(cyc) == 1 and sorted(cyc[0][:-1]) == ["a.h", "b.h", "c.h"] and cyc[0][0] == cyc[0][-1]:
        print("ok: include-cycle: a.h -> b.h -> c.h -> a.h found")
    else:
        fails += 1
        print("FAIL: include-cycle: got %s" % cyc)
    os.remove(os.path.join(d, "c.h"))
    if lc.include_cycles(d) == []:
        print("ok: include-cycle: a chain of includes is not a cycle")
    else:
        fails += 1
        print("FAIL: include-cycle: a chain flagged: %s" % lc.include_cycles(d))
# c-header: (expected to pass?, text of a .c file)
C_FILES = [
    (True, "/* SPDX-License-Identifier: MIT */\n/* The GPT reader and writer. */\n#include \"gpt.h\"\n"),
    (True, "/* SPDX-License-Identifier: MIT */\n\n/*\n * Fault injection for tests: counts the points a run\n * passes.\n */\n#include <x.h>\n"),
    (True, "/* The item syntax of a list (image:A,B). */\nint x;\n"),
    (False, "/* SPDX-License-Identifier: MIT */\n#include \"gpt.h\"\n/* The GPT reader. */\n"),
    (False, "/* SPDX-License-Identifier: MIT */\n// The GPT reader and writer.\n"),
    (False, "/* SPDX-License-Identifier: MIT */\n/* ---- steps ---- */\nint x;\n"),
    (False, "/* SPDX-License-Identifier: MIT */\n/* GPT reader and writer */\nint x;\n"),
    (False, "/* SPDX-License-Identifier: MIT */\n/* The GPT reader and writer.\nint x;\n"),
    (False, "/* SPDX-License-Identifier: MIT */\n"),
]
for good, text in C_FILES:
    got = lc.c_header(text)
    if (got is None) == good:
        print("ok: c-header %s: %r" % ("passes" if good else "flags", text[:70]))
    else:
        fails += 1
        print("FAIL: c-header %s: %r (got %r)" % ("should pass" if good else "should flag", text, got))
with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, "x.c")
    with open(path, "w") as f:
        f.write(C_FILES[3][1])
    r = subprocess.run([sys.executable, os.path.join(HERE, "lint-checks.py"), path],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
if r.returncode == 1 and "x.c:2: c-header" in r.stdout:
    print("ok: the command line exits 1 on a .c file without its opening comment")
else:
    fails += 1
    print("FAIL: command line on a .c file without its comment: exit %d: %s" % (r.returncode, r.stdout))
print("lint-checks-test: %d snippet(s), %d failed" % (len(BAD) + len(GOOD) + len(C_FILES) + 5, fails))
sys.exit(1 if fails else 0)
