"""Who the laptop is: SMBIOS/DMI identity as the kernel exposes it in /sys/class/dmi/id.

Firmware often ships template strings ("To be filled by O.E.M.", "Default
string", an all-zero UUID...) instead of real values. Those are reported as
None, so the server never merges two laptops on a shared fake serial; the
verbatim files still travel in ``raw_dmi``. ``product_serial``, ``product_uuid``
and ``board_serial`` are root-only: as a normal user they are simply absent.
"""

from __future__ import annotations

import re
from pathlib import Path

from agent.probes.sysfs import list_dir, read_text, under
from agent.report.schema import DeviceIdentity

ROOT = Path("/")
DMI_DIR = "/sys/class/dmi/id"

#: SMBIOS 3.x (DSP0134) section 7.4.1, System Enclosure or Chassis Types.
CHASSIS_TYPES: dict[int, str] = {
    1: "Other",
    2: "Unknown",
    3: "Desktop",
    4: "Low Profile Desktop",
    5: "Pizza Box",
    6: "Mini Tower",
    7: "Tower",
    8: "Portable",
    9: "Laptop",
    10: "Notebook",
    11: "Hand Held",
    12: "Docking Station",
    13: "All in One",
    14: "Sub Notebook",
    15: "Space-saving",
    16: "Lunch Box",
    17: "Main Server Chassis",
    18: "Expansion Chassis",
    19: "SubChassis",
    20: "Bus Expansion Chassis",
    21: "Peripheral Chassis",
    22: "RAID Chassis",
    23: "Rack Mount Chassis",
    24: "Sealed-case PC",
    25: "Multi-system chassis",
    26: "Compact PCI",
    27: "Advanced TCA",
    28: "Blade",
    29: "Blade Enclosure",
    30: "Tablet",
    31: "Convertible",
    32: "Detachable",
    33: "IoT Gateway",
    34: "Embedded PC",
    35: "Mini PC",
    36: "Stick PC",
}
#: Chassis types of portable computers: what a laptop refurbisher expects to see.
PORTABLE_CHASSIS = frozenset({8, 9, 10, 11, 14, 30, 31, 32})

#: Template strings seen in BIOSes instead of real values (compared lower-case).
PLACEHOLDERS = frozenset(
    {
        "to be filled by o.e.m.",
        "to be filled by o.e.m",
        "to be filled by oem",
        "default string",
        "default",
        "system serial number",
        "system product name",
        "system manufacturer",
        "system version",
        "system sku",
        "system sku number",
        "sku",
        "chassis serial number",
        "chassis manufacture",
        "chassis manufacturer",
        "chassis version",
        "base board serial number",
        "base board product name",
        "type2 - board serial number",
        "type2 - board product name",
        "type2 - board vendor name",
        "type1productconfigid",
        "type1family",
        "not specified",
        "not applicable",
        "not available",
        "none",
        "n/a",
        "na",
        "oem",
        "o.e.m.",
        "invalid",
        "empty",
        "unknown",
        "0123456789",
        "123456789",
        "1234567890",
    }
)
#: The AMI template UUID, shipped unchanged by many boards.
PLACEHOLDER_UUIDS = frozenset({"03000200-0400-0500-0006-000700080009"})
# Only zeros, F's, x's, dashes, dots or spaces: an unset serial or UUID.
_FILLER = re.compile(r"^[0fx .\-_]*$", re.IGNORECASE)


def clean_dmi(value: str | None) -> str | None:
    """A DMI string, or None when it is missing or a firmware placeholder."""
    if value is None:
        return None
    value = " ".join(value.split())
    if not value or value.lower() in PLACEHOLDERS or _FILLER.match(value):
        return None
    if "\ufffd" in value or not value.isprintable():  # undecodable bytes: unknown, not a name
        return None
    return value[:256]  # the report's ShortStr bound


def _uuid(value: str | None) -> str | None:
    value = clean_dmi(value)
    if value is None or value.lower() in PLACEHOLDER_UUIDS:
        return None
    return value.lower()


def _chassis_type(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        number = int(value.strip())
    except ValueError:
        return None
    # The top bit of the SMBIOS byte is the "chassis lock present" flag.
    return number & 0x7F if 0 <= number <= 255 else None


def chassis_type_name(number: int | None) -> str | None:
    return CHASSIS_TYPES.get(number) if number is not None else None


def read_raw_dmi(root: Path = ROOT) -> dict[str, str]:
    """Every readable file of /sys/class/dmi/id, verbatim (stripped)."""
    base = under(root, DMI_DIR)
    raw: dict[str, str] = {}
    for name in list_dir(base):
        path = base / name
        if path.is_symlink() or not path.is_file():
            continue
        text = read_text(path)
        if text is not None:
            raw[name] = text[:4096]
    return raw


def probe_dmi(root: Path = ROOT) -> DeviceIdentity:
    """The laptop's identity; every field None when the machine has no DMI (VMs, ARM)."""
    raw = read_raw_dmi(root)
    chassis = _chassis_type(raw.get("chassis_type"))
    return DeviceIdentity(
        vendor=clean_dmi(raw.get("sys_vendor")),
        product_name=clean_dmi(raw.get("product_name")),
        product_version=clean_dmi(raw.get("product_version")),
        product_family=clean_dmi(raw.get("product_family")),
        serial=clean_dmi(raw.get("product_serial")),
        uuid=_uuid(raw.get("product_uuid")),
        sku=clean_dmi(raw.get("product_sku")),
        chassis_type=chassis,
        chassis_type_name=chassis_type_name(chassis),
        chassis_vendor=clean_dmi(raw.get("chassis_vendor")),
        chassis_serial=clean_dmi(raw.get("chassis_serial")),
        board_vendor=clean_dmi(raw.get("board_vendor")),
        board_name=clean_dmi(raw.get("board_name")),
        board_serial=clean_dmi(raw.get("board_serial")),
        bios_vendor=clean_dmi(raw.get("bios_vendor")),
        bios_version=clean_dmi(raw.get("bios_version")),
        bios_date=clean_dmi(raw.get("bios_date")),
        raw_dmi=raw,
    )
