"""Charging: is a mains adapter online, and what does the battery say it is doing."""

from __future__ import annotations

from pathlib import Path

from agent.probes.sysfs import list_dir, read_flag, read_text, under


def probe_charging(root: Path) -> tuple[bool | None, str | None]:
    """(AC online, status of the first system battery); None where not reported."""
    base = under(root, "/sys/class/power_supply")
    online: bool | None = None
    status: str | None = None
    for name in list_dir(base):
        supply = base / name
        kind = read_text(supply / "type")
        if kind == "Mains":
            flag = read_flag(supply / "online")
            online = flag if online is None else (online or bool(flag))
        elif kind == "Battery" and read_text(supply / "scope") != "Device" and status is None:
            text = read_text(supply / "status")
            status = text[:256] if text else None
    return online, status
