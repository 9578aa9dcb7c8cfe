"""CPU model, core/thread counts and top clock from /proc/cpuinfo and sysfs.

Read from files rather than psutil so a recorded root works the same as the
live one. x86 cpuinfo names the model ("model name") and topology ("physical
id"/"core id"); ARM cpuinfo has neither, so cores then come from sysfs
topology and the model may stay unknown.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from agent.probes.sysfs import list_dir, read_int, read_text, read_uint, under
from agent.report.schema import Cpu

ROOT = Path("/")

_VENDORS = {
    "GenuineIntel": "Intel",
    "AuthenticAMD": "AMD",
    "HygonGenuine": "Hygon",
    "CentaurHauls": "Centaur",
    "  Shanghai  ": "Zhaoxin",
}
#: ARM "CPU implementer" codes (Linux arch/arm64 cputype.h).
_ARM_IMPLEMENTERS = {
    "0x41": "ARM",
    "0x42": "Broadcom",
    "0x43": "Cavium",
    "0x48": "HiSilicon",
    "0x4e": "NVIDIA",
    "0x51": "Qualcomm",
    "0x61": "Apple",
    "0xc0": "Ampere",
}


def _processors(text: str) -> list[dict[str, str]]:
    """cpuinfo as one dict per blank-line-separated block."""
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
                current = {}
            continue
        key, sep, value = line.partition(":")
        if sep:
            current.setdefault(key.strip(), value.strip())
    if current:
        blocks.append(current)
    return blocks


def _architecture(root: Path, first: dict[str, str]) -> str | None:
    arch = read_text(under(root, "/proc/sys/kernel/arch"))
    if arch:
        return arch
    if root.resolve() == ROOT:
        return os.uname().machine
    flags = first.get("flags", "").split()
    if flags:
        return "x86_64" if "lm" in flags else "i686"
    if "CPU implementer" in first:
        return "aarch64" if "asimd" in first.get("Features", "").split() else "arm"
    return None


def _cpu_dirs(root: Path) -> list[Path]:
    base = under(root, "/sys/devices/system/cpu")
    return [base / name for name in list_dir(base) if re.fullmatch(r"cpu\d+", name)]


def _topology_cores(root: Path) -> int | None:
    cores = set()
    for cpu in _cpu_dirs(root):
        core = read_int(cpu / "topology" / "core_id")
        package = read_int(cpu / "topology" / "physical_package_id")
        if core is not None:
            cores.add((package, core))
    return len(cores) or None


def _max_mhz(root: Path) -> float | None:
    freqs = [read_uint(cpu / "cpufreq" / "cpuinfo_max_freq") for cpu in _cpu_dirs(root)]
    known = [f for f in freqs if f]
    return max(known) / 1000 if known else None  # sysfs gives kHz


def probe_cpu(root: Path = ROOT) -> Cpu:
    blocks = [b for b in _processors(read_text(under(root, "/proc/cpuinfo")) or "") if b]
    procs = [b for b in blocks if "processor" in b]
    first = procs[0] if procs else (blocks[0] if blocks else {})
    model = first.get("model name") or first.get("Model") or first.get("Hardware")
    vendor_id = first.get("vendor_id")
    vendor = _VENDORS.get(vendor_id, vendor_id) if vendor_id else None
    if vendor is None and "CPU implementer" in first:
        code = first["CPU implementer"].lower()
        vendor = _ARM_IMPLEMENTERS.get(code, code)
    pairs = {
        (b.get("physical id"), b.get("core id")) for b in procs if b.get("core id") is not None
    }
    cores = len(pairs) or _topology_cores(root)
    threads = len(procs) or None
    flags = (first.get("flags") or first.get("Features") or "").split()
    return Cpu(
        model=" ".join(model.split())[:256] if model else None,
        vendor=vendor[:256] if vendor else None,
        architecture=_architecture(root, first),
        cores=cores,
        threads=threads,
        max_mhz=_max_mhz(root),
        flags=[flag[:256] for flag in sorted(set(flags))[:1024]],
    )
