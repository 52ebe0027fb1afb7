#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Refuses test checks that cannot fail.

    tests/lint-checks.py [FILE...]   (default: tests/e2e/*.sh tests/wine/*.sh)

A check is a statement that counts a pass or a fail: a call of check,
refuse, says, expect, contains, has, hasnt, mb, or a command followed by
`&& ok`/`|| bad` (or pass/fail), or the condition of an `if` whose branch
starts with ok/pass. In a check, these forms are refused, because the
status they give does not depend on the product:

  or-true        `|| true`, `|| :`, `|| exit 0`: succeeds whatever ran
  semi-true      `; true` or `; :` as the last command
  not-or         `! CMD || ...`: the negation is or-ed away
  not-pipeline   `! A | B`: passes when A fails (say, the product crashed)
  not-cmp        `! cmp`: cmp exits 2 on a missing file, so `!` passes
  filter-last    a pipeline ending in sort/cat/head/tail/tee/sed/tr/cut/wc/
                 uniq/echo/printf/true: its status is the filter's (0)
  unwritten      grep/cmp/diff on a file ($T/..., $tmp/...) that no
                 command in the script or its sourced helpers writes

and, anywhere in a script:

  skip-exit      a line that says "skip" and then does not `exit 77`: a
                 test that skips must say so to meson (77), never pass.
  skip-tool      `command -v TOOL ... exit 77`: a missing tool is a set-up
                 that scripts/deps.sh should have made, a failure, not a
                 skip (skip only for what the repository cannot provide).

and, run without FILE arguments, over the sources:

  include-cycle  a circle of includes among the POSIX wing's headers
                 (engine/platform/posix/*.h including each other as
                 "platform/posix/NAME.h"): each header's contract must be
                 readable without the ones that include it.

and, in C sources (the .c files under engine/, resources/, schemas/,
tests/ and examples/ when run without arguments, or a .c FILE given):

  c-header       the file does not open with what it holds: after the SPDX
                 line (and blank lines), the first lines must be one /* */
                 comment holding at least one sentence (three words or more
                 and a full stop, question or exclamation mark followed by a
                 space or the comment's end).

Prints FILE:LINE: RULE: text for each finding; exit 1 when any.
"""
import glob
import os
import re
import sys

CHECKERS = {"check", "refuse", "says", "expect", "contains", "has", "hasnt", "mb", "refused", "vg"}
PASS_WORDS = r"(ok|pass)"
FAIL_WORDS = r"(bad|fail)"
FILTERS = {"sort", "cat", "head", "tail", "tee", "sed", "tr", "cut", "wc", "uniq", "echo",
           "printf", "true", ":"}
FILE_VAR = r"\$\{?(?:T|tmp|TMP|out|W|P|work)\}?/[A-Za-z0-9_.$/{}-]+"


def logical_lines(text):
    """(first line number, text) of each statement line: continuations and
    multi-line quoted strings joined, here-document bodies left out."""
    lines = text.split("\n")
    out = []
    i = 0
    while i < len(lines):
        start = i
        buf = lines[i]
        while True:
            if buf.endswith("\\") and i + 1 < len(lines):
                i += 1
                buf = buf[:-1] + " " + lines[i].strip()
                continue
            if quotes_open(buf) and i + 1 < len(lines):
                i += 1
                buf = buf + "\n" + lines[i]
                continue
            break
        out.append((start + 1, buf))
        m = re.search(r"<<-?\s*(['\"]?)([A-Za-z_]+)\1", strip_quoted(buf))
        i += 1
        if m:
            end = m.group(2)
            while i < len(lines) and lines[i].strip() != end:
                i += 1
            i += 1
    return out


def quotes_open(s):
    """True when s ends inside a quoted string or a $( ) substitution."""
    stack = []          # "'", '"' or "(" (a command substitution)
    k = 0
    while k < len(s):
        c = s[k]
        top = stack[-1] if stack else None
        if top == "'":
            if c == "'":
                stack.pop()
        elif c == "\\":
            k += 2
            continue
        elif top == '"':
            if c == '"':
                stack.pop()
            elif s.startswith("$(", k):
                stack.append("(")
                k += 1
        else:
            if c == "#" and (k == 0 or s[k - 1] in " \t;"):
                break
            if c in "'\"":
                stack.append(c)
            elif s.startswith("$(", k):
                stack.append("(")
                k += 1
            elif c == ")" and top == "(":
                stack.pop()
        k += 1
    return bool(stack)


def strip_quoted(s):
    """s with the contents of quoted strings removed (quotes kept)."""
    return re.sub(r"'[^']*'|\"(?:\\.|[^\"\\])*\"", "''", s)


def strip_comment(s):
    out, q, k = [], None, 0
    while k < len(s):
        c = s[k]
        if q is None and c == "#" and (k == 0 or s[k - 1] in " \t;"):
            break
        if c == "\\" and q != "'":
            out.append(s[k:k + 2])
            k += 2
            continue
        if q is None and c in "'\"":
            q = c
        elif q == c:
            q = None
        out.append(c)
        k += 1
    return "".join(out)


def drop_substitutions(s):
    """s without $( ... ) and `...` command substitutions (their status is
    not the statement's)."""
    out, depth, k = [], 0, 0
    while k < len(s):
        if s.startswith("$(", k) and not s.startswith("$((", k):
            depth += 1
            k += 2
            continue
        if depth and s[k] == "(":
            depth += 1
        elif depth and s[k] == ")":
            depth -= 1
            k += 1
            continue
        if not depth:
            out.append(s[k])
        k += 1
    return re.sub(r"`[^`]*`", "", "".join(out))


def is_check(stmt, nxt):
    words = stmt.split()
    if not words:
        return False
    first = words[0]
    if first in CHECKERS:
        return True
    if re.search(r"&&\s*" + PASS_WORDS + r"\b|\|\|\s*" + FAIL_WORDS + r"\b|&&\s*" + FAIL_WORDS +
                 r"\b.*\|\|\s*" + PASS_WORDS + r"\b", stmt):
        return True
    if first in ("if", "elif") and (re.search(r";\s*then\s+" + PASS_WORDS + r"\b", stmt) or
                                    (nxt is not None and re.match(r"\s*(then\s+)?" + PASS_WORDS + r"\b",
                                                                  nxt))):
        return True
    return False


def quoted_word(s, k):
    """The contents of the quoted string that starts at s[k] (a quote),
    $( ) substitutions with their own quotes included."""
    q = s[k]
    if q == "'":
        end = s.find("'", k + 1)
        return s[k + 1:] if end < 0 else s[k + 1:end]
    depth, j = 0, k + 1
    while j < len(s):
        c = s[j]
        if c == "\\":
            j += 2
            continue
        if s.startswith("$(", j):
            depth += 1
            j += 2
            continue
        if depth and c == ")":
            depth -= 1
        elif depth and c in "'\"":
            end = s.find(c, j + 1)
            j = len(s) if end < 0 else end
        elif not depth and c == '"':
            break
        j += 1
    return s[k + 1:j]


def shell_bodies(stmt):
    """The statement itself and the script text of any sh -c / bash -c."""
    yield stmt
    for m in re.finditer(r"\b(?:sh|bash)\s+-c\s+(?=[\"'])", stmt):
        yield quoted_word(stmt, m.end())


def forms(stmt):
    """Rule names of the refused forms in one check statement."""
    found = []
    for body in shell_bodies(stmt):
        b = strip_quoted(drop_substitutions(body))
        b = re.sub(r"[0-9]*[<>]&[0-9-]+|&>>?", " ", b)     # 2>&1 is no command separator
        if re.search(r"\|\|\s*(true|:|exit\s+0)(\s|;|$|[\"')])", b):
            found.append("or-true")
        if re.search(r";\s*(true|:)\s*([\"')]|$)", b):
            found.append("semi-true")
        if re.search(r"(^|[\s;(&|\"'])!\s+[^;&|]*\|\|", b):
            found.append("not-or")
        if re.search(r"(^|[\s;(&\"'])!\s+[^;&|]*\|(?!\|)", b):
            found.append("not-pipeline")
        if re.search(r"(^|[\s;(&|\"'])!\s+cmp\b", b):
            found.append("not-cmp")
        for part in re.split(r"&&|\|\||;", b):
            segs = [x for x in re.split(r"(?<!\|)\|(?!\|)", part)]
            if len(segs) > 1:
                last = segs[-1].strip().strip("\"')").split()
                if last and last[0] in FILTERS:
                    found.append("filter-last")
    return sorted(set(found))


def norm_path(p):
    return p.replace("{", "").replace("}", "").strip("'\"")


def written_paths(text):
    """Every $T/... path the text writes: redirections, dd of=, tee, and
    the last argument of cp/mv/ln/mcopy/part/mkgpt/copyset/touch/truncate."""
    paths = set()
    for m in re.finditer(r"(?:>>?|of=|--log(?:-file)?[= ]|-o\s|--output[= ])\s*[\"']?(" + FILE_VAR + ")", text):
        paths.add(norm_path(m.group(1)))
    for line in text.split("\n"):
        for seg in re.split(r"[;|&]", line):
            w = seg.split()
            if w and w[0] in ("cp", "mv", "ln", "mcopy", "part", "tee", "touch", "truncate", "mkgpt",
                              "seed", "copyset", "mkdir", "rm"):
                for a in w[1:]:
                    for m in re.finditer(FILE_VAR, a):
                        paths.add(norm_path(m.group(0)))
    return paths


def is_written(path, written):
    """path is a written path, lies in a written directory, or matches a
    written path with $variables in it."""
    for w in written:
        if path == w or path.startswith(w.rstrip("/") + "/"):
            return True
        if "$" in w:
            rx = re.sub(r"\\\$[A-Za-z_][A-Za-z0-9_]*", "[^/]+", re.escape(w))
            if re.fullmatch(rx, path):
                return True
    return False


def read_files(paths):
    """(path, text) of each path followed by the helpers it sources."""
    for p in paths:
        text = open(p, encoding="utf-8", errors="replace").read()
        libs = ""
        for m in re.finditer(r"^\s*(?:\.|source)\s+\"?\$\(dirname \"\$0\"\)/([\w.-]+)\"?", text, re.M):
            lib = os.path.join(os.path.dirname(p), m.group(1))
            if os.path.exists(lib):
                libs += open(lib, encoding="utf-8", errors="replace").read() + "\n"
        yield p, text, libs


def lint(path, text, libs):
    findings = []
    written = written_paths(text + "\n" + libs)
    stmts = logical_lines(text)
    for idx, (lineno, raw) in enumerate(stmts):
        stmt = strip_comment(raw).strip()
        nxt = strip_comment(stmts[idx + 1][1]) if idx + 1 < len(stmts) else None
        if not stmt:
            continue
        if re.match(r"(echo|printf)\b", stmt) or re.search(r"[;{]\s*(echo|printf)\b", stmt):
            said = " ".join(re.findall(r"\"(?:\\.|[^\"\\])*\"|'[^']*'", stmt))
            said = re.sub(r"\$\{?\w+\}?\s+skipped", "", said)         # a count of skips
            counted = re.search(r"\b\w*skipped\w*=\$\(\(", stmt, re.I)    # a skip counted as such
            if re.search(r"\bskip(ped|s)?\b", said, re.I) and not counted:
                window = stmt + " " + " ".join(strip_comment(s) for _, s in stmts[idx + 1:idx + 3])
                if not re.search(r"\bexit\s+77\b", window):
                    findings.append((lineno, "skip-exit", stmt))
        window = stmt + " " + " ".join(strip_comment(s) for _, s in stmts[idx + 1:idx + 3])
        if re.search(r"\b(command\s+-v|which|type)\b", strip_quoted(stmt)) and re.search(r"\bexit\s+77\b", window):
            findings.append((lineno, "skip-tool", stmt))
        if not is_check(stmt, nxt):
            continue
        for rule in forms(stmt):
            findings.append((lineno, rule, stmt))
        for body in shell_bodies(stmt):
            b = drop_substitutions(body)
            for m in re.finditer(r"\b(grep|cmp|diff)\b([^;&|]*)", b):
                for f in re.finditer(FILE_VAR, m.group(2)):
                    p = norm_path(f.group(0))
                    if not is_written(p, written):
                        findings.append((lineno, "unwritten", "%s reads %s, which nothing writes" %
                                         (m.group(1), p)))
    return sorted(set(findings))


WING_INCLUDE = re.compile(r'^\s*#\s*include\s+"platform/posix/([A-Za-z0-9_]+\.h)"', re.M)


def include_cycles(folder):
    """The circles of includes among folder/*.h, each as the list of header
    names around it (the first repeated at the end); [] when there is none."""
    graph = {}
    for h in sorted(glob.glob(os.path.join(folder, "*.h"))):
        with open(h, encoding="utf-8") as f:
            graph[os.path.basename(h)] = [n for n in WING_INCLUDE.findall(f.read())]
    cycles, state = [], {}

    def visit(node, path):
        state[node] = "open"
        for nxt in graph.get(node, []):
            if state.get(nxt) == "open":
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt in graph and nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for node in graph:
        if node not in state:
            visit(node, [node])
    return cycles


C_DIRS = ("engine", "resources", "schemas", "tests", "examples")


def c_header(text):
    """None when text (a .c file) opens with a comment saying what it holds,
    else (line, why)."""
    lines = text.split("\n")
    i = 0
    if lines and re.match(r"\s*(/\*|//)\s*SPDX-License-Identifier:", lines[0]):
        i = 1
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i >= len(lines) or not lines[i].lstrip().startswith("/*"):
        return (i + 1, "the first lines after the SPDX line are not a /* */ comment "
                       "saying what the file holds")
    start = i
    body = []
    while i < len(lines):
        body.append(lines[i])
        if "*/" in lines[i]:
            break
        i += 1
    else:
        return (start + 1, "the opening comment is not closed")
    words = " ".join(body)
    words = words.split("*/", 1)[0].replace("/*", " ", 1)
    words = re.sub(r"^\s*\*", " ", words)
    words = " ".join(w for w in words.split() if w != "*")
    if len(re.findall(r"[A-Za-z]{2,}", words)) < 3 or not re.search(r"[.!?](\s|$)", words):
        return (start + 1, "the opening comment is not a sentence saying what the file holds: %r"
                % words[:80])
    return None


def c_files(root):
    found = []
    for d in C_DIRS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, d)):
            dirnames.sort()
            found += [os.path.join(dirpath, f) for f in sorted(filenames) if f.endswith(".c")]
    return found


def main(argv):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    files = argv[1:] or sorted(glob.glob(os.path.join(root, "tests/e2e/*.sh")) +
                               glob.glob(os.path.join(root, "tests/wine/*.sh")))
    sources = [f for f in files if f.endswith(".c")] if argv[1:] else c_files(root)
    files = [f for f in files if not f.endswith(".c")]
    bad = 0
    for path in sources:
        found = c_header(open(path, encoding="utf-8", errors="replace").read())
        if found:
            bad += 1
            print("%s:%d: c-header: %s" % (os.path.relpath(path, root), found[0], found[1]))
    for path, text, libs in read_files(files):
        for lineno, rule, what in lint(path, text, libs):
            bad += 1
            print("%s:%d: %s: %s" % (os.path.relpath(path, root), lineno, rule,
                                     what.replace("\n", " ")[:200]))
    if not argv[1:]:
        wing = os.path.join(root, "engine/platform/posix")
        for cycle in include_cycles(wing):
            bad += 1
            print("engine/platform/posix/%s: include-cycle: %s" % (cycle[0], " -> ".join(cycle)))
    if bad:
        print("lint-checks: %d finding(s): checks that cannot fail, skips that pass, C "
              "files that do not say what they hold, or include cycles" % bad)
        return 1
    print("lint-checks: %d file(s), every check can fail; %d C file(s), each opens with "
          "what it holds" % (len(files), len(sources)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
