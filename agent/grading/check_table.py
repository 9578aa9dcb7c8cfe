"""Every check kind's outcome in one report, and the effect the policy gives it.

One row per :class:`~agent.report.schema.CheckKind`, whatever the report
holds: a check that is not in the report was skipped by the policy, is not
available on this laptop, or was not done by the operator. The grading acts
on these rows, and the same rows (in :attr:`Grade.checks`) are what the
result screen and the web device page show, so both say what was graded.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.checks.locks import LOCK_KINDS, Finding, lock_findings
from agent.policy import OPERATOR_TESTS, Policy
from agent.report.reasons import ParamValue, Severity, reason
from agent.report.schema import (
    CheckKind,
    CheckOutcome,
    CheckRow,
    Effect,
    FirmwareLocks,
    Mode,
    Report,
    SkipCause,
    TestOutcome,
    TestResult,
)

#: the key of lock_findings, by the check kind it belongs to
LOCK_KEYS: dict[CheckKind, str] = {kind: key for key, kind in LOCK_KINDS.items()}
#: failures with words of their own on the check row (else "does not work")
_FAIL_VARIANTS = frozenset({"thermal", "memory_test", "usb_ports", "charging"})
_SEVERITY: dict[str, Severity] = {
    "block": "error",
    "repair": "error",
    "note": "warning",
    "ignore": "info",
}


@dataclass(frozen=True)
class Checked:
    """One check kind as found: its outcome and what it came from."""

    kind: CheckKind
    outcome: CheckOutcome
    test: TestResult | None = None
    #: for a lock that is on: each (policy key, reason code, facts) found
    findings: tuple[Finding, ...] = ()


def outcome_of(test: TestResult) -> CheckOutcome:
    """A test result's outcome; a skip without a cause was the operator's (older agents)."""
    if test.outcome is TestOutcome.PASS:
        return CheckOutcome.PASS
    if test.outcome is TestOutcome.FAIL:
        return CheckOutcome.FAIL
    return {
        SkipCause.POLICY: CheckOutcome.POLICY_SKIPPED,
        SkipCause.NOT_AVAILABLE: CheckOutcome.NOT_AVAILABLE,
    }.get(test.skipped_by or SkipCause.OPERATOR, CheckOutcome.OPERATOR_SKIPPED)


def _missing(kind: CheckKind, policy: Policy) -> CheckOutcome:
    """A check the report does not hold: nobody did it, or nothing could do it."""
    if kind.value in OPERATOR_TESTS:
        return CheckOutcome.OPERATOR_SKIPPED
    if kind is CheckKind.MEMORY_TEST and policy.checks.memory_test_mib == 0:
        return CheckOutcome.POLICY_SKIPPED
    return CheckOutcome.NOT_AVAILABLE


def _lock(kind: CheckKind, locks: FirmwareLocks | None) -> Checked:
    if locks is None:
        return Checked(kind, CheckOutcome.NOT_AVAILABLE)
    key = LOCK_KEYS[kind]
    found = tuple(f for f in lock_findings(locks) if f[0] == key)
    if found:
        return Checked(kind, CheckOutcome.FAIL, findings=found)
    silent = {
        CheckKind.FIRMWARE_PASSWORD: not locks.passwords,
        # a setting whose state cannot be read (Dell's Absolute without its current_value)
        # is not a pass: nobody knows whether the module runs
        CheckKind.THEFT_RECOVERY: not locks.theft_recovery
        or any(agent.active is None for agent in locks.theft_recovery),
        CheckKind.SECURE_BOOT: locks.secure_boot is None,
        CheckKind.AMT: locks.amt_provisioning is None and bool(locks.mei_firmware),
        CheckKind.ASSET_TAG: False,
    }[kind]
    return Checked(kind, CheckOutcome.NOT_AVAILABLE if silent else CheckOutcome.PASS)


def checked(report: Report, policy: Policy) -> list[Checked]:
    """Every check kind's outcome in this report, in CheckKind order."""
    tests = {t.name: t for t in report.tests}
    rows: list[Checked] = []
    for kind in CheckKind:
        if policy.checks.skips(kind.value):
            rows.append(Checked(kind, CheckOutcome.POLICY_SKIPPED, tests.get(kind.value)))
        elif kind in LOCK_KEYS:
            rows.append(_lock(kind, report.components.locks))
        elif kind.value in tests:
            test = tests[kind.value]
            rows.append(Checked(kind, outcome_of(test), test))
        else:
            rows.append(Checked(kind, _missing(kind, policy)))
    return rows


def effect_of(row: Checked, policy: Policy, mode: Mode) -> Effect:
    """What the policy makes of this outcome; a resident's own laptop's locks are only shown."""
    if mode is Mode.CHECK and row.kind in LOCK_KEYS:
        return "ignore"
    return policy.effects.effect(row.kind, row.outcome)


def _row_reason_facts(row: Checked) -> tuple[str, dict[str, ParamValue]]:
    """The check row's words: a catalogue code and its facts (never the English details)."""
    lock = row.kind in LOCK_KEYS
    if row.outcome is CheckOutcome.FAIL and row.findings:
        _key, code, found = row.findings[0]
        if len(row.findings) > 1 and "name" in found:
            found = {**found, "name": ", ".join(str(f[2].get("name", "")) for f in row.findings)}
        return code, dict(found)
    variant: str | None = None
    if row.outcome is CheckOutcome.PASS and lock:
        variant = "secure_boot" if row.kind is CheckKind.SECURE_BOOT else "lock"
    elif row.outcome is CheckOutcome.FAIL and row.kind.value in _FAIL_VARIANTS:
        variant = row.kind.value
    elif row.outcome is CheckOutcome.NOT_AVAILABLE and lock:
        variant = "lock"
    facts: dict[str, ParamValue] = {"test": row.kind.value}
    if variant:
        facts["variant"] = variant
    return f"check.{row.outcome.value}", facts


def check_row(row: Checked, effect: Effect) -> CheckRow:
    code, facts = _row_reason_facts(row)
    return CheckRow(
        kind=row.kind,
        outcome=row.outcome,
        effect=effect,
        reason=reason(code, _SEVERITY[effect], None, **facts),
    )
