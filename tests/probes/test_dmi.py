"""DMI identity from recorded /sys/class/dmi/id trees (converted from real dmidecode dumps)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from agent.probes.dmi import CHASSIS_TYPES, PORTABLE_CHASSIS, clean_dmi, probe_dmi

from .conftest import SYSROOTS

A485 = SYSROOTS / "dmi-thinkpad-a485"
E7470 = SYSROOTS / "dmi-latitude-e7470"


def test_thinkpad_a485_identity() -> None:
    ident = probe_dmi(A485)
    assert ident.vendor == "LENOVO"
    # Lenovo puts the machine type in product_name and the marketing name in version.
    assert ident.product_name == "20MUCTO1WW"
    assert ident.product_version == "ThinkPad A485"
    assert ident.product_family == "ThinkPad A485"
    assert ident.sku == "LENOVO_MT_20MU_BU_Think_FM_ThinkPad A485"
    assert (ident.chassis_type, ident.chassis_type_name) == (10, "Notebook")
    assert ident.chassis_type in PORTABLE_CHASSIS
    assert (ident.board_vendor, ident.board_name) == ("LENOVO", "20MUCTO1WW")
    assert (ident.bios_vendor, ident.bios_version, ident.bios_date) == (
        "LENOVO",
        "R0WET60W (1.28 )",
        "11/01/2019",
    )
    # serials and UUID are root-only files, absent from this (non-root) view
    assert ident.serial is None and ident.uuid is None and ident.board_serial is None
    assert ident.raw_dmi["chassis_version"] == "None"
    assert "product_serial" not in ident.raw_dmi


def test_latitude_e7470_identity_and_empty_strings() -> None:
    ident = probe_dmi(E7470)
    assert (ident.vendor, ident.product_name, ident.sku) == ("Dell Inc.", "Latitude E7470", "06DC")
    assert (ident.chassis_type, ident.chassis_type_name) == (9, "Laptop")
    assert ident.product_version is None  # SMBIOS string 0, an empty file in sysfs
    assert ident.board_name == "0T6HHJ"
    assert "product_version" not in ident.raw_dmi


def test_no_dmi_gives_empty_identity(tmp_path: Path) -> None:
    ident = probe_dmi(tmp_path)
    assert ident.model_dump(exclude={"raw_dmi"}) == {
        k: None for k in ident.model_dump(exclude={"raw_dmi"})
    }
    assert ident.raw_dmi == {}


def _tree_with(tmp_path: Path, **values: str) -> Path:
    root = tmp_path / "root"
    shutil.copytree(A485, root, symlinks=True)
    for name, value in values.items():
        (root / "sys/class/dmi/id" / name).write_text(value + "\n")
    return root


def test_placeholders_become_none_but_stay_in_raw(tmp_path: Path) -> None:
    root = _tree_with(
        tmp_path,
        product_serial="To be filled by O.E.M.",
        product_uuid="03000200-0400-0500-0006-000700080009",
        board_serial="Default string",
        chassis_serial="0123456789",
        product_sku="System SKU",
        product_family="   ",
    )
    ident = probe_dmi(root)
    assert ident.serial is None and ident.uuid is None and ident.board_serial is None
    assert ident.chassis_serial is None and ident.sku is None and ident.product_family is None
    assert ident.raw_dmi["product_serial"] == "To be filled by O.E.M."


def test_real_serial_and_uuid_kept(tmp_path: Path) -> None:
    root = _tree_with(
        tmp_path, product_serial="PF1ABCDE", product_uuid="4C4C4544-0042-3510-8052-B4C04F4D3132"
    )
    ident = probe_dmi(root)
    assert ident.serial == "PF1ABCDE"
    assert ident.uuid == "4c4c4544-0042-3510-8052-b4c04f4d3132"


@pytest.mark.parametrize(
    ("raw", "number", "name"),
    [("31", 31, "Convertible"), ("137", 9, "Laptop"), ("99", 99, None), ("x", None, None)],
)
def test_chassis_type_values(
    tmp_path: Path, raw: str, number: int | None, name: str | None
) -> None:
    ident = probe_dmi(_tree_with(tmp_path, chassis_type=raw))
    assert (ident.chassis_type, ident.chassis_type_name) == (number, name)


def test_unreadable_and_binary_files_are_skipped(tmp_path: Path) -> None:
    root = _tree_with(tmp_path)
    (root / "sys/class/dmi/id/product_name").write_bytes(b"\xff\xfe\x00bad")
    (root / "sys/class/dmi/id/power").mkdir()
    ident = probe_dmi(root)
    assert ident.product_name is None  # undecodable bytes: unknown, never a made-up name
    assert ident.raw_dmi["product_name"] == "\ufffd\ufffdbad"  # kept verbatim as evidence
    assert "power" not in ident.raw_dmi


def test_clean_dmi_and_table() -> None:
    assert clean_dmi("  HP  EliteBook  840 G5 ") == "HP EliteBook 840 G5"
    for junk in ("", "None", "N/A", "00000000", "FFFFFFFF", "xxxxxxxx", "System Serial Number"):
        assert clean_dmi(junk) is None, junk
    assert CHASSIS_TYPES[10] == "Notebook" and CHASSIS_TYPES[14] == "Sub Notebook"


def test_live_machine() -> None:
    ident = probe_dmi()
    dmi = Path("/sys/class/dmi/id")
    if not dmi.exists():  # this VM: no SMBIOS at all
        assert ident.raw_dmi == {} and ident.vendor is None
    else:
        assert ident.raw_dmi.get("sys_vendor") == ((dmi / "sys_vendor").read_text().strip() or None)
