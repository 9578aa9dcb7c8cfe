"""Labels drawn for sheets and tape decode back to their tag with a real barcode reader."""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from agent.asset_tags import TagRangeError, expand_range
from agent.labels.brother import find_printers, raster, tape_label
from agent.labels.draw import Label, draw_label

from .conftest import scan

FIXTURE = Path(__file__).parents[1] / "fixtures" / "labels"


def test_a_sheet_label_carries_the_tag_as_code128_and_qr(tmp_path: Path) -> None:
    img = draw_label(Label("DG-0001", "Digibank Antwerpen"), 63.5, 38.1, dpi=300)
    img.save(tmp_path / "label.png")
    assert scan(tmp_path / "label.png") == ["CODE-128:DG-0001", "QR-Code:DG-0001"]


def test_a_finished_laptops_tape_label_links_to_its_page(tmp_path: Path) -> None:
    label = Label(
        "DG-0042",
        "Digibank Antwerpen",
        url="https://digibench.example/devices/DG-0042/",
        lines=("Graad B · 8 GB RAM · 256 GB SSD", "Batterij 87 % · 2026-12-04"),
    )
    img = tape_label(label)
    assert img.width == 696  # exactly the printable dots of 62 mm tape
    img.save(tmp_path / "tape.png")
    assert scan(tmp_path / "tape.png") == [
        "CODE-128:DG-0042",
        "QR-Code:https://digibench.example/devices/DG-0042/",
    ]


@settings(max_examples=12, deadline=None)
@given(st.text(alphabet="ABCDEFGHJKLMNPRSTUVWXYZ0123456789-/.", min_size=1, max_size=16))
def test_any_reasonable_tag_scans_back(tag: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "label.png"
        draw_label(Label(tag), 63.5, 38.1).save(path)
        assert f"CODE-128:{tag}" in scan(path)


def _media_info(data: bytes) -> bytes:
    at = data.index(b"\x1biz")
    return data[at + 3 : at + 13]


def test_brother_raster_is_a_62mm_job_of_one_raster_line_per_dot_row() -> None:
    img = Image.open(FIXTURE / "tape-DG-0042.png")
    data = raster(img)
    assert data.startswith(b"\x00" * 200 + b"\x1b@")  # invalidate, then initialise
    info = _media_info(data)
    assert info[1] == 0x0A and info[2] == 62  # continuous tape, 62 mm wide
    assert int.from_bytes(info[4:8], "little") == img.height  # raster lines announced
    assert data.count(b"g\x00Z") == img.height  # one 90-byte raster line per dot row
    assert data.endswith(b"\x1a")  # print with feed
    assert data == (FIXTURE / "ql700-62mm-DG-0042.bin").read_bytes()


def test_brother_raster_decodes_back_to_the_label(tmp_path: Path) -> None:
    """brother_ql's reader (separate code from its writer) turns the job back into pixels,
    and the barcode on those pixels still reads DG-0042."""
    from brother_ql.reader import BrotherQLReader

    job = tmp_path / "job.bin"
    job.write_bytes(raster(Image.open(FIXTURE / "tape-DG-0042.png")))
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        with job.open("rb") as fh:
            BrotherQLReader(io.BufferedReader(fh)).analyse()  # type: ignore[arg-type]
    finally:
        os.chdir(cwd)
    pages = sorted(tmp_path.glob("label*.png"))
    assert len(pages) == 1
    assert "CODE-128:DG-0042" in scan(pages[0])


def test_brother_printers_are_found_by_usb_vendor(tmp_path: Path) -> None:
    for name, vendor, product in (("lp0", "04f9", "QL-700"), ("lp1", "03f0", "LaserJet")):
        usb = tmp_path / "sys" / "devices" / f"usb-{name}"
        (usb / "intf").mkdir(parents=True)
        (usb / "idVendor").write_text(vendor + "\n")
        (usb / "product").write_text(product + "\n")
        link = tmp_path / "sys" / "class" / "usbmisc" / name
        link.mkdir(parents=True)
        (link / "device").symlink_to(usb / "intf")
    found = find_printers(tmp_path)
    assert [(p.device.name, p.product) for p in found] == [("lp0", "QL-700")]
    assert find_printers(tmp_path / "nothing") == []


def test_tag_ranges_keep_prefix_and_padding() -> None:
    assert expand_range("DG-0098", "DG-0101") == ["DG-0098", "DG-0099", "DG-0100", "DG-0101"]
    assert expand_range("A7", "A7") == ["A7"]
    for first, last in (("DG-0002", "DG-0001"), ("DG-1", "XX-2"), ("DG", "DG"), ("A1", "A9999")):
        with pytest.raises(TagRangeError):
            expand_range(first, last)


def test_pdf_sheet_places_each_tag_in_its_slot(tmp_path: Path) -> None:
    """Printed at 300 dpi, each slot of the A4 sheet holds the next tag, readable as Code 128
    and as QR; ``skip`` leaves the first slot of a used sheet empty."""
    pytest.importorskip("fpdf")
    from server.web.labels import SHEETS, sheet_pdf

    sheet = SHEETS["L7160"]
    tags = expand_range("DG-0001", "DG-0023")  # 20 after the skipped slot, 3 on the next page
    pdf = tmp_path / "sheet.pdf"
    pdf.write_bytes(sheet_pdf([Label(t, "Digibank") for t in tags], sheet, skip=1))
    subprocess.run(["pdftoppm", "-r", "300", "-png", str(pdf), str(tmp_path / "page")],
                   check=True, timeout=120)  # fmt: skip
    pages = [Image.open(p) for p in sorted(tmp_path.glob("page*.png"))]
    assert len(pages) == 2

    def slot(page: int, index: int) -> list[str]:
        row, col = divmod(index, sheet.columns)
        mm = 300 / 25.4
        x, y = (sheet.left + col * sheet.pitch_x) * mm, (sheet.top + row * sheet.pitch_y) * mm
        crop = tmp_path / f"slot-{page}-{index}.png"
        pages[page].crop((round(x), round(y), round(x + sheet.width * mm),
                          round(y + sheet.height * mm))).save(crop)  # fmt: skip
        return scan(crop)

    assert slot(0, 0) == []  # the used position stays blank
    positions = [(0, i) for i in range(1, sheet.per_page)] + [(1, i) for i in range(3)]
    for tag, (page, index) in zip(tags, positions, strict=True):
        assert slot(page, index) == [f"CODE-128:{tag}", f"QR-Code:{tag}"], (tag, page, index)
