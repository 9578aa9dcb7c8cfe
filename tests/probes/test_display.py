"""EDID parsing on real blobs from linuxhw/EDID, cross-checked with the edid-decode output
that travels in the same files, and the DRM connector probe on the laptop tree."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from agent.probes.display import parse_edid, probe_displays

from .conftest import SYSROOTS
from .make_laptop_sysroots import edid_bytes

LAPTOP = SYSROOTS / "laptop-devices"


def test_lg_display_13in_panel() -> None:
    edid = parse_edid(edid_bytes("lgd0217_lp133wh2_tla2_laptop_panel.txt"))
    assert edid is not None and edid.checksum_ok
    # edid-decode: "Manufacturer: LGD", "Model: 535",
    # "DTD 1: 1366x768 59.978 Hz ... (293 mm x 165 mm)"
    assert (edid.manufacturer, edid.product_code, edid.version) == ("LGD", 535, "1.3")
    assert edid.preferred_mode == "1366x768@59.98Hz"
    assert (edid.width_mm, edid.height_mm) == (293, 165)
    assert edid.name is None
    # "Alphanumeric Data String: 'LP133WH2-TLA2'"; the first one holds NULs edid-decode shows as ''
    assert edid.texts == ("LGDisplay", "LP133WH2-TLA2")
    assert edid.serial_number is None


def test_boe_edp_panel_edid_1_4() -> None:
    edid = parse_edid(edid_bytes("boe0868_laptop_panel_edp.txt"))
    assert edid is not None and edid.checksum_ok
    # edid-decode: "Manufacturer: BOE  Model: 2152", "DTD 1: 1920x1080 60.003 Hz (309 mm x 174 mm)"
    assert (edid.manufacturer, edid.product_code, edid.version) == ("BOE", 2152, "1.4")
    assert edid.preferred_mode == "1920x1080@60.00Hz"
    assert (edid.width_mm, edid.height_mm) == (309, 174)
    assert edid.name is None and edid.texts == ()


def test_dell_monitor_with_extension_block() -> None:
    data = edid_bytes("dell_u2415_hdmi_with_cta_extension.EXCERPT.txt")
    assert len(data) == 256
    edid = parse_edid(data)
    assert edid is not None and edid.checksum_ok
    # edid-decode: "Manufacturer: DEL Model a0bc", "Monitor name: DELL U2415",
    # "Detailed mode: Clock 154.000 MHz, 518 mm x 324 mm, 1920 ... 2080, 1200 ... 1235"
    assert (edid.manufacturer, edid.product_code) == ("DEL", 0xA0BC)
    assert edid.name == "DELL U2415"
    assert edid.serial_text == "CFV9N69N34ML"
    assert edid.preferred_mode == "1920x1200@59.95Hz"
    assert (edid.width_mm, edid.height_mm) == (518, 324)


@pytest.mark.parametrize(
    "blob", [b"", b"\x00" * 128, b"\x00\xff\xff\xff\xff\xff\xff\x00" + b"\x01" * 50, b"junk" * 64]
)
def test_not_an_edid(blob: bytes) -> None:
    assert parse_edid(blob) is None


def test_corrupt_edid_is_parsed_but_flagged() -> None:
    data = bytearray(edid_bytes("boe0868_laptop_panel_edp.txt"))
    data[127] ^= 0xFF
    edid = parse_edid(bytes(data))
    assert edid is not None and not edid.checksum_ok and edid.manufacturer == "BOE"


def test_laptop_connectors() -> None:
    displays = {d.connector: d for d in probe_displays(LAPTOP)}
    # disconnected external ports are left out; the panel and the connected monitor stay
    assert sorted(displays) == ["HDMI-A-1", "eDP-1"]
    panel = displays["eDP-1"]
    assert panel.internal and panel.status == "connected"
    assert (panel.manufacturer, panel.product_code, panel.preferred_mode) == (
        "BOE",
        2152,
        "1920x1080@60.00Hz",
    )
    monitor = displays["HDMI-A-1"]
    assert not monitor.internal and monitor.name == "DELL U2415"
    assert monitor.serial == "CFV9N69N34ML"


def test_dead_internal_panel_is_still_reported(tmp_path: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(LAPTOP, root, symlinks=True)
    (root / "sys/class/drm/card0-eDP-1/status").write_text("disconnected\n")
    (root / "sys/class/drm/card0-eDP-1/edid").write_bytes(b"")
    panel = {d.connector: d for d in probe_displays(root)}["eDP-1"]
    assert panel.status == "disconnected" and panel.internal and panel.manufacturer is None


def test_no_drm_at_all() -> None:
    assert probe_displays(SYSROOTS / "vm-virtio-loop") == []


def test_live_machine_connectors_exist() -> None:
    drm = Path("/sys/class/drm")
    live = probe_displays()
    if not drm.exists():
        assert live == []
    for display in live:
        assert any(p.name.endswith("-" + display.connector) for p in drm.iterdir())
