"""Draws one label as a black-and-white image: the tag in print, as Code 128 and as a QR code.

Bars are whole pixels at the output's resolution (no scaling after drawing), so a Code 128
module is never blurred across two dots: what the scanner reads is what was drawn.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import segno
from barcode import Code128
from PIL import Image, ImageDraw, ImageFont

MM_PER_INCH = 25.4
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
#: Code 128 wants a quiet zone of ten modules on each side.
QUIET_MODULES = 10


@dataclass(frozen=True)
class Label:
    """What one label says. ``lines`` are short facts under the tag (a finished laptop's)."""

    tag: str
    organisation: str = ""
    url: str = ""  # the QR code's content; the tag itself when empty
    lines: tuple[str, ...] = field(default_factory=tuple)


def px(mm: float, dpi: int) -> int:
    return round(mm / MM_PER_INCH * dpi)


def _font(size: int, *, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = FONT_DIR / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")
    try:
        return ImageFont.truetype(str(path), size)
    except OSError:  # fonts-dejavu-core missing: Pillow's own font still prints the tag
        return ImageFont.load_default(size)


def code128_modules(text: str) -> str:
    """The bar pattern ('1' = bar) of ``text`` as Code 128, with its check symbol."""
    modules: str = Code128(text).build()[0]
    return modules


def draw_qr(draw: ImageDraw.ImageDraw, qr: segno.QRCode, x: int, y: int, size: int) -> int:
    """Draw ``qr`` with whole-pixel modules and its quiet zone in ``size`` px; its width."""
    border = 4  # the quiet zone QR readers expect
    side = int(qr.symbol_size(border=border)[0])
    scale = max(1, size // side)
    for row, bits in enumerate(qr.matrix):
        for col, dark in enumerate(bits):
            if dark:
                left, top = x + (col + border) * scale, y + (row + border) * scale
                draw.rectangle((left, top, left + scale - 1, top + scale - 1), fill=0)
    return side * scale


def _fit_text(
    draw: ImageDraw.ImageDraw, text: str, width: int, height: int, *, bold: bool = False
) -> tuple[ImageFont.FreeTypeFont | ImageFont.ImageFont, int]:
    size = max(6, height)
    while size > 6:
        font = _font(size, bold=bold)
        left, _, right, _ = draw.textbbox((0, 0), text, font=font)
        if right - left <= width:
            return font, size
        size -= 1
    return _font(6, bold=bold), 6


def draw_label(label: Label, width_mm: float, height_mm: float, dpi: int = 300) -> Image.Image:
    """The label as a 1-bit image of ``width_mm`` x ``height_mm`` at ``dpi``."""
    width, height = px(width_mm, dpi), px(height_mm, dpi)
    img = Image.new("1", (width, height), 1)
    draw = ImageDraw.Draw(img)
    margin = px(2, dpi)
    # QR on the left, as tall as the label allows
    qr = segno.make_qr(label.url or label.tag, error="m")  # never Micro QR: phones cannot read it
    qr_size = min(height - 2 * margin, int(width * 0.38))
    qr_px = draw_qr(draw, qr, margin, (height - qr_size) // 2, qr_size)
    left = margin + qr_px + margin
    avail = width - left - margin
    y = margin
    if label.organisation:
        font, size = _fit_text(draw, label.organisation, avail, px(2.6, dpi))
        draw.text((left, y), label.organisation, font=font, fill=0)
        y += size + px(0.6, dpi)
    font, size = _fit_text(draw, label.tag, avail, px(5, dpi), bold=True)
    draw.text((left, y), label.tag, font=font, fill=0)
    y += size + px(1, dpi)
    line_h = px(2.4, dpi)
    bottom = height - margin - len(label.lines) * (line_h + px(0.4, dpi))
    modules = code128_modules(label.tag)
    unit = max(1, avail // (len(modules) + 2 * QUIET_MODULES))
    bars_w = unit * len(modules)
    x0 = left + (avail - bars_w) // 2
    bar_bottom = min(max(y + px(4, dpi), bottom), y + px(12, dpi))
    for i, bit in enumerate(modules):
        if bit == "1":
            draw.rectangle((x0 + i * unit, y, x0 + (i + 1) * unit - 1, bar_bottom - 1), fill=0)
    y = bar_bottom + px(0.4, dpi)
    for line in label.lines:
        font, _ = _fit_text(draw, line, avail, line_h)
        draw.text((left, y), line, font=font, fill=0)
        y += line_h + px(0.4, dpi)
    return img
