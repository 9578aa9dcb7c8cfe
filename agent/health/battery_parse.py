"""Battery dumps in the shapes people actually save them, format detected from content.

The station reads batteries live from sysfs, but saved outputs come too: a
copied ``power_supply/BATn`` directory or its ``uevent``, ``name=value`` lines,
``upower -i``, ``tlp-stat -b`` and ``acpi -V``. Every shape becomes the same
:class:`BatteryReading` in schema units (µWh, µAh, µV) with the source fields
kept verbatim, so a verdict never depends on which tool produced the dump.
``cycle_count`` 0, negative or "(not supported)" means the driver does not
count cycles, not a new battery.
"""

from __future__ import annotations

from pathlib import Path

from agent.errors import InputError
from agent.health.battery_reading import BatteryReading
from agent.health.battery_sysfs import is_power_supply_dir, parse_sysfs_text, read_power_supply_dir
from agent.health.battery_tools import (
    is_acpi,
    is_tlp,
    looks_upower,
    parse_acpi,
    parse_tlp,
    parse_upower,
)
from agent.inputfile import read_input_file

__all__ = ["BatteryReading", "load_battery_file", "parse_battery_text", "read_power_supply_dir"]

#: A saved dump larger than this is not a battery dump.
MAX_FILE_BYTES = 4 << 20


def _read_text(path: Path) -> str:
    data = read_input_file(path, MAX_FILE_BYTES, "a battery dump")
    if not data.strip():
        raise InputError(f"{path}: empty file")
    if b"\x00" in data:
        raise InputError(f"{path}: binary data, not a text battery dump")
    # A stray non-UTF-8 byte in a serial number should not cost the whole dump.
    return data.decode("utf-8", errors="replace")


def parse_battery_text(text: str, origin: str = "<text>") -> list[BatteryReading]:
    """Readings from a saved dump, its format detected from its content."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if is_tlp(lines):
        readings, fmt = parse_tlp(lines), "tlp-stat"
    elif looks_upower(lines):
        readings, fmt = parse_upower(lines), "upower"
    elif is_acpi(lines):
        readings, fmt = parse_acpi(lines), "acpi"
    else:
        found = parse_sysfs_text(lines)
        if found is None:
            raise InputError(
                f"{origin}: not a recognised battery dump (expected a power_supply uevent or "
                "name=value attributes, upower -i, tlp-stat -b or acpi -V output)"
            )
        readings, fmt = found, "sysfs/uevent"
    if not readings:
        raise InputError(f"{origin}: {fmt} output with no battery in it")
    return readings


def load_battery_file(path: Path) -> list[BatteryReading]:
    """Every battery in a saved dump: a power_supply directory (or a folder of them) or a file.

    Raises InputError, naming the file and why, for anything unreadable,
    unrecognised or holding no battery.
    """
    try:
        is_dir = path.is_dir()
        exists = is_dir or path.exists()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from exc
    if not exists:
        raise InputError(f"{path}: no such file or directory")
    if not is_dir:
        return parse_battery_text(_read_text(path), str(path))
    if is_power_supply_dir(path):
        devices = [read_power_supply_dir(path)]
    else:
        try:
            subdirs = [p for p in _sorted_dirs(path) if is_power_supply_dir(p)]
        except InputError:
            subdirs = []
        if not subdirs:
            raise InputError(
                f"{path}: no power_supply attributes in this directory (expected a "
                "power_supply/BATn directory, a power_supply folder or a uevent file)"
            )
        devices = [read_power_supply_dir(p) for p in subdirs]
    batteries = [d for d in devices if _reading_is_battery(d)]
    if not batteries:
        kinds = ", ".join(f"{d.name} ({d.type or 'no type'})" for d in devices)
        raise InputError(f"{path}: no battery here, only {kinds}")
    return batteries


def _sorted_dirs(path: Path) -> list[Path]:
    try:
        return sorted(p for p in path.iterdir() if p.is_dir())
    except OSError as exc:
        raise InputError(f"{path}: cannot list directory: {exc.strerror}") from exc


def _reading_is_battery(reading: BatteryReading) -> bool:
    if reading.type is not None:
        return reading.type == "Battery"
    hints = (
        reading.energy_full_uwh,
        reading.energy_full_design_uwh,
        reading.charge_full_uah,
        reading.charge_full_design_uah,
        reading.cycle_count_raw,
        reading.technology,
        reading.model_name,
        reading.capacity_percent,
    )
    return any(h is not None for h in hints)
