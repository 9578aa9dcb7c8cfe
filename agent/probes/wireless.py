"""Wi-Fi and Bluetooth adapters, and how many Wi-Fi networks a scan sees.

An adapter whose driver is bound has its firmware loaded (the driver refuses
to bind without it). The scan keeps only a count: the names of the
neighbours' networks are nobody's business.
"""

from __future__ import annotations

import re
from pathlib import Path

from agent.errors import DigibenchError
from agent.probes.sysfs import list_dir, under
from agent.runner import Runner

_BSS = re.compile(r"^BSS [0-9a-f]{2}(:[0-9a-f]{2}){5}", re.IGNORECASE | re.MULTILINE)


def wifi_interfaces(root: Path) -> list[tuple[str, bool]]:
    """(interface, driver bound) for every nl80211 interface."""
    base = under(root, "/sys/class/net")
    found = []
    for name in list_dir(base):
        iface = base / name
        if (iface / "phy80211").exists() or (iface / "wireless").exists():
            found.append((name[:256], (iface / "device" / "driver").exists()))
    return found[:8]


def bluetooth_adapters(root: Path) -> list[str]:
    base = under(root, "/sys/class/bluetooth")
    return [n[:256] for n in list_dir(base) if n.startswith("hci") and ":" not in n][:8]


def count_networks(iw_scan_output: str) -> int:
    """Access points in ``iw dev <if> scan`` output: one ``BSS <mac>`` line each."""
    return len(_BSS.findall(iw_scan_output))


def scan_networks(runner: Runner, interface: str, timeout: float = 30) -> int | None:
    """How many networks ``iw`` sees; None when the scan fails (radio off, no iw)."""
    if runner.which("iw") is None:
        return None
    try:
        result = runner.run(["iw", "dev", interface, "scan"], timeout=timeout)
    except DigibenchError:  # a scan is a nicety: the adapter check stands without it
        return None
    return count_networks(result.text) if result.ok else None
