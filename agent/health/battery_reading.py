"""One battery as a dump describes it, and the value parsing every format shares.

Numbers come as ``12``, ``8509 [mAh]``, ``33,4443 Wh`` (localized upower) or
``96.48%``; all end up as integers in the schema's micro units, and anything
that does not parse becomes a problem in words rather than an exception.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Literal

from agent.report.schema import INT64_MAX

Unit = Literal["uWh", "uAh"]

#: Unit suffix -> (quantity, factor to the schema's micro unit).
UNITS: Mapping[str, tuple[str, int]] = {
    "uwh": ("energy", 1),
    "µwh": ("energy", 1),
    "mwh": ("energy", 1000),
    "wh": ("energy", 1_000_000),
    "uah": ("charge", 1),
    "µah": ("charge", 1),
    "mah": ("charge", 1000),
    "ah": ("charge", 1_000_000),
    "uv": ("voltage", 1),
    "µv": ("voltage", 1),
    "mv": ("voltage", 1000),
    "v": ("voltage", 1_000_000),
}

#: Bounded digit runs: no huge integers that would overflow a float ratio.
_NUMBER = re.compile(
    r"^\s*([+-]?\d{1,30}(?:[.,]\d{1,30})?)\s*(?:\[\s*([^\]\s]+)\s*\]|([^\d\s]\S*))?\s*$"
)


@dataclass
class BatteryReading:
    """One battery as a dump describes it, in schema units; None = not in the dump."""

    source_format: str  # sysfs, sysfs-lines, uevent, upower, tlp-stat, acpi
    raw: dict[str, str] = field(default_factory=dict)
    name: str | None = None
    type: str | None = None
    scope: str | None = None
    present: bool | None = None
    manufacturer: str | None = None
    model_name: str | None = None
    serial: str | None = None
    technology: str | None = None
    status: str | None = None
    energy_full_uwh: int | None = None
    energy_full_design_uwh: int | None = None
    charge_full_uah: int | None = None
    charge_full_design_uah: int | None = None
    #: tp_smapi last_full_capacity / design_capacity, in ``smapi_unit``
    smapi_full: int | None = None
    smapi_design: int | None = None
    smapi_unit: Unit | None = None
    upower_energy_full_uwh: int | None = None
    upower_energy_full_design_uwh: int | None = None
    voltage_min_design_uv: int | None = None
    #: state of charge (sysfs ``capacity``, upower ``percentage``), not health
    capacity_percent: int | None = None
    cycle_count: int | None = None
    #: the cycle count as the source wrote it ("0", "(not supported)", ...)
    cycle_count_raw: str | None = None
    #: the tool's own full/design figure (upower capacity, tlp-stat Capacity, acpi "= 68%")
    reported_health_percent: float | None = None
    reported_health_source: str | None = None
    #: values present but unusable, in words
    problems: list[str] = field(default_factory=list)
    #: disagreements between two sources in one dump, in words, with the one used
    conflicts: list[str] = field(default_factory=list)


def short(value: str, limit: int = 40) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "...")


def clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.replace("\x00", "").strip()
    return value or None


def parse_number(value: str) -> tuple[Decimal, str | None] | None:
    """A number and its unit from ``12``, ``8509 [mAh]``, ``33,4443 Wh`` or ``96.48%``."""
    match = _NUMBER.match(value)
    if match is None:
        return None
    try:
        number = Decimal(match.group(1).replace(",", "."))
    except InvalidOperation:
        return None
    return number, match.group(2) or match.group(3)


def to_micro(
    reading: BatteryReading, label: str, value: str, quantity: str, default_factor: int
) -> int | None:
    """``value`` converted to the micro unit of ``quantity``; a problem noted if it cannot be."""
    parsed = parse_number(value)
    if parsed is None:
        reading.problems.append(f"{label} is not a number: {short(value)}")
        return None
    number, unit = parsed
    factor = default_factor
    if unit is not None:
        known = UNITS.get(unit.lower())
        if known is None or known[0] != quantity:
            reading.problems.append(f"{label} has an unexpected unit: {short(value)}")
            return None
        factor = known[1]
    if number < 0:
        reading.problems.append(f"{label} is negative: {short(value)}")
        return None
    micro = int(number * factor)
    if micro > INT64_MAX:
        reading.problems.append(f"{label} is implausibly large: {short(value)}")
        return None
    return micro


def parse_percent(value: str) -> float | None:
    parsed = parse_number(value)
    if parsed is None or parsed[1] not in (None, "%") or parsed[0] < 0:
        return None
    return float(parsed[0])


def set_cycles(reading: BatteryReading, value: str) -> None:
    """0, negative or a word like "(not supported)" all mean: the driver does not count."""
    reading.cycle_count_raw = value.strip()
    parsed = parse_number(value)
    if parsed is not None and parsed[1] is None and parsed[0] == parsed[0].to_integral_value():
        count = int(parsed[0])
        reading.cycle_count = count if 0 < count <= INT64_MAX else None
    elif parsed is not None:
        reading.problems.append(f"cycle_count is not a whole number: {short(value)}")
