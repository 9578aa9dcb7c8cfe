"""sysfs ``power_supply`` devices: attribute files, ``uevent`` and ``name=value`` dumps.

When a dump holds both the attribute files and the uevent and they differ, the
uevent wins: one read of it is one pass over the driver's values, while the
attribute files may be read (or copied) at different moments. The
disagreement is kept in ``BatteryReading.conflicts``.
"""

from __future__ import annotations

import re
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path

from agent.errors import InputError
from agent.health.battery_reading import (
    BatteryReading,
    clean,
    parse_percent,
    set_cycles,
    short,
    to_micro,
)

#: sysfs attributes are at most a page; anything bigger is not an attribute.
MAX_ATTRIBUTE_BYTES = 64 << 10

#: Attribute names of the power_supply class (Documentation/ABI/testing/sysfs-class-power),
#: plus the ThinkPad threshold aliases; used to recognise ``name=value`` dumps.
_ABI_NAMES = """
    alarm authentic calibrate capacity capacity_alert_max capacity_alert_min
    capacity_error_margin capacity_level charge_avg charge_behaviour
    charge_control_end_threshold charge_control_limit charge_control_limit_max
    charge_control_start_threshold charge_counter charge_empty charge_empty_design
    charge_full charge_full_design charge_now charge_start_threshold charge_stop_threshold
    charge_term_current charge_type constant_charge_current constant_charge_current_max
    constant_charge_voltage constant_charge_voltage_max current_avg current_max current_now
    cycle_count energy_avg energy_empty energy_empty_design energy_full energy_full_design
    energy_now health input_current_limit input_power_limit input_voltage_limit
    manufacture_day manufacture_month manufacture_year manufacturer model_name name online
    power_avg power_now precharge_current present scope serial_number status technology temp
    temp_alert_max temp_alert_min temp_ambient temp_max temp_min time_to_empty_avg
    time_to_empty_now time_to_full_avg time_to_full_now type usb_type voltage_avg
    voltage_boot voltage_max voltage_max_design voltage_min voltage_min_design voltage_now
    voltage_ocv
"""
SYSFS_ATTRIBUTES = frozenset(_ABI_NAMES.split())

#: Attributes only a battery has; a dump without ``type`` counts as a battery if it has one.
_HINT_NAMES = """
    energy_full energy_full_design energy_now charge_full charge_full_design charge_now
    cycle_count technology capacity capacity_level voltage_min_design model_name
"""
_BATTERY_HINTS = frozenset(_HINT_NAMES.split())

#: Fields compared between attribute files and uevent: the ones a verdict rests on.
_VERDICT_FIELDS = ("energy_full", "energy_full_design", "charge_full", "charge_full_design")
_COMPARED_FIELDS = (*_VERDICT_FIELDS, "cycle_count")


def from_attributes(
    attrs: Mapping[str, str], source_format: str, raw: dict[str, str]
) -> BatteryReading:
    """A reading from power_supply attributes (lower-case names, sysfs units)."""
    reading = BatteryReading(source_format=source_format, raw=raw)
    reading.name = clean(attrs.get("name"))
    reading.type = clean(attrs.get("type"))
    reading.scope = clean(attrs.get("scope"))
    reading.manufacturer = clean(attrs.get("manufacturer"))
    reading.model_name = clean(attrs.get("model_name"))
    reading.serial = clean(attrs.get("serial_number"))
    reading.technology = clean(attrs.get("technology"))
    reading.status = clean(attrs.get("status"))
    present = clean(attrs.get("present"))
    if present in ("0", "1"):
        reading.present = present == "1"
    for attr, quantity in (
        ("energy_full", "energy"),
        ("energy_full_design", "energy"),
        ("charge_full", "charge"),
        ("charge_full_design", "charge"),
        ("voltage_min_design", "voltage"),
    ):
        value = attrs.get(attr)
        if value is not None and clean(value) is not None:
            micro = to_micro(reading, attr, value, quantity, 1)
            suffix = {"energy": "_uwh", "charge": "_uah", "voltage": "_uv"}[quantity]
            setattr(reading, attr + suffix, micro)
    if (cycles := clean(attrs.get("cycle_count"))) is not None:
        set_cycles(reading, cycles)
    if (capacity := clean(attrs.get("capacity"))) is not None:
        percent = parse_percent(capacity)
        if percent is not None:
            reading.capacity_percent = round(percent)
    return reading


def _is_battery(attrs: Mapping[str, str]) -> bool:
    kind = clean(attrs.get("type"))
    if kind is not None:
        return kind == "Battery"
    return any(clean(attrs.get(key)) is not None for key in _BATTERY_HINTS)


def _merge(files: Mapping[str, str], uevent: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """Attribute files overlaid by the uevent, which wins; disagreements on verdict fields noted."""
    merged = dict(files)
    conflicts = []
    for key, value in uevent.items():
        theirs = files.get(key)
        if key in _COMPARED_FIELDS and theirs is not None and clean(theirs) != clean(value):
            conflicts.append(
                f"{key}: the attribute file says {short(theirs.strip())}, the uevent says "
                f"{short(value.strip())}; the uevent is used (one read of it is one consistent "
                "snapshot of the driver's values)"
            )
        merged[key] = value
    return merged, conflicts


_UEVENT_LINE = re.compile(r"^([A-Z][A-Z0-9_]*)=(.*)$")
_ATTRIBUTE_LINE = re.compile(r"^([a-z][a-z0-9_]*)=(.*)$")


def _uevent_devices(lines: Iterable[str]) -> list[dict[str, str]]:
    """Raw ``KEY=value`` groups; a repeated POWER_SUPPLY_NAME starts the next device."""
    devices: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in lines:
        match = _UEVENT_LINE.match(line)
        if match is None:
            continue
        key, value = match.groups()
        if key in current and key == "POWER_SUPPLY_NAME":
            devices.append(current)
            current = {}
        current[key] = value
    if any(key.startswith("POWER_SUPPLY_") for key in current):
        devices.append(current)
    return [d for d in devices if any(k.startswith("POWER_SUPPLY_") for k in d)]


def _uevent_attributes(raw: Mapping[str, str]) -> dict[str, str]:
    prefix = "POWER_SUPPLY_"
    return {k[len(prefix) :].lower(): v for k, v in raw.items() if k.startswith(prefix)}


def _read_attribute(path: Path) -> str | None:
    with path.open("rb") as fh:
        data = fh.read(MAX_ATTRIBUTE_BYTES + 1)
    if len(data) > MAX_ATTRIBUTE_BYTES:
        return None
    return data.decode("utf-8", errors="replace").removesuffix("\n")


def _regular_files(directory: Path) -> list[Path]:
    """Regular files only: sysfs' ``device``/``subsystem`` links and subfolders are not data."""
    try:
        entries = sorted(directory.iterdir())
    except OSError as exc:
        raise InputError(f"{directory}: cannot list directory: {exc.strerror}") from exc
    files = []
    for entry in entries:
        try:
            if stat.S_ISREG(entry.lstat().st_mode):
                files.append(entry)
        except OSError:
            continue
    return files


def is_power_supply_dir(directory: Path) -> bool:
    """Whether ``directory`` looks like one ``power_supply/<name>`` device."""
    names = {p.name for p in _regular_files(directory)}
    return "uevent" in names or bool(names & SYSFS_ATTRIBUTES)


def read_power_supply_dir(directory: Path) -> BatteryReading:
    """One ``power_supply/<name>`` directory (any type) as a reading."""
    files: dict[str, str] = {}
    unreadable: list[str] = []
    uevent: dict[str, str] = {}
    for path in _regular_files(directory):
        try:
            value = _read_attribute(path)
        except OSError as exc:
            # Drivers answer some reads with EIO/ENODATA (e.g. when the pack is absent).
            if path.name in _COMPARED_FIELDS:
                unreadable.append(f"{path.name} could not be read: {exc.strerror}")
            continue
        if value is None:
            continue
        if path.name == "uevent":
            devices = _uevent_devices(value.splitlines())
            uevent = devices[0] if devices else {}
        else:
            files[path.name] = value
    if not files and not uevent:
        raise InputError(f"{directory}: no readable power_supply attributes in this directory")
    attrs, conflicts = _merge(files, _uevent_attributes(uevent))
    reading = from_attributes(attrs, "sysfs", {**files, **uevent})
    reading.name = reading.name or directory.name
    reading.problems[:0] = unreadable
    reading.conflicts = conflicts
    return reading


def parse_sysfs_text(lines: list[str]) -> list[BatteryReading] | None:
    """``name=value`` attribute lines and/or uevent ``POWER_SUPPLY_*`` lines."""
    files: dict[str, str] = {}
    for line in lines:
        match = _ATTRIBUTE_LINE.match(line)
        if match is not None and match.group(1) in SYSFS_ATTRIBUTES:
            files[match.group(1)] = match.group(2)
    devices = _uevent_devices(lines)
    meaningful = [ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    attribute_like = len(files) >= 2 and len(files) * 2 >= len(meaningful) - sum(map(len, devices))
    if not devices and not attribute_like:
        return None
    readings = []
    if attribute_like and len(devices) <= 1:
        uevent = devices[0] if devices else {}
        attrs, conflicts = _merge(files, _uevent_attributes(uevent))
        if _is_battery(attrs):
            reading = from_attributes(attrs, "sysfs-lines", {**files, **uevent})
            reading.conflicts = conflicts
            readings.append(reading)
        return readings
    if attribute_like and _is_battery(files):
        readings.append(from_attributes(files, "sysfs-lines", dict(files)))
    for device in devices:
        attrs = _uevent_attributes(device)
        if _is_battery(attrs):
            readings.append(from_attributes(attrs, "uevent", dict(device)))
    return readings
