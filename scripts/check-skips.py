#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Fails when a test skipped that the machine should have run.

Reads the JUnit file written by `ctest --output-junit` (a test that exits with
SKIP_RETURN_CODE 77 is recorded as skipped; tests/support/skip.h prints its reasons as
"PL-SKIP: ..."), and compares the skipped tests with tests/skips.txt for the given build
kind. Every skip is printed with its reason; one not in the list fails, unless
PL_ALLOW_SKIPS=1 (a machine that really lacks, say, IPv6 loopback). It also fails when a
test source calls cmocka's skip() directly, which CTest would report as passed.

Usage: scripts/check-skips.py JUNIT_XML BUILD_KIND   (BUILD_KIND: plain or asan)
"""
import os
import re
import sys
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def allowed_skips(kind):
    allowed = {}
    with open(os.path.join(ROOT, "tests", "skips.txt"), encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(None, 2)
            if len(parts) < 3 or parts[0] not in ("plain", "asan", "any"):
                sys.exit(f"check-skips: tests/skips.txt: bad line: {line}")
            if parts[0] in (kind, "any"):
                allowed[parts[1]] = parts[2]
    return allowed


def bare_skips():
    """Test sources that call cmocka's skip() instead of PL_SKIP()."""
    found = []
    for sub in ("unit", "integration"):
        d = os.path.join(ROOT, "tests", sub)
        for name in sorted(os.listdir(d)):
            if not name.endswith(".c"):
                continue
            with open(os.path.join(d, name), encoding="utf-8") as f:
                for no, line in enumerate(f, 1):
                    if re.search(r"(?<![\w.>])skip\s*\(\s*\)", line):
                        found.append(f"tests/{sub}/{name}:{no}")
    return found


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in ("plain", "asan"):
        sys.exit("usage: check-skips.py JUNIT_XML plain|asan")
    junit, kind = sys.argv[1], sys.argv[2]
    allowed = allowed_skips(kind)
    tolerate = os.environ.get("PL_ALLOW_SKIPS") == "1"
    cases = ET.parse(junit).getroot().iter("testcase")
    ran = 0
    bad = []
    for case in cases:
        ran += 1
        if case.find("skipped") is None:
            continue
        name = case.get("name")
        out = case.findtext("system-out") or ""
        why = sorted(set(m.strip() for m in re.findall(r"^PL-SKIP: (.*)$", out, re.M)))
        why = "; ".join(why) or "no reason printed"
        if name in allowed:
            print(f"check-skips: {name} skipped ({kind}, allowed: {allowed[name]})")
        else:
            print(f"check-skips: {name} SKIPPED ({kind}): {why}")
            bad.append(name)
    if ran == 0:
        sys.exit(f"check-skips: {junit}: no tests recorded")
    failed = False
    for where in bare_skips():
        print(f"check-skips: {where}: calls skip(); use PL_SKIP() (tests/support/skip.h)")
        failed = True
    if bad:
        if tolerate:
            print(f"check-skips: {len(bad)} skip(s) not in tests/skips.txt, tolerated "
                  "(PL_ALLOW_SKIPS=1)")
        else:
            print(f"check-skips: {len(bad)} test(s) skipped that this machine should run "
                  "(tests/skips.txt lists the allowed ones; PL_ALLOW_SKIPS=1 tolerates them "
                  "on a machine that really lacks what they need)")
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
