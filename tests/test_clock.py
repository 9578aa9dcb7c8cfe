"""The fresh-boot clock that ``make test`` runs the suite under (tests/clock/sitecustomize.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.pipeline.events import DiskProgress
from agent.pipeline.headless import LinePrinter

CLOCK = Path(__file__).parent / "clock"


def _monotonic_in_child(**env: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", "import time; print(time.monotonic())"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return float(out)


def test_the_fresh_boot_clock_starts_near_zero_in_child_processes() -> None:
    fresh = _monotonic_in_child(PYTHONPATH=str(CLOCK), DIGIBENCH_TEST_CLOCK="fresh-boot")
    assert 0.0 < fresh < 30.0
    if os.environ.get("DIGIBENCH_TEST_CLOCK") == "fresh-boot":  # under make test: this process too
        assert time.monotonic() < 6 * 3600


def test_the_first_progress_line_goes_out_whatever_the_clock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A stick booted 2 s ago: the first progress line of a disk must not be swallowed."""
    lines: list[str] = []

    class Out:
        def write(self, text: str) -> None:
            lines.append(text)

        def flush(self) -> None:
            pass

    monkeypatch.setattr(time, "monotonic", lambda: 2.0)
    printer = LinePrinter(Out(), every_s=5.0)  # type: ignore[arg-type]
    printer(DiskProgress("/dev/sda", "wipe", 1 << 20, 1 << 30, 1e8, 10.0))
    assert any("/dev/sda" in line for line in lines)
