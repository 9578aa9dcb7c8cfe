"""Unplugging the charger: does the laptop notice that its adapter is gone?

A charging check that reads the adapter once sees a charger that is plugged
in; it cannot tell a laptop whose power circuit reports "online" whatever
happens. So the station asks the volunteer to pull the charger out for a
moment and watches ``/sys/class/power_supply`` (the same files as
:func:`agent.probes.power.probe_charging`): the mains supply going offline, or
the battery reporting "Discharging", is the unplug noticed. Nothing is pressed
for it; the TUI polls while its devices screen is open, an unattended run waits
at most the policy's ``charger_unplug_s``.

The charging check's result then says all three: pass when the adapter charged
and the unplug was noticed, fail when the station waited its full time and saw
none, unchanged (with "not tried" in its details) when the volunteer went on
before unplugging.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from agent.probes.power import probe_charging
from agent.report.schema import TestOutcome, TestResult

Unplug = Literal["seen", "not_seen", "not_tried"]
#: how often the power supply files are read while waiting
POLL_S = 0.5


def unplugged(root: Path) -> bool | None:
    """Whether the machine under ``root`` runs without its adapter now; None when neither
    the adapter nor the battery says anything."""
    online, status = probe_charging(root)
    if online is None and status is None:
        return None
    return online is False or status == "Discharging"


def wait_unplug(
    read: Callable[[], bool | None],
    timeout_s: float,
    *,
    poll_s: float = POLL_S,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Unplug:
    """Read ``read`` until it says unplugged or ``timeout_s`` passed (bounded, never
    forever); "not_tried" when the power supply says nothing at all."""
    deadline = clock() + timeout_s
    while True:
        state = read()
        if state is None:
            return "not_tried"
        if state:
            return "seen"
        if clock() >= deadline:
            return "not_seen"
        sleep(poll_s)


def with_unplug(result: TestResult, unplug: Unplug, waited_s: float) -> TestResult:
    """The charging check's result with what the unplug step found. Only a charging pass
    can become a fail: an adapter that did not charge has already failed, and an unknown
    charging state stays unknown."""
    if result.outcome is not TestOutcome.PASS:
        return result
    details = result.details or ""
    if unplug == "seen":
        return result.model_copy(update={"details": f"{details}; unplug noticed"})
    if unplug == "not_seen":
        return result.model_copy(
            update={
                "outcome": TestOutcome.FAIL,
                "details": f"{details}; unplug not noticed within {waited_s:.0f} s",
            }
        )
    return result.model_copy(update={"details": f"{details}; unplug not tried"})
