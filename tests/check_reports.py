"""Reports with every check kind in a chosen outcome, for the grading, TUI and web tests.

The base is sample laptop ``n`` made lend-ready (x86-64 CPU, a good battery,
cosmetic C6, every check passing, firmware clean), so whatever a test sets
is the only thing left for the grade to react to.
"""

from __future__ import annotations

from collections.abc import Mapping

from agent.grading import grade_report
from agent.policy import load_policy
from agent.report.samples import sample_report
from agent.report.schema import (
    BatteryVerdict,
    CheckKind,
    CheckOutcome,
    FirmwareLocks,
    FirmwarePassword,
    Report,
    SkipCause,
    TestOutcome,
    TestResult,
    TheftRecoverySetting,
)

LOCKS = frozenset(
    {
        CheckKind.FIRMWARE_PASSWORD,
        CheckKind.SECURE_BOOT,
        CheckKind.THEFT_RECOVERY,
        CheckKind.AMT,
        CheckKind.ASSET_TAG,
    }
)
#: The outcomes a report can hold for each kind (a lock is found, never asked: no operator
#: skip); ``policy_skipped`` comes from the policy's [checks] skip, not from the report.
POSSIBLE: dict[CheckKind, tuple[CheckOutcome, ...]] = {
    kind: tuple(
        o for o in CheckOutcome if not (kind in LOCKS and o is CheckOutcome.OPERATOR_SKIPPED)
    )
    for kind in CheckKind
}
#: One run showing every kind of row: failures of every sort, skips, absent hardware.
EVERY_KIND_OF_ROW: dict[CheckKind, CheckOutcome] = {
    CheckKind.KEYBOARD: CheckOutcome.PASS,
    CheckKind.SCREEN: CheckOutcome.OPERATOR_SKIPPED,
    CheckKind.TOUCHPAD: CheckOutcome.PASS,
    CheckKind.CAMERA: CheckOutcome.FAIL,
    CheckKind.AUDIO: CheckOutcome.PASS,
    CheckKind.WIFI: CheckOutcome.PASS,
    CheckKind.BLUETOOTH: CheckOutcome.FAIL,
    CheckKind.USB_PORTS: CheckOutcome.FAIL,
    CheckKind.CHARGING: CheckOutcome.NOT_AVAILABLE,
    CheckKind.THERMAL: CheckOutcome.FAIL,
    CheckKind.MEMORY_TEST: CheckOutcome.FAIL,
    CheckKind.FIRMWARE_PASSWORD: CheckOutcome.FAIL,
    CheckKind.SECURE_BOOT: CheckOutcome.FAIL,
    CheckKind.THEFT_RECOVERY: CheckOutcome.FAIL,
    CheckKind.AMT: CheckOutcome.NOT_AVAILABLE,
    CheckKind.ASSET_TAG: CheckOutcome.FAIL,
}


def _test(kind: CheckKind, outcome: CheckOutcome) -> TestResult | None:
    name = kind.value
    if outcome is CheckOutcome.PASS or outcome is CheckOutcome.POLICY_SKIPPED:
        return TestResult(name=name, outcome=TestOutcome.PASS, details="works")
    if outcome is CheckOutcome.FAIL:
        return TestResult(name=name, outcome=TestOutcome.FAIL, details="operator: broken")
    cause = {
        CheckOutcome.NOT_AVAILABLE: SkipCause.NOT_AVAILABLE,
        CheckOutcome.OPERATOR_SKIPPED: SkipCause.OPERATOR,
    }[outcome]
    return TestResult(name=name, outcome=TestOutcome.SKIPPED, skipped_by=cause)


def _locks(outcomes: Mapping[CheckKind, CheckOutcome]) -> FirmwareLocks | None:
    def of(kind: CheckKind) -> CheckOutcome:
        return outcomes.get(kind, CheckOutcome.PASS)

    if of(CheckKind.ASSET_TAG) is CheckOutcome.NOT_AVAILABLE:
        return None  # no firmware data at all: nothing says whether a tag is there
    password = of(CheckKind.FIRMWARE_PASSWORD)
    theft = of(CheckKind.THEFT_RECOVERY)
    amt = of(CheckKind.AMT)
    return FirmwareLocks(
        passwords=[]
        if password is CheckOutcome.NOT_AVAILABLE
        else [
            FirmwarePassword(
                driver="dell-wmi-sysman",
                name="Admin",
                role="bios-admin",
                enabled=password is CheckOutcome.FAIL,
            )
        ],
        secure_boot={
            CheckOutcome.FAIL: False,
            CheckOutcome.NOT_AVAILABLE: None,
        }.get(of(CheckKind.SECURE_BOOT), True),
        theft_recovery=[]
        if theft is CheckOutcome.NOT_AVAILABLE
        else [
            TheftRecoverySetting(
                driver="dell-wmi-sysman",
                name="AbsoluteState",
                value="Enabled" if theft is CheckOutcome.FAIL else "Disabled",
                active=theft is CheckOutcome.FAIL,
            )
        ],
        asset_tag="ACME-IT-0042" if of(CheckKind.ASSET_TAG) is CheckOutcome.FAIL else None,
        mei_firmware=["0:16.1.25.2124"],
        amt_provisioning={CheckOutcome.FAIL: "post", CheckOutcome.NOT_AVAILABLE: None}.get(
            amt, "pre"
        ),
    )


def apply_checks(report: Report, outcomes: Mapping[CheckKind, CheckOutcome]) -> None:
    """Make ``report`` lend-ready with each check kind in ``outcomes`` (others pass).

    ``policy_skipped`` is left as a pass here: the policy's skip list makes it.
    """
    assert report.components.cpu is not None
    if "lm" not in report.components.cpu.flags:
        report.components.cpu.flags.append("lm")
    report.components.batteries = [
        b.model_copy(update={"verdict": BatteryVerdict.GOOD, "health_percent": 92.0})
        for b in report.components.batteries
    ]
    tests = [TestResult(name="cosmetic", outcome=TestOutcome.PASS, answers={"code": "C6"})]
    for kind in CheckKind:
        if kind not in LOCKS:
            test = _test(kind, outcomes.get(kind, CheckOutcome.PASS))
            if test is not None:
                tests.append(test)
    report.tests = tests
    report.components.locks = _locks(outcomes)
    report.grade = None


def checked_report(
    outcomes: Mapping[CheckKind, CheckOutcome] | None = None,
    n: int = 1,
    *,
    asset_tag: str | None = None,
) -> Report:
    """Sample ``n``, lend-ready, with each check kind in ``outcomes`` (others pass)."""
    report = sample_report(n, asset_tag=asset_tag).model_copy(deep=True)
    apply_checks(report, outcomes or {})
    return report


def with_every_check(report: Report) -> None:
    """``report`` as the station grades a run with every kind of check row (a store edit)."""
    apply_checks(report, EVERY_KIND_OF_ROW)
    report.grade = grade_report(report, load_policy())
