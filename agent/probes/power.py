"""Charging: is a charger feeding the laptop, and what does the battery say it is doing.

A charger shows up as a power supply of type ``Mains`` (the ACPI AC adapter) or, on laptops
charged over USB (USB-C power delivery, a bq24190-style charger chip), of a USB type
(``USB``, ``USB_C``, ``USB_PD``...); some laptops have only the latter
(Documentation/ABI/testing/sysfs-class-power, ``type``).
"""

from __future__ import annotations

from pathlib import Path

from agent.probes.sysfs import list_dir, read_flag, read_text, under

_CHARGER_TYPES = frozenset({"Mains", "BrickID", "Wireless"})


def _is_charger(kind: str | None) -> bool:
    return kind is not None and (kind in _CHARGER_TYPES or kind.startswith("USB"))


def probe_charging(root: Path) -> tuple[bool | None, str | None]:
    """(a charger online, status of the first system battery); None where not reported."""
    base = under(root, "/sys/class/power_supply")
    online: bool | None = None
    status: str | None = None
    for name in list_dir(base):
        supply = base / name
        kind = read_text(supply / "type")
        if read_text(supply / "scope") == "Device":
            continue  # a mouse's or headset's own battery or charger, not the laptop's
        if _is_charger(kind):
            flag = read_flag(supply / "online")
            if flag is not None:
                online = flag if online is None else (online or flag)
        elif kind == "Battery" and status is None:
            text = read_text(supply / "status")
            status = text[:256] if text else None
    return online, status
