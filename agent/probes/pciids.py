"""Vendor and device names from the pci.ids database (pciutils / hwdata).

Reads the file line by line and stops as soon as the vendor block is passed,
so looking up a handful of devices stays cheap on the 1.3 MB database.
"""

from __future__ import annotations

from pathlib import Path

from agent.probes.sysfs import under

PCI_IDS_PATHS = ("/usr/share/misc/pci.ids", "/usr/share/hwdata/pci.ids")


def pci_ids_file(root: Path) -> Path | None:
    for candidate in PCI_IDS_PATHS:
        path = under(root, candidate)
        if path.is_file():
            return path
    return None


def _norm(pci_id: str) -> str:
    return pci_id.lower().removeprefix("0x").zfill(4)


def lookup(root: Path, vendor_id: str, device_id: str | None) -> tuple[str | None, str | None]:
    """(vendor name, device name) for ``vendor_id``/``device_id`` (hex, ``0x`` optional)."""
    path = pci_ids_file(root)
    if path is None:
        return None, None
    vendor_key = _norm(vendor_id)
    device_key = _norm(device_id) if device_id else None
    vendor_name: str | None = None
    try:
        with path.open(encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("#") or not line.strip():
                    continue
                if not line.startswith("\t"):
                    if vendor_name is not None:
                        break  # past our vendor's block
                    if line[:4].lower() == vendor_key and line[4:6] == "  ":
                        vendor_name = line[6:].strip() or None
                        if device_key is None:
                            break
                    elif line.startswith("C "):
                        break  # device classes follow the vendor list
                    continue
                if (
                    vendor_name is not None
                    and device_key is not None
                    and not line.startswith("\t\t")
                    and line[1:5].lower() == device_key
                ):
                    return vendor_name, line[7:].strip() or None
    except OSError:
        return None, None
    return vendor_name, None
