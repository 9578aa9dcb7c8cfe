#!/usr/bin/env python3
"""One line per test suite from pytest's JUnit XML files, and a verdict.

    python3 scripts/test_summary.py build/test-results --require fast postgresql images e2e desktop

Each ``SUITE.xml`` in the folder is a suite (``make test`` writes ``fast`` and ``postgresql``,
``make test-images`` ``images``, ``make e2e`` ``e2e``). Exit status 1 when a suite failed or
had errors, when a required suite is missing or ran no test, or (``--strict``, the default
under ``DIGIBENCH_STRICT=1``) when anything was skipped: a proof that skipped proved nothing.
Each failed or erroring test is named under its suite with the first line of its message,
so the tail of a CI log (often all that is kept) says what broke; its slowest tests are
named too, so a suite that took twice as long says where the time went. The last line is
the total, ``ci: N passed, N failed, N skipped``.
"""

from __future__ import annotations

import argparse
import os
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Counts:
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)
    timings: list[tuple[float, str]] = field(default_factory=list)

    @property
    def ran(self) -> int:
        return self.passed + self.failed

    def add(self, other: Counts) -> None:
        self.passed += other.passed
        self.failed += other.failed
        self.skipped += other.skipped
        self.seconds += other.seconds
        self.failures += other.failures
        self.timings += other.timings

    def line(self) -> str:
        return f"{self.passed} passed, {self.failed} failed, {self.skipped} skipped"


def read(path: Path) -> Counts:
    root = ET.parse(path).getroot()  # noqa: S314 (our own pytest's output, not untrusted)
    counts = Counts()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    for suite in suites:
        tests = int(suite.get("tests", 0))
        failed = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped = int(suite.get("skipped", 0))
        counts.add(Counts(tests - failed - skipped, failed, skipped, float(suite.get("time", 0))))
        counts.failures += [_failure(case) for case in suite.iter("testcase") if _failed(case)]
        counts.timings += [
            (float(case.get("time", 0)), _name(case)) for case in suite.iter("testcase")
        ]
    return counts


def _name(case: ET.Element) -> str:
    where = case.get("classname", "")
    return f"{where}::{case.get('name', '?')}" if where else case.get("name", "?")


def _failed(case: ET.Element) -> bool:
    return case.find("failure") is not None or case.find("error") is not None


def _failure(case: ET.Element) -> str:
    """``tests.x::test_y: first line of the message`` for one failed test case."""
    name = _name(case)
    problem = case.find("failure")
    if problem is None:
        problem = case.find("error")
    message = (problem.get("message", "") if problem is not None else "").strip()
    first = message.splitlines()[0] if message else "(no message)"
    return f"{name}: {first[:200]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="folder with one SUITE.xml per suite")
    parser.add_argument("--require", nargs="*", default=[], help="suites that must have run")
    parser.add_argument(
        "--strict",
        action=argparse.BooleanOptionalAction,
        default=os.environ.get("DIGIBENCH_STRICT", "") not in ("", "0"),
        help="a skipped test fails the run (default under DIGIBENCH_STRICT=1)",
    )
    parser.add_argument(
        "--slowest", type=int, default=3, metavar="N", help="name each suite's N slowest tests"
    )
    args = parser.parse_args(argv)
    files = {p.stem: p for p in sorted(args.results.glob("*.xml"))} if args.results.is_dir() else {}
    order = list(args.require) + [s for s in files if s not in args.require]
    total, problems = Counts(), []
    print("== test suites ==")
    for suite in order:
        if suite not in files:
            print(f"  {suite:<12} did not run")
            problems.append(f"suite {suite} did not run")
            continue
        try:
            counts = read(files[suite])
        except (ET.ParseError, OSError, ValueError) as exc:
            print(f"  {suite:<12} unreadable results: {exc}")
            problems.append(f"suite {suite}: unreadable results")
            continue
        total.add(counts)
        print(f"  {suite:<12} {counts.line()} ({counts.seconds / 60:.1f} min)")
        for failure in counts.failures:
            print(f"      failed: {failure}")
        for seconds, name in sorted(counts.timings, key=lambda t: (-t[0], t[1]))[: args.slowest]:
            print(f"      slowest: {seconds:6.1f} s {name}")
        if counts.failed:
            problems.append(f"suite {suite}: {counts.failed} failed")
        if counts.ran == 0:
            problems.append(f"suite {suite} ran no test")
        if counts.skipped and args.strict:
            problems.append(f"suite {suite}: {counts.skipped} skipped where every proof must run")
    for problem in problems:
        print(f"  FAILED: {problem}")
    print(f"ci: {total.line()}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
