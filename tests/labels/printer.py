"""A Brother QL label printer on USB, as the station sees it: sysfs and a device node."""

from __future__ import annotations

from pathlib import Path


def brother_ql_on_usb(root: Path) -> Path:
    """``root`` gets a /sys and /dev with a Brother QL-700 on USB; its device node is a
    plain file, so a test reads back the print job the station sent."""
    usb = root / "sys" / "devices" / "usb1"
    (usb / "1-1:1.0").mkdir(parents=True)
    (usb / "idVendor").write_text("04f9\n")
    (usb / "product").write_text("QL-700\n")
    (root / "sys" / "class" / "usbmisc" / "lp0").mkdir(parents=True)
    (root / "sys" / "class" / "usbmisc" / "lp0" / "device").symlink_to(usb / "1-1:1.0")
    (root / "dev" / "usb").mkdir(parents=True)
    (root / "dev" / "usb" / "lp0").write_bytes(b"")
    return root
