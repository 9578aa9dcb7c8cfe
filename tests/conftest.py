"""Shared test helpers and the rules every suite runs under.

- The slow proofs (``images``, ``e2e``) run only when asked for with ``-m``; otherwise they
  are deselected, never reported as skipped.
- Tests marked ``postgresql`` run only where ``DATABASE_URL`` names PostgreSQL (``make test``
  reruns the server suites there); elsewhere they are deselected.
- Under ``DIGIBENCH_STRICT=1`` (``.ci/run``, ``make test-images``, ``make e2e``) and for an
  opt-in proof that was asked for, a skip is a failure: a proof that did not run proved
  nothing, so its reason (usually a missing tool and its install hint) fails the run.
- Property tests have no deadline and no "too slow" health check: both are timing
  assertions, and a loaded CI machine (twice as slow as a developer's) must not fail a
  property that holds.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("digibench", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("digibench")

FIXTURES = Path(__file__).parent / "fixtures"

#: Slow proofs that run only when asked for with ``-m``.
OPT_IN_MARKERS = ("images", "e2e")


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


def strict() -> bool:
    return os.environ.get("DIGIBENCH_STRICT", "") not in ("", "0")


def on_postgresql() -> bool:
    return os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))


def _asked_for(config: pytest.Config, marker: str) -> bool:
    return marker in (config.getoption("markexpr") or "")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    keep: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        opt_in = [m for m in OPT_IN_MARKERS if m in item.keywords]
        not_asked = any(not _asked_for(config, m) for m in opt_in)
        elsewhere = item.get_closest_marker("postgresql") is not None and not on_postgresql()
        (dropped if not_asked or elsewhere else keep).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if not report.skipped or hasattr(report, "wasxfail"):
        return
    asked = any(m in item.keywords and _asked_for(item.config, m) for m in OPT_IN_MARKERS)
    if not (strict() or asked):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    report.outcome = "failed"
    report.longrepr = f"a proof that must run was skipped: {reason.removeprefix('Skipped: ')}"
