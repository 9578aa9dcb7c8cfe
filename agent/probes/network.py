"""Network interfaces with their hardware (MAC) addresses, from /sys/class/net.

Only interfaces backed by a device count: loopback, bridges, tunnels and other
virtual interfaces have no ``device`` link. The MAC identifies the adapter
(and so the laptop) across reinstalls; the kernel name does not.
"""

from __future__ import annotations

from pathlib import Path

from agent.probes.sysfs import link_name, list_dir, read_int, read_text, under
from agent.report.schema import NetworkInterface

ROOT = Path("/")
ARPHRD_ETHER = 1


def _mac(value: str | None) -> str | None:
    if not value or value.strip(":0") == "":
        return None  # missing or all-zero
    return value.lower()[:64]


def probe_network(root: Path = ROOT) -> list[NetworkInterface]:
    base = under(root, "/sys/class/net")
    interfaces = []
    for name in list_dir(base):
        iface = base / name
        if name == "lo" or not (iface / "device").exists():
            continue
        phy = iface / "phy80211"
        wireless = (iface / "wireless").exists() or phy.is_symlink() or phy.exists()
        kind = "wireless" if wireless else "wired"
        if not wireless and read_int(iface / "type") not in (None, ARPHRD_ETHER):
            kind = "other"  # e.g. WWAN (raw IP), InfiniBand
        interfaces.append(
            NetworkInterface(
                name=name,
                mac=_mac(read_text(iface / "address")),
                kind=kind,
                driver=link_name(iface / "device" / "driver"),
                bus=link_name(iface / "device" / "subsystem"),
            )
        )
    return interfaces[:64]
