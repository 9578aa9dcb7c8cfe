"""Wi-Fi and Bluetooth adapters, and how many Wi-Fi networks a scan sees.

An adapter whose driver is bound has its firmware loaded (the driver refuses
to bind without it). The scan keeps only a count: the names of the
neighbours' networks are nobody's business. A scan that cannot run says why
(no ``iw``, the radio refused, a timeout): that is "not measured", never zero.
A Bluetooth controller (``/sys/class/bluetooth/hciN``) shows its driver under
``device/driver`` where it sits on a bus, and its radio switch in its
``rfkillN/hard`` (Documentation/ABI/stable/sysfs-class-rfkill).
"""

from __future__ import annotations

import re
from pathlib import Path

from agent.errors import DigibenchError
from agent.probes.sysfs import list_dir, read_flag, under
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


def bluetooth_state(root: Path) -> tuple[bool | None, bool | None]:
    """(every controller's driver bound, any radio switched off by hardware); each None
    where sysfs does not show it (no ``device`` link, no rfkill entry)."""
    base = under(root, "/sys/class/bluetooth")
    bound: list[bool] = []
    blocked: list[bool] = []
    for name in bluetooth_adapters(root):
        hci = base / name
        if (hci / "device").exists():
            bound.append((hci / "device" / "driver").exists())
        for entry in list_dir(hci):
            if entry.startswith("rfkill"):
                hard = read_flag(hci / entry / "hard")
                if hard is not None:
                    blocked.append(hard)
    return (all(bound) if bound else None), (any(blocked) if blocked else None)


def count_networks(iw_scan_output: str) -> int:
    """Access points in ``iw dev <if> scan`` output: one ``BSS <mac>`` line each."""
    return len(_BSS.findall(iw_scan_output))


def scan_networks(runner: Runner, interface: str, timeout: float = 30) -> tuple[int | None, str]:
    """(networks ``iw`` sees, "") or (None, why the scan failed: radio off, no iw...)."""
    if runner.which("iw") is None:
        return None, "iw is not installed"
    try:
        result = runner.run(["iw", "dev", interface, "scan"], timeout=timeout)
    except DigibenchError as exc:  # the adapter check stands without it: "not measured"
        return None, str(exc).splitlines()[0][:200] if str(exc) else "scan failed"
    if not result.ok:
        said = (result.error_text or result.text).strip().splitlines()
        return None, (said[-1][:200] if said else f"iw exited with {result.returncode}")
    return count_networks(result.text), ""
