"""What the device probes found, as one verdict per check the operator confirms.

The station proposes (a camera is there, the adapter is charging, the hottest
sensor is below the limit); the operator confirms with one key or marks what
they saw fail. Each check becomes a :class:`TestResult` the grading judges by
policy (``[checks]``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from agent.policy import ChecksPolicy
from agent.report.schema import Peripherals, SkipCause, TestOutcome, TestResult

State = Literal["ok", "fail", "unknown"]
#: Battery states that show the adapter feeds it.
CHARGING_STATES = frozenset({"Charging", "Full", "Not charging"})


@dataclass(frozen=True)
class DeviceCheck:
    name: str
    state: State
    #: what was found, in the report's technical English (like the keyboard test's details)
    detail: str
    #: the same for the screen: an English sentence (a gettext msgid) and its facts
    words: str = "{names}"
    facts: tuple[tuple[str, str | float], ...] = ()

    def result(self, broken: bool = False) -> TestResult:
        """The check's outcome; ``broken``: the operator saw it fail whatever was found."""
        if broken:
            return TestResult(
                name=self.name, outcome=TestOutcome.FAIL, details=f"{self.detail}; operator: broken"
            )
        outcome = {
            "ok": TestOutcome.PASS,
            "fail": TestOutcome.FAIL,
            "unknown": TestOutcome.SKIPPED,
        }[self.state]
        cause = SkipCause.NOT_AVAILABLE if self.state == "unknown" else None
        return TestResult(name=self.name, outcome=outcome, details=self.detail, skipped_by=cause)


Found = tuple[State, str, str, tuple[tuple[str, str | float], ...]]
NONE_FOUND = "none found"


def _listed(names: list[str], none: str) -> Found:
    if not names:
        return "fail", none, NONE_FOUND, ()
    joined = ", ".join(names)
    return "ok", joined, "{names}", (("names", joined),)


def _wifi(p: Peripherals, policy: ChecksPolicy) -> Found:
    if not p.wifi:
        return "fail", "no Wi-Fi adapter", NONE_FOUND, ()
    names = ", ".join(p.wifi)
    named: tuple[tuple[str, str | float], ...] = (("names", names),)
    if not p.wifi_driver_bound:
        detail = f"{names}: driver/firmware not loaded"
        return "fail", detail, "{names}: driver/firmware not loaded", named
    if p.wifi_scan_error:
        # the adapter is there, the scan could not run: not measured, never a pass
        detail = f"{names}: scan failed ({p.wifi_scan_error})"
        return "unknown", detail, "{names}: the Wi-Fi scan failed, not measured", named
    if p.wifi_networks is None:
        return "ok", names, "{names}", named
    if p.wifi_networks == 0:
        # a bench far from any network is possible: the policy says whether that fails
        detail = f"{names}, 0 networks seen"
        state: State = "fail" if policy.wifi_no_networks == "fail" else "unknown"
        return state, detail, "{names}: no networks seen (is there Wi-Fi here?)", named
    detail = f"{names}, {p.wifi_networks} networks seen"
    facts: tuple[tuple[str, str | float], ...] = (("names", names), ("count", p.wifi_networks))
    return "ok", detail, "{names}, {count} networks seen", facts


def _bluetooth(p: Peripherals) -> Found:
    if not p.bluetooth:
        return "fail", "no Bluetooth adapter found", NONE_FOUND, ()
    names = ", ".join(p.bluetooth)
    named: tuple[tuple[str, str | float], ...] = (("names", names),)
    if p.bluetooth_driver_bound is False:
        detail = f"{names}: driver/firmware not loaded"
        return "fail", detail, "{names}: driver/firmware not loaded", named
    if p.bluetooth_blocked:
        detail = f"{names}: radio switched off (rfkill hard block)"
        return "unknown", detail, "{names}: switched off by its radio switch, not measured", named
    return "ok", names, "{names}", named


def _charging(p: Peripherals) -> Found:
    if p.ac_online is None and p.battery_status is None:
        return "unknown", "no adapter or battery status reported", "not reported", ()
    detail = f"AC {'online' if p.ac_online else 'offline'}, battery {p.battery_status or '?'}"
    good = p.ac_online is True and (p.battery_status in CHARGING_STATES or p.battery_status is None)
    if good:
        return "ok", detail, "adapter plugged in, battery charging", ()
    return "fail", detail, "adapter unplugged or battery not charging", ()


def _thermal(p: Peripherals, limit: float) -> Found:
    if not p.temperatures_c:
        return "unknown", "no temperature sensors", "no sensors", ()
    chip, hottest = max(p.temperatures_c.items(), key=lambda item: item[1])
    detail = f"hottest {hottest:.0f} C ({chip}), limit {limit:.0f} C"
    facts: tuple[tuple[str, str | float], ...] = (("temp", hottest), ("limit", limit))
    return (
        ("ok" if hottest < limit else "fail"),
        detail,
        "hottest {temp:.0f} C, limit {limit:.0f} C",
        facts,
    )


def device_checks(p: Peripherals, policy: ChecksPolicy) -> list[DeviceCheck]:
    """One proposed verdict per enabled check, in the policy's order."""
    found: dict[str, Found] = {
        "camera": _listed(p.cameras, "no camera (V4L2) found"),
        "audio": _listed(p.sound_cards, "no sound card found"),
        "wifi": _wifi(p, policy),
        "bluetooth": _bluetooth(p),
        "charging": _charging(p),
        "thermal": _thermal(p, policy.thermal_limit_c),
    }
    return [DeviceCheck(name, *found[name]) for name in policy.enabled()]
