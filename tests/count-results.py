#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Counts what a part of tests/run.sh passed, failed and skipped.

    tests/count-results.py meson TESTLOG.json   (meson-logs/testlog.json)
    tests/count-results.py wine WINE.LOG        (the output of tests/wine/run.sh)

Prints "PASSED FAILED SKIPPED" on stdout, and on stderr one line per
skipped test with the reason it gave. meson: OK and EXPECTEDFAIL pass, SKIP
(exit 77) is skipped, anything else (FAIL, TIMEOUT, ERROR, UNEXPECTEDPASS,
INTERRUPT) fails. wine: the last "N passed, N failed, N skipped" line
(or "N passed, N failed"); no such line, or an unreadable log, is one
failure: the checks did not report.
"""
import json
import re
import sys


def meson(path):
    p = f = s = 0
    try:
        lines = open(path, encoding="utf-8", errors="replace").read().splitlines()
    except OSError as e:
        print("count-results: %s: %s" % (path, e.strerror), file=sys.stderr)
        return 0, 1, 0
    for line in lines:
        if not line.strip():
            continue
        r = json.loads(line)
        result = r.get("result")
        if result in ("OK", "EXPECTEDFAIL"):
            p += 1
        elif result == "SKIP":
            s += 1
            out = (r.get("stdout") or "") + "\n" + (r.get("stderr") or "")
            why = [x for x in out.splitlines() if re.search(r"skip", x, re.I)]
            print("skipped: %s: %s" % (r.get("name"), why[0].strip() if why else "(exit 77)"),
                  file=sys.stderr)
        else:
            f += 1
    return p, f, s


def wine(path):
    try:
        text = open(path, encoding="utf-8", errors="replace").read()
    except OSError as e:
        print("count-results: %s: %s" % (path, e.strerror), file=sys.stderr)
        return 0, 1, 0
    for line in text.splitlines():
        if line.startswith("SKIP "):
            print("skipped: wine: %s" % line[5:], file=sys.stderr)
    m = re.findall(r"^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$", text, re.M)
    if not m:
        print("count-results: %s: no \"N passed, N failed\" line" % path, file=sys.stderr)
        return 0, 1, 0
    p, f, s = m[-1]
    return int(p), int(f), int(s or 0)


def main(argv):
    if len(argv) != 3 or argv[1] not in ("meson", "wine"):
        print("usage: count-results.py meson|wine LOG", file=sys.stderr)
        return 2
    print("%d %d %d" % (meson(argv[2]) if argv[1] == "meson" else wine(argv[2])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
