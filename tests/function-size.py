#!/usr/bin/env python3
"""Checks that no function (or lambda) in lib/ or tools/ is longer than 60
lines, counted from the line of its opening brace to that of its closing one.
Prints one line per long function and exits 1.

    tests/function-size.py [ROOT]     (default: this checkout)

A block counts as a function when the text before its "{" ends like a
function head: ")" then perhaps const, override, noexcept, mutable, final, a
trailing return type or a constructor's initialisers; if/for/while/switch/
catch heads do not count (a loop counted by mistake is always shorter than
the function around it). Comments, strings and raw strings are blanked first.
"""
import os
import re
import sys

LIMIT = 60
# Kept whole on purpose: the record parser's one pass over a line is the hot
# path of every program (bench/alert-throughput.sh).
ALLOWED = {("lib/stockwatch/core/records.cc", "RecordParser::Parse")}

HEAD = re.compile(r"\)\s*(const|override|noexcept|mutable|final|\s)*(->\s*[\w:<>,\s*&]+)?$")
CONTROL = re.compile(r"\b(if|for|while|switch|catch)\s*\([^;{}]*\)\s*$")
NAME = re.compile(r"([\w:~]+)\s*$")


def blank(m):
    return re.sub(r"[^\n]", " ", m.group())


def strip(src):
    src = re.sub(r'R"(\w*)\(.*?\)\1"', blank, src, flags=re.S)
    src = re.sub(r"//[^\n]*", "", src)
    src = re.sub(r"/\*.*?\*/", blank, src, flags=re.S)
    src = re.sub(r'"(\\.|[^"\\\n])*"', '""', src)
    return re.sub(r"'(\\.|[^'\\\n])*'", "''", src)


def name_of(head):
    """The name before the parameter list that `head` (a function head) closes."""
    end = head.rfind(")")
    depth = 0
    for i in range(end, -1, -1):
        depth += {")": 1, "(": -1}.get(head[i], 0)
        if depth == 0:
            if head[:i].rstrip().endswith("]"):
                return "a lambda"
            m = NAME.search(head[:i])
            return m.group(1) if m else "?"
    return "?"


def long_functions(path):
    s = strip(open(path, encoding="utf-8").read())
    stack, line = [], 1
    for i, c in enumerate(s):
        if c == "\n":
            line += 1
        elif c == "{":
            before = s[max(0, i - 400):i].rstrip()
            is_fn = bool(HEAD.search(before)) and not CONTROL.search(before)
            stack.append((line, is_fn, name_of(before) if is_fn else ""))
        elif c == "}" and stack:
            start, is_fn, name = stack.pop()
            if is_fn and line - start + 1 > LIMIT:
                yield start, name, line - start + 1


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    bad = 0
    for top in ("lib", "tools"):
        for d, _, files in sorted(os.walk(os.path.join(root, top))):
            for f in sorted(files):
                if not f.endswith((".cc", ".h")):
                    continue
                path = os.path.join(d, f)
                rel = os.path.relpath(path, root)
                for start, name, n in long_functions(path):
                    if (rel, name) in ALLOWED:
                        continue
                    print(f"function-size: {rel}:{start}: {name} is {n} lines (at most {LIMIT})")
                    bad = 1
    return bad


if __name__ == "__main__":
    sys.exit(main())
