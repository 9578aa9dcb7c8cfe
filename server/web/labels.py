"""Asset-tag labels from the web UI: A4 label sheets as PDF, Brother QL tape as raster.

Each label carries the tag in print, as Code 128 (what the bench's barcode scanner reads)
and as a QR code, with the organisation's name; drawn once by :mod:`agent.labels.draw`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from django.conf import settings
from fpdf import FPDF

from agent.labels.brother import raster_pages, tape_label
from agent.labels.draw import Label, draw_label


@dataclass(frozen=True)
class Sheet:
    """A common A4 label sheet: label size, grid and where the first label sits (mm)."""

    name: str
    columns: int
    rows: int
    width: float
    height: float
    left: float
    top: float
    pitch_x: float
    pitch_y: float

    @property
    def per_page(self) -> int:
        return self.columns * self.rows


SHEETS = {
    "L7160": Sheet("Avery L7160 (3 x 7, 63,5 x 38,1 mm)", 3, 7, 63.5, 38.1, 7.2, 15.15, 66.0, 38.1),
    "L7163": Sheet(
        "Avery L7163 (2 x 7, 99,1 x 38,1 mm)", 2, 7, 99.1, 38.1, 4.65, 15.15, 101.6, 38.1
    ),
}
DEFAULT_SHEET = "L7160"


def organisation() -> str:
    return str(getattr(settings, "DIGIBENCH_ORGANISATION", "") or "Digibench")


def tag_labels(tags: list[str]) -> list[Label]:
    org = organisation()
    return [Label(tag=tag, organisation=org) for tag in tags]


def sheet_pdf(labels: list[Label], sheet: Sheet, *, skip: int = 0) -> bytes:
    """The labels laid out on A4 sheets; ``skip`` leaves the first positions (a used sheet)."""
    pdf = FPDF(unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_title("Digibench labels")
    for i, label in enumerate(labels, start=skip):
        slot = i % sheet.per_page
        if slot == 0 or pdf.page == 0:
            pdf.add_page()
        row, col = divmod(slot, sheet.columns)
        image = draw_label(label, sheet.width, sheet.height, dpi=300).convert("L")
        pdf.image(
            image,
            x=sheet.left + col * sheet.pitch_x,
            y=sheet.top + row * sheet.pitch_y,
            w=sheet.width,
            h=sheet.height,
        )
    return bytes(pdf.output())


def tape_raster(labels: list[Label]) -> bytes:
    """Brother QL raster, one cut 62 mm label per tag."""
    return raster_pages([tape_label(label) for label in labels])


def png_bytes(label: Label) -> bytes:
    buf = io.BytesIO()
    tape_label(label).save(buf, format="PNG")
    return buf.getvalue()
