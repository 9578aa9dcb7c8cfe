"""Saved outputs of ``upower -i``, ``tlp-stat -b`` and ``acpi -V``.

upower's ``capacity`` is clamped at 100 % and can lag its own energy figures,
so ``energy-full``/``energy-full-design`` count and ``capacity`` is only kept
as ``reported_health_percent`` for a cross-check. tlp-stat prints sysfs values
in mWh/mAh/mV and tp_smapi capacities in their own unit; acpi prints one line
per battery and fact.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import PurePosixPath

from agent.health.battery_reading import (
    UNITS,
    BatteryReading,
    Unit,
    clean,
    parse_number,
    parse_percent,
    set_cycles,
    short,
    to_micro,
)
from agent.health.battery_sysfs import from_attributes

_UPOWER_KEY = re.compile(r"^\s+([a-z][a-z0-9 -]*?):\s+(.*?)\s*$")
_UPOWER_KIND = re.compile(r"^\s{1,4}([a-z][a-z-]*)\s*$")
_UPOWER_KEYS = frozenset(
    (
        "native-path",
        "vendor",
        "model",
        "serial",
        "power supply",
        "energy",
        "energy-full",
        "energy-full-design",
        "energy-rate",
        "percentage",
        "capacity",
        "state",
        "technology",
        "charge-cycles",
    )
)


def _upower_blocks(lines: list[str]) -> list[tuple[str, str | None, dict[str, str]]]:
    """(device path, kind, fields) per ``Device:`` block (one block for plain ``upower -i``)."""
    blocks: list[tuple[str, str | None, dict[str, str]]] = []
    device: str = ""
    kind: str | None = None
    fields: dict[str, str] = {}
    for line in lines:
        if line.startswith("Device:") or line.startswith("Daemon:"):
            if fields:
                blocks.append((device, kind, fields))
            device, kind, fields = line.partition(":")[2].strip(), None, {}
            if line.startswith("Daemon:"):
                device = "Daemon"
            continue
        if (kind_match := _UPOWER_KIND.match(line)) is not None:
            kind = kind_match.group(1)
            continue
        if (match := _UPOWER_KEY.match(line)) is not None:
            fields.setdefault(match.group(1), match.group(2))
    if fields:
        blocks.append((device, kind, fields))
    return blocks


def looks_upower(lines: list[str]) -> bool:
    keys = {m.group(1) for ln in lines if (m := _UPOWER_KEY.match(ln))}
    return "native-path" in keys or len(keys & _UPOWER_KEYS) >= 3


def _upower_energy(reading: BatteryReading, fields: Mapping[str, str], key: str) -> int | None:
    value = fields.get(key)
    if value is None:
        return None
    return to_micro(reading, key, value, "energy", 1_000_000)


def parse_upower(lines: list[str]) -> list[BatteryReading]:
    readings = []
    for device, kind, fields in _upower_blocks(lines):
        if device == "Daemon" or device.endswith("DisplayDevice"):
            continue  # the daemon's settings and upower's aggregate of all batteries
        has_energy = "energy-full" in fields or "energy-full-design" in fields
        if kind != "battery" and not (kind is None and has_energy):
            continue
        reading = BatteryReading(source_format="upower", raw=dict(fields))
        if (path := clean(fields.get("native-path"))) is not None:
            reading.name = PurePosixPath(path).name or path
        reading.manufacturer = clean(fields.get("vendor"))
        reading.model_name = clean(fields.get("model"))
        reading.serial = clean(fields.get("serial"))
        reading.technology = clean(fields.get("technology"))
        reading.status = clean(fields.get("state"))
        reading.type = "Battery"
        supply = clean(fields.get("power supply"))
        if supply in ("yes", "no"):
            reading.scope = "System" if supply == "yes" else "Device"
        present = clean(fields.get("present"))
        if present in ("yes", "no"):
            reading.present = present == "yes"
        reading.upower_energy_full_uwh = _upower_energy(reading, fields, "energy-full")
        reading.upower_energy_full_design_uwh = _upower_energy(
            reading, fields, "energy-full-design"
        )
        if (percentage := fields.get("percentage")) is not None:
            percent = parse_percent(percentage.split("(")[0])
            reading.capacity_percent = round(percent) if percent is not None else None
        if (capacity := fields.get("capacity")) is not None:
            reading.reported_health_percent = parse_percent(capacity)
            reading.reported_health_source = "upower capacity"
        if (cycles := fields.get("charge-cycles")) is not None:
            set_cycles(reading, cycles)
        readings.append(reading)
    return readings


# --------------------------------------------------------------------------- tlp-stat -b


_TLP_PATH = re.compile(
    r"^(/sys/(class/power_supply|devices/platform/smapi)/([^/\s]+)/([^\s=]+))\s*=(.*)$"
)
_TLP_HEADER = re.compile(r"^\+\+\+\s*(.*?)\s*$")
_TLP_BATTERY_HEADER = re.compile(r"Battery Status:\s*(\S+)")
_TLP_LINE = re.compile(r"^([A-Za-z][\w.\- ]*?)\s*=(.*)$")


def _tlp_to_sysfs(value: str, quantity: str) -> str:
    """A tlp-stat ``8509 [mAh]`` as a sysfs-unit string; left as is when it does not parse."""
    parsed = parse_number(value)
    if parsed is None or parsed[1] is None:
        return value.strip()
    known = UNITS.get(parsed[1].lower())
    if known is None or known[0] != quantity:
        return value.strip()
    return str(int(parsed[0] * known[1]))


def parse_tlp(lines: list[str]) -> list[BatteryReading]:
    sections: dict[str, dict[str, dict[str, str]]] = {}
    raws: dict[str, dict[str, str]] = {}
    current: str | None = None
    for line in lines:
        if (header := _TLP_HEADER.match(line)) is not None:
            found = _TLP_BATTERY_HEADER.search(header.group(1))
            current = found.group(1) if found else None
            continue
        if (match := _TLP_PATH.match(line)) is not None:
            path, kind, name, attr, value = match.groups()
            current = name
            section = "smapi" if kind.endswith("smapi") else "ps"
            sections.setdefault(name, {}).setdefault(section, {})[attr] = value
            raws.setdefault(name, {})[path] = value.strip()
            continue
        if current is not None and (other := _TLP_LINE.match(line)) is not None:
            raws.setdefault(current, {})[other.group(1)] = other.group(2).strip()
    readings = []
    for name, parts in sections.items():
        ps = parts.get("ps", {})
        smapi = parts.get("smapi", {})
        attrs: dict[str, str] = {}
        for attr, value in ps.items():
            quantity = attr.split("_")[0]
            if attr in ("energy_full", "energy_full_design", "charge_full", "charge_full_design"):
                attrs[attr] = _tlp_to_sysfs(value, quantity)
            elif attr == "voltage_min_design":
                attrs[attr] = _tlp_to_sysfs(value, "voltage")
            else:
                attrs[attr] = value.strip()
        smapi_cycles = smapi.get("cycle_count")
        ps_cycles = parse_number(attrs.get("cycle_count", ""))
        if smapi_cycles is not None and (ps_cycles is None or ps_cycles[0] <= 0):
            attrs["cycle_count"] = smapi_cycles.strip()
        attrs.setdefault("manufacturer", smapi.get("manufacturer", ""))
        attrs.setdefault("model_name", smapi.get("model", ""))
        attrs.setdefault("serial_number", smapi.get("serial", ""))
        attrs.setdefault("technology", smapi.get("chemistry", ""))
        raw = raws.get(name, {})
        reading = from_attributes(attrs, "tlp-stat", raw)
        reading.name = name
        reading.type = "Battery"
        _tlp_smapi(reading, smapi)
        if (capacity := raw.get("Capacity")) is not None:
            reading.reported_health_percent = parse_percent(capacity)
            reading.reported_health_source = "tlp-stat Capacity"
        if (charge := raw.get("Charge")) is not None and reading.capacity_percent is None:
            percent = parse_percent(charge)
            reading.capacity_percent = round(percent) if percent is not None else None
        readings.append(reading)
    return readings


def _tlp_smapi(reading: BatteryReading, smapi: Mapping[str, str]) -> None:
    """tp_smapi capacities keep their own unit (mWh on every ThinkPad seen; mAh allowed)."""
    full, design = smapi.get("last_full_capacity"), smapi.get("design_capacity")
    if full is None or design is None:
        return
    unit: Unit = "uWh"
    for value in (full, design):
        parsed = parse_number(value)
        if parsed is not None and parsed[1] is not None and parsed[1].lower() == "mah":
            unit = "uAh"
    quantity = "energy" if unit == "uWh" else "charge"
    reading.smapi_unit = unit
    reading.smapi_full = to_micro(reading, "last_full_capacity", full, quantity, 1000)
    reading.smapi_design = to_micro(reading, "design_capacity", design, quantity, 1000)


# --------------------------------------------------------------------------- acpi -V


_ACPI_BATTERY = re.compile(r"^Battery (\d+): (.*?)\s*$")
_ACPI_DESIGN = re.compile(
    r"design capacity (\S+) (\S+), last full capacity (\S+) (\S+?)(?: = (\S+)%)?$"
)


def parse_acpi(lines: list[str]) -> list[BatteryReading]:
    readings: dict[str, BatteryReading] = {}
    for line in lines:
        match = _ACPI_BATTERY.match(line)
        if match is None:
            continue
        index, rest = match.groups()
        name = f"Battery {index}"
        reading = readings.setdefault(name, BatteryReading(source_format="acpi", name=name))
        reading.type = "Battery"
        key = name if name not in reading.raw else f"{name} ({len(reading.raw) + 1})"
        reading.raw[key] = rest
        design = _ACPI_DESIGN.match(rest)
        if design is None:
            status, _, after = rest.partition(",")
            reading.status = clean(status)
            percent = parse_percent(after.split(",")[0])
            if percent is not None:
                reading.capacity_percent = round(percent)
            continue
        design_value, design_unit, full_value, full_unit, reported = design.groups()
        for attr, value, unit in (
            ("design", design_value, design_unit),
            ("full", full_value, full_unit),
        ):
            known = UNITS.get(unit.lower())
            if known is None or known[0] not in ("energy", "charge"):
                reading.problems.append(f"{attr} capacity has an unexpected unit: {short(unit)}")
                continue
            micro = to_micro(reading, f"{attr} capacity", f"{value} {unit}", known[0], 1)
            target = {
                ("energy", "design"): "energy_full_design_uwh",
                ("energy", "full"): "energy_full_uwh",
                ("charge", "design"): "charge_full_design_uah",
                ("charge", "full"): "charge_full_uah",
            }[(known[0], attr)]
            setattr(reading, target, micro)
        if reported is not None:
            reading.reported_health_percent = parse_percent(reported)
            reading.reported_health_source = "acpi"
    return list(readings.values())


def is_tlp(lines: list[str]) -> bool:
    return any(_TLP_PATH.match(ln) for ln in lines)


def is_acpi(lines: list[str]) -> bool:
    return any(_ACPI_BATTERY.match(ln) for ln in lines)
