"""Console-safe drawing and plain-language texts, without a terminal."""

from __future__ import annotations

import pytest

from agent.report.schema import BatteryVerdict, DiskVerdict, Mode
from agent.tui import i18n
from agent.tui.glyphs import big_text, qr_lines
from agent.tui.keyboards import BE_LATIN1
from agent.tui.screens.start import check_tag
from agent.tui.text import disk_label, health_summary, human_bytes, human_duration

from .conftest import console_safe, inspected_report


def test_big_grade_letters() -> None:
    lines = big_text("B")
    assert lines is not None and len(lines) == 5
    assert big_text("recycle") is not None
    assert big_text("parts") is not None
    assert big_text("B", widen=2) == ["".join(c * 2 for c in row) for row in lines]
    assert big_text("Z9") is None  # no glyph: the screen falls back to plain text
    assert console_safe("\n".join(big_text("RECYCLE") or [])) == set()


def test_qr_code_is_console_safe_and_decodes_to_its_size() -> None:
    url = "http://digibench.local:8000/devices/DG-000042/"
    lines = qr_lines(url)
    assert console_safe("\n".join(lines)) == set()
    width = len(lines[0])
    assert all(len(line) == width for line in lines)
    # version 3 (29 modules) + 2 quiet modules each side; 2 module rows per line
    assert width == 33 and len(lines) == 17
    assert lines[0].strip() == ""  # quiet zone


def test_belgian_azerty_map() -> None:
    rows = [" ".join(k.label for k in row) for row in BE_LATIN1.rows]
    assert rows[0].startswith("² & é \" ' ( § è ! ç à ) -")
    assert rows[1].startswith("Tab a z e r t y")
    assert rows[2].startswith("q s d f g h j k l m")
    assert rows[3].startswith("< w x c v b n , ; : =")
    assert BE_LATIN1.match("1", "1") is BE_LATIN1.match("ampersand", "&")
    assert BE_LATIN1.match("f2", None) is None


@pytest.mark.parametrize(
    ("raw", "tag", "ok"),
    [
        ("  DG-0042\t", "DG-0042", True),
        ("", "", False),
        ("   ", "", False),
        ("x" * 65, "x" * 65, False),
        ("DG\x1b1", "DG\x1b1", False),
    ],
)
def test_asset_tag_check(raw: str, tag: str, ok: bool) -> None:
    got, error = check_tag(raw)
    assert got == tag
    assert (error is None) is ok


def test_sizes_and_times() -> None:
    assert human_bytes(512_110_190_592) == "512 GB"
    i18n.set_language("nl")
    assert human_bytes(32_017_047_552) == "32,0 GB"  # the Dutch decimal comma
    assert i18n.number(1234.5, ",.1f") == "1.234,5"  # and its thousands point
    i18n.set_language("en")
    assert human_bytes(32_017_047_552) == "32.0 GB"
    assert human_bytes(None) == "?"
    assert human_duration(200) == "03:20"
    assert human_duration(3725) == "1:02:05"
    assert human_duration(None) == "--:--"


def test_disk_label_names_model_serial_size() -> None:
    disk = inspected_report().components.disks[0]
    assert disk_label(disk) == "SAMSUNG MZVLB512HAJQ-000L7 / S4EUNX0M0000007 / 512 GB"


def test_health_summary_in_plain_words() -> None:
    i18n.set_language("en")
    report = inspected_report(mode=Mode.CHECK)
    disk = report.components.disks[1]
    assert disk.health is not None
    disk.health.verdict = DiskVerdict.FAILING
    report.components.batteries[0].verdict = BatteryVerdict.BAD
    lines = health_summary(report)
    assert any("is failing: copy your files off it today" in line for line in lines)
    assert any("new battery" in line for line in lines)
    assert any("16 GiB of memory is enough" in line for line in lines)
    i18n.set_language("nl")
    assert any("gaat stuk" in line for line in health_summary(report))
