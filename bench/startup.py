"""Start-up time of every ``digibench`` command (``--help``), median of several runs.

Run: ``make bench-startup`` or ``.venv/bin/python bench/startup.py [--repeats 7]``.
Next to it, ``python -c pass`` (the interpreter alone) and ``dd --version``
(what a C tool costs) give the floor. The goal is < 0.3 s for each command.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from agent.cli import COMMANDS

from compiled import compile_sources

GOAL_S = 0.3


def _time(argv: list[str], repeats: int) -> float:
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    compile_sources()  # as installed: no module compiled while timed
    py = sys.executable
    exe = str(Path(py).parent / "digibench")  # the installed entry point, as users run it
    rows = [
        ("python -c pass", [py, "-c", "pass"]),
        ("dd --version", ["dd", "--version"]),
        ("digibench --help", [exe, "--help"]),
    ]
    rows += [(f"digibench {c} --help", [exe, c, "--help"]) for c in COMMANDS]
    slow = 0
    print(f"{'command':36s} {'median s':>8s}")
    for name, argv in rows:
        t = _time(argv, args.repeats)
        mark = ""
        if name.startswith("digibench") and t >= GOAL_S:
            mark, slow = f"  (goal < {GOAL_S} s)", slow + 1
        print(f"{name:36s} {t:8.3f}{mark}")
    print(f"{slow} command(s) at or above {GOAL_S} s (median of {args.repeats})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
