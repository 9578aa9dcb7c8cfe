"""A recorded laptop profile for test setups: what a VM or CI machine cannot have.

The probes read DMI, batteries and the rest from a root folder; this builds
one from real recorded outputs (tests/fixtures) so a demo or a test on a
virtual machine shows a real laptop's identity and battery, while its disks
are the real loop devices the run wipes. CPU and memory come from the live
machine, since they are real here.
"""

from __future__ import annotations

import shutil
from pathlib import Path

LIVE_FILES = ("proc/cpuinfo", "proc/meminfo")


def build_profile(
    dest: Path,
    *,
    dmi_tree: Path,
    battery_uevent: Path | None = None,
    live_root: Path = Path("/"),
) -> Path:
    """Assemble ``dest`` as a probe root: DMI from ``dmi_tree``, one battery, live CPU/RAM."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(dmi_tree, dest, symlinks=True, dirs_exist_ok=True)
    if battery_uevent is not None:
        bat = dest / "sys" / "class" / "power_supply" / "BAT0"
        bat.mkdir(parents=True, exist_ok=True)
        text = battery_uevent.read_text()
        (bat / "uevent").write_text(text)
        (bat / "type").write_text("Battery\n")
    for rel in LIVE_FILES:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((live_root / rel).read_bytes())
    return dest
