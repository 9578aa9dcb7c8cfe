"""Graphics adapters: PCI display controllers (class 0x03xxxx) from sysfs.

Integrated and discrete GPUs both show up as PCI functions on x86 laptops; the
bound driver tells whether the live system can drive them (``nouveau`` vs none).
"""

from __future__ import annotations

from pathlib import Path

from agent.probes import pciids
from agent.probes.sysfs import link_name, list_dir, read_text, under
from agent.report.schema import Gpu

ROOT = Path("/")
DISPLAY_CLASS = 0x03


def _hex_id(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return f"{int(value, 16):04x}"
    except ValueError:
        return None


def probe_gpus(root: Path = ROOT) -> list[Gpu]:
    base = under(root, "/sys/bus/pci/devices")
    gpus = []
    for slot in list_dir(base):
        dev = base / slot
        pci_class = read_text(dev / "class")
        try:
            if pci_class is None or int(pci_class, 16) >> 16 != DISPLAY_CLASS:
                continue
        except ValueError:
            continue
        vendor_id = _hex_id(read_text(dev / "vendor"))
        device_id = _hex_id(read_text(dev / "device"))
        vendor, name = pciids.lookup(root, vendor_id, device_id) if vendor_id else (None, None)
        gpus.append(
            Gpu(
                pci_slot=slot,
                vendor_id=vendor_id,
                device_id=device_id,
                vendor=vendor,
                name=name,
                driver=link_name(dev / "driver"),
            )
        )
    return gpus[:16]
