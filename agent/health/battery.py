"""Battery verdicts: health (full / design), cycle count, and the live sysfs probe.

Rules (BRIEF section 5, thresholds from the policy): good at or above
``good_percent``, worn at or above ``worn_percent``, else bad; a cycle count at
or above ``cycles_bad`` is bad whatever the capacity. Health above 100 % is kept
as reported and flagged (new or recalibrated packs do it); above 150 % the
figures are not believable and the verdict is unknown. Every rule that fires is
a :class:`Reason` with a stable code, so a UI can translate it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from agent.errors import InputError
from agent.health.battery_parse import BatteryReading, load_battery_file
from agent.health.battery_sysfs import is_power_supply_dir, read_power_supply_dir
from agent.policy import BatteryPolicy
from agent.probes.sysfs import resolve_within
from agent.report.reasons import ParamValue, Severity, reason
from agent.report.schema import Battery, BatteryVerdict, Reason

__all__ = [
    "BatteryReading",
    "judge_battery",
    "load_battery_file",
    "probe_batteries",
]

log = logging.getLogger(__name__)

#: No pack holds half as much again as its design; past this the figures are wrong.
IMPLAUSIBLE_PERCENT = 150.0
#: The tool's own health figure may differ from ours by rounding; more than this is noted.
REPORTED_TOLERANCE = 1.0
#: Keep a hostile dump within the schema's bounds.
_MAX_PROBLEM_REASONS = 8


@dataclass(frozen=True)
class _Capacity:
    full: int
    design: int
    unit: str  # Wh or Ah, for messages
    source: str


def _pairs(reading: BatteryReading) -> list[tuple[int | None, int | None, str, str]]:
    """(full, design, unit, source) in the order of trust."""
    smapi_unit = "Ah" if reading.smapi_unit == "uAh" else "Wh"
    return [
        (reading.energy_full_uwh, reading.energy_full_design_uwh, "Wh", "energy_full"),
        (reading.charge_full_uah, reading.charge_full_design_uah, "Ah", "charge_full"),
        (reading.smapi_full, reading.smapi_design, smapi_unit, "tp_smapi last_full_capacity"),
        (
            reading.upower_energy_full_uwh,
            reading.upower_energy_full_design_uwh,
            "Wh",
            "upower energy-full",
        ),
    ]


def _capacity(reading: BatteryReading) -> tuple[_Capacity | None, bool]:
    """The first usable full/design pair, and whether a design of 0 was seen on the way."""
    design_zero = False
    for full, design, unit, source in _pairs(reading):
        if full is None or design is None:
            continue
        if design == 0:
            design_zero = True
            continue
        return _Capacity(full, design, unit, source), design_zero
    return None, design_zero


def _reason(
    code: str, severity: Severity, value: float | str | None, **params: ParamValue
) -> Reason:
    if isinstance(value, str):
        value = value[:256]
    return reason(code, severity, value, **params)


def _health_verdict(health: float, policy: BatteryPolicy) -> tuple[BatteryVerdict, str, Severity]:
    """The verdict, the wording variant that names its band, and the severity."""
    if health >= policy.good_percent:
        return BatteryVerdict.GOOD, "good", "info"
    if health >= policy.worn_percent:
        return BatteryVerdict.WORN, "worn", "warning"
    return BatteryVerdict.BAD, "bad", "error"


def _cycles_unknown(reading: BatteryReading) -> Reason:
    raw = reading.cycle_count_raw
    if raw is None:
        return _reason("battery.cycles_unknown", "info", None, variant="missing")
    try:
        number = int(raw)
    except ValueError:
        return _reason("battery.cycles_unknown", "info", raw, variant="unreadable", raw=raw[:256])
    return _reason("battery.cycles_unknown", "info", raw, variant="placeholder", cycles=number)


def judge_battery(
    reading: BatteryReading, policy: BatteryPolicy, *, name: str | None = None
) -> Battery:
    """The battery's verdict with its reasons, in the report schema."""
    reasons: list[Reason] = []
    for problem in reading.problems[:_MAX_PROBLEM_REASONS]:
        reasons.append(_reason("battery.invalid_value", "warning", None, problem=problem))
    if len(reading.problems) > _MAX_PROBLEM_REASONS:
        extra = len(reading.problems) - _MAX_PROBLEM_REASONS
        reasons.append(
            _reason("battery.invalid_value", "warning", extra, variant="more", count=extra)
        )
    for conflict in reading.conflicts[:5]:
        reasons.append(_reason("battery.sources_disagree", "warning", None, conflict=conflict))
    if reading.scope == "Device":
        reasons.append(_reason("battery.peripheral", "info", "Device"))

    verdict: BatteryVerdict | None = None
    health: float | None = None
    capacity, design_zero = _capacity(reading)
    if reading.present is False:
        reasons.append(_reason("battery.not_present", "warning", None))
    elif capacity is None:
        if design_zero:
            reasons.append(_reason("battery.design_zero", "warning", 0))
        else:
            reasons.append(_reason("battery.no_capacity_data", "warning", None))
    else:
        health = round(capacity.full / capacity.design * 100, 1)
        figures: dict[str, ParamValue] = {
            "health": health,
            "full": capacity.full / 1e6,
            "design": capacity.design / 1e6,
            "unit": capacity.unit,
            "source": capacity.source,
        }
        if health > IMPLAUSIBLE_PERCENT:
            reasons.append(_reason("battery.implausible", "warning", health, **figures))
        else:
            verdict, band, severity = _health_verdict(health, policy)
            bounds = {"good": policy.good_percent, "worn": policy.worn_percent}
            reasons.append(
                _reason("battery.health", severity, health, variant=band, **figures, **bounds)
            )
            if health > 100:
                reasons.append(_reason("battery.over_100", "warning", health, health=health))
        reported = reading.reported_health_percent
        if reported is not None and abs(reported - health) > REPORTED_TOLERANCE:
            said = {"reported": reported, "health": health}
            source = reading.reported_health_source
            if source:
                reasons.append(
                    _reason("battery.reported_mismatch", "info", reported, source=source, **said)
                )
            else:
                reasons.append(
                    _reason(
                        "battery.reported_mismatch", "info", reported, variant="no_source", **said
                    )
                )

    if reading.cycle_count is None:
        reasons.append(_cycles_unknown(reading))
    elif reading.cycle_count >= policy.cycles_bad:
        cycles = reading.cycle_count
        reasons.append(
            _reason("battery.cycles", "error", cycles, cycles=cycles, limit=policy.cycles_bad)
        )
        verdict = BatteryVerdict.BAD  # the worst verdict: nothing can override it

    return Battery(
        name=_clip(name or reading.name or "battery"),
        manufacturer=_clip(reading.manufacturer),
        model_name=_clip(reading.model_name),
        serial=_clip(reading.serial),
        technology=_clip(reading.technology),
        energy_full_uwh=_energy(reading, "full"),
        energy_full_design_uwh=_energy(reading, "design"),
        charge_full_uah=_charge(reading, "full"),
        charge_full_design_uah=_charge(reading, "design"),
        voltage_min_design_uv=reading.voltage_min_design_uv,
        capacity_percent=reading.capacity_percent,
        status=_clip(reading.status),
        cycle_count=reading.cycle_count,
        health_percent=health,
        verdict=verdict or BatteryVerdict.UNKNOWN,
        reasons=reasons,
        source_format=reading.source_format,
        raw={_clip(k) or "-": v[:4096] for k, v in list(reading.raw.items())[:512]},
    )


def _clip(value: str | None) -> str | None:
    return value[:256] if value is not None else None


def _energy(reading: BatteryReading, which: Literal["full", "design"]) -> int | None:
    """µWh from whichever source has it: sysfs, upower, or tp_smapi (mWh)."""
    smapi = reading.smapi_full if which == "full" else reading.smapi_design
    candidates = (
        (reading.energy_full_uwh, reading.upower_energy_full_uwh)
        if which == "full"
        else (reading.energy_full_design_uwh, reading.upower_energy_full_design_uwh)
    )
    for value in (*candidates, smapi if reading.smapi_unit == "uWh" else None):
        if value is not None:
            return value
    return None


def _charge(reading: BatteryReading, which: Literal["full", "design"]) -> int | None:
    value = reading.charge_full_uah if which == "full" else reading.charge_full_design_uah
    if value is None and reading.smapi_unit == "uAh":
        value = reading.smapi_full if which == "full" else reading.smapi_design
    return value


# --------------------------------------------------------------------------- live probe


def probe_batteries(root: Path, policy: BatteryPolicy) -> list[Battery]:
    """The laptop's own batteries under ``<root>/sys/class/power_supply``, judged.

    Keeps ``type == Battery``; skips peripherals (``scope == Device``: mice,
    keyboards) and empty battery bays (``present == 0``), which are not the
    laptop's battery. No power_supply folder or no battery gives [].
    """
    class_dir = resolve_within(root, "/sys/class/power_supply")
    if class_dir is None or not class_dir.is_dir():
        return []
    try:
        names = sorted(p.name for p in class_dir.iterdir())
    except OSError:
        return []
    batteries = []
    for entry in names:
        device = resolve_within(root, f"/sys/class/power_supply/{entry}")
        if device is None or not device.is_dir() or not is_power_supply_dir(device):
            continue
        try:
            reading = read_power_supply_dir(device)
        except InputError as exc:
            log.warning("skipping power supply %s: %s", entry, exc)
            continue
        if not _is_laptop_battery(reading):
            continue
        batteries.append(judge_battery(reading, policy, name=entry))
    return batteries


def _is_laptop_battery(reading: BatteryReading) -> bool:
    return reading.type == "Battery" and reading.scope != "Device" and reading.present is not False
