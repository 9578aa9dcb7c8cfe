"""Temperatures from hwmon: the hottest sensor per chip, in degrees Celsius.

hwmon ``temp*_input`` files hold millidegrees (Documentation/hwmon/sysfs-interface).
Readings outside -40..150 C are sensor garbage and are dropped.
"""

from __future__ import annotations

from pathlib import Path

from agent.probes.sysfs import list_dir, read_int, read_text, under


def probe_temperatures(root: Path) -> dict[str, float]:
    base = under(root, "/sys/class/hwmon")
    hottest: dict[str, float] = {}
    for hwmon in list_dir(base):
        chip = (read_text(base / hwmon / "name") or hwmon)[:200]
        for entry in list_dir(base / hwmon):
            if not (entry.startswith("temp") and entry.endswith("_input")):
                continue
            milli = read_int(base / hwmon / entry)
            if milli is None or not -40_000 <= milli <= 150_000:
                continue
            hottest[chip] = max(hottest.get(chip, -273.0), milli / 1000)
    return dict(list(hottest.items())[:32])
