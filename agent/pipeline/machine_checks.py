"""The unattended checks a laptop runs while the volunteer does the quick tests.

The memory pattern test and the thermal stress (``[checks] memory_test_mib``,
``thermal_stress_s``) start in a thread right after the inspection, so the
minute of stress costs the volunteer no time; the pipeline collects their
results before grading. A memory error blocks lending; a thermal failure puts
"clean the fan, replace the thermal paste" on the repair list (both by policy).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from agent.checks.memtest import run_memtest
from agent.checks.thermal_stress import judge_thermal, stress
from agent.policy import ChecksPolicy
from agent.report.schema import SkipCause, TestOutcome, TestResult

log = logging.getLogger(__name__)


def wanted(policy: ChecksPolicy) -> bool:
    """Whether the policy asks for any unattended check."""
    thermal = policy.thermal_stress_s > 0 and not policy.skips("thermal")
    return (policy.memory_test_mib > 0 and not policy.skips("memory_test")) or thermal


def run_checks(root: Path, policy: ChecksPolicy) -> list[TestResult]:
    """Memory test then thermal stress, as the policy sets them (blocking)."""
    results: list[TestResult] = []
    if policy.memory_test_mib > 0 and not policy.skips("memory_test"):
        results.append(run_memtest(policy.memory_test_mib, limit_s=policy.memory_test_s).result())
    if policy.thermal_stress_s > 0 and not policy.skips("thermal"):
        samples = stress(root, policy.thermal_stress_s)
        results.append(judge_thermal(samples, policy.thermal_limit_c))
    return results


class MachineChecks:
    """:func:`run_checks` in a daemon thread; :meth:`results` waits for it."""

    def __init__(
        self,
        root: Path,
        policy: ChecksPolicy,
        *,
        work: Callable[[Path, ChecksPolicy], list[TestResult]] = run_checks,
    ) -> None:
        self._results: list[TestResult] = []
        self._thread = threading.Thread(
            target=self._work, args=(work, root, policy), name="machine-checks", daemon=True
        )

    def start(self) -> MachineChecks:
        self._thread.start()
        return self

    def _work(
        self, work: Callable[[Path, ChecksPolicy], list[TestResult]], root: Path, p: ChecksPolicy
    ) -> None:
        try:
            self._results = work(root, p)
        except (OSError, MemoryError) as exc:  # reported as not done, never a crash
            log.warning("machine checks failed: %s", exc)
            names = ["memory_test"] if p.memory_test_mib > 0 else []
            names += ["thermal"] if p.thermal_stress_s > 0 else []
            detail = f"not done: {exc}"
            self._results = [
                TestResult(
                    name=n,
                    outcome=TestOutcome.SKIPPED,
                    details=detail,
                    skipped_by=SkipCause.NOT_AVAILABLE,
                )
                for n in names
            ]

    def results(self) -> list[TestResult]:
        """The checks' results, once they ended (each ends by itself within its bound)."""
        self._thread.join()
        return list(self._results)


def merge(tests: list[TestResult], machine: list[TestResult]) -> list[TestResult]:
    """The operator's tests with the machine's: a machine result replaces the proposed one
    of the same name (the stress beats a single reading), unless the operator saw it fail."""
    merged = list(tests)
    for result in machine:
        same = [i for i, t in enumerate(merged) if t.name == result.name]
        if not same:
            merged.append(result)
            continue
        old = merged[same[0]]
        if old.outcome is TestOutcome.FAIL and result.outcome is not TestOutcome.FAIL:
            details = "; ".join(d for d in (old.details, result.details) if d)
            merged[same[0]] = old.model_copy(update={"details": details})
        else:
            merged[same[0]] = result
    return merged
