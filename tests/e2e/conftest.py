"""The end-to-end VM proof (``make e2e``): opt-in with ``-m e2e`` (tests/conftest.py), phases
timed, artifacts kept.

Every phase prints its duration as it ends and the whole list again at the end
(also written to ``build/e2e/phases.txt``). Serial consoles, the station's logs
and the stick's outbox/records are copied to ``build/e2e/`` and kept when a test
fails; disk images are always removed.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.images.qemu import BUILD

ARTIFACTS = BUILD / "e2e"
_phases: list[tuple[str, float]] = []
_figures: list[str] = []


def _say(text: str) -> None:
    print(f"e2e: {text}", file=sys.__stderr__, flush=True)


@contextmanager
def _phase(name: str) -> Iterator[None]:
    _say(f"{name} ...")
    start = time.monotonic()
    try:
        yield
    finally:
        took = time.monotonic() - start
        _phases.append((name, took))
        _say(f"{name}: {took:.0f} s")


@pytest.fixture(scope="session")
def phase() -> object:
    return _phase


def figure(text: str) -> None:
    """A measured figure of a run (how long the station's own stages took): printed now,
    and again under the phases at the end."""
    _figures.append(text)
    _say(text)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not _phases:
        return
    total = sum(t for _, t in _phases)
    lines = [f"{t:7.0f} s  {name}" for name, t in _phases] + [f"{total:7.0f} s  total"]
    lines += [f"           {text}" for text in _figures]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "phases.txt").write_text("\n".join(lines) + "\n")
    _say("phases:\n" + "\n".join(lines))
    if exitstatus != 0:
        _say(f"FAILED: serial consoles, station logs and outboxes are in {ARTIFACTS}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    report = yield
    if report.failed:
        item.session.config.stash[_FAILED] = True
    return report


_FAILED = pytest.StashKey[bool]()


def failed(config: pytest.Config) -> bool:
    return config.stash.get(_FAILED, False)
