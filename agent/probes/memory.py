"""RAM: the total the kernel sees, and the modules SMBIOS describes.

The total comes from /proc/meminfo (what the OS can use, a little under what is
installed). Modules come from ``dmidecode -t 17``, only on the live machine: a
recorded root has no firmware to ask. No dmidecode, no SMBIOS (VMs, some ARM
boards) or an unreadable table all mean "modules unknown", never a crash.
"""

from __future__ import annotations

import re
from pathlib import Path

import psutil

from agent.errors import DigibenchError
from agent.probes.dmi import clean_dmi
from agent.probes.sysfs import read_text, under
from agent.report.schema import Memory, MemoryModule
from agent.runner import Runner

ROOT = Path("/")

_UNITS = {"bytes": 1, "kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30, "tb": 1 << 40}
_SIZE = re.compile(r"^(\d+)\s*(bytes|kB|MB|GB|TB)$", re.IGNORECASE)
_SPEED = re.compile(r"^(\d+)\s*(MT/s|MHz)$")
# Template strings module EEPROMs and BIOSes fill in for missing values.
_MODULE_PLACEHOLDER = re.compile(
    r"^(sernum\d*|partnum\d*|assettagnum\d*|module\d*partnum|array\d*_?partnumber\d*|"
    r"dimm\d*_?serialnum\d*|manufacturer\d*|unknown|undefined)$",
    re.IGNORECASE,
)


def meminfo_total(root: Path = ROOT) -> int | None:
    """MemTotal from /proc/meminfo, in bytes."""
    text = read_text(under(root, "/proc/meminfo")) or ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "MemTotal":
            parts = value.split()
            if parts and parts[0].isdigit():
                factor = 1024 if len(parts) > 1 and parts[1].lower() == "kb" else 1
                return int(parts[0]) * factor
    return None


def _clean(value: str | None) -> str | None:
    value = clean_dmi(value)
    if value is None or _MODULE_PLACEHOLDER.match(value):
        return None
    return value


def _size(value: str | None) -> int | None:
    match = _SIZE.match((value or "").strip())
    if not match:
        return None
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


def _speed(value: str | None) -> int | None:
    match = _SPEED.match((value or "").strip())
    return int(match.group(1)) if match else None


def _blocks(text: str) -> list[tuple[int, dict[str, str]]]:
    """(DMI type, {key: value}) for each handle block of dmidecode's text output."""
    blocks: list[tuple[int, dict[str, str]]] = []
    current: dict[str, str] | None = None
    for line in text.splitlines():
        head = re.match(r"^Handle 0x[0-9A-Fa-f]+, DMI type (\d+)", line)
        if head:
            current = {}
            blocks.append((int(head.group(1)), current))
            continue
        if current is None or not line.startswith("\t") or line.startswith("\t\t"):
            continue
        key, sep, value = line.strip().partition(":")
        if sep:
            current[key.strip()] = value.strip()
    return blocks


def parse_memory_devices(text: str) -> tuple[list[MemoryModule], int]:
    """Installed modules and the number of slots from ``dmidecode [-t 17]`` text."""
    modules: list[MemoryModule] = []
    slots = 0
    for dmi_type, fields in _blocks(text):
        if dmi_type != 17:
            continue
        slots += 1
        size = _size(fields.get("Size"))
        if not size:  # "No Module Installed", "Not Installed", "Unknown", 0
            continue
        mem_type = _clean(fields.get("Type"))
        modules.append(
            MemoryModule(
                locator=_clean(fields.get("Locator")),
                size_bytes=size,
                type=mem_type,
                form_factor=_clean(fields.get("Form Factor")),
                speed_mts=_speed(fields.get("Speed")),
                manufacturer=_clean(fields.get("Manufacturer")),
                part_number=_clean(fields.get("Part Number")),
                serial=_clean(fields.get("Serial Number")),
            )
        )
    return modules[:64], slots


def probe_memory(root: Path = ROOT, runner: Runner | None = None) -> Memory:
    """Total RAM, plus modules when ``root`` is the live machine and dmidecode works."""
    total = meminfo_total(root)
    if total is None and root.resolve() == ROOT:
        total = psutil.virtual_memory().total  # /proc not mounted (odd chroot)
    memory = Memory(total_bytes=total or 0)
    if runner is None or root.resolve() != ROOT or runner.which("dmidecode") is None:
        return memory
    try:
        result = runner.run(["dmidecode", "-t", "17"], timeout=30)
    except DigibenchError:
        return memory
    if not result.ok:
        return memory  # no SMBIOS (VM without it), no /dev/mem, not root
    modules, slots = parse_memory_devices(result.text)
    memory.modules = modules
    memory.slots = slots or None
    memory.raw_dmidecode = result.text[:2_000_000]
    return memory
