"""Reading a printed page back as a person would: the PDF rendered to pixels (poppler's
pdftoppm) and those pixels read by OCR (Debian's tesseract-ocr), so a test checks what is
drawn on the page, not only the text layer that pdftotext extracts.

A missing tool skips with its install hint; under ``DIGIBENCH_STRICT=1`` that skip fails the
run (tests/conftest.py), as for zbarimg.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

#: high enough that tesseract reads the agreement's 9-10 pt text without confusing 0 and O
DPI = 200


def _need(tool: str, package: str) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (apt-get install {package}; make setup)")


def render(pdf: Path, prefix: Path, dpi: int = DPI) -> list[Path]:
    """Every page of ``pdf`` as a PNG next to ``prefix``, in page order."""
    _need("pdftoppm", "poppler-utils")
    subprocess.run(
        ["pdftoppm", "-png", "-r", str(dpi), str(pdf), str(prefix)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    pages = sorted(prefix.parent.glob(f"{prefix.name}-*.png"))
    assert pages, f"pdftoppm made no page from {pdf}"
    return pages


def read(png: Path) -> str:
    """The text tesseract reads on ``png`` (one uniform block of text per page)."""
    _need("tesseract", "tesseract-ocr")
    out = subprocess.run(
        ["tesseract", str(png), "-", "--psm", "6"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def words(text: str) -> str:
    """``text`` with runs of white space made one space: a tag split over a line stays one."""
    return re.sub(r"\s+", " ", text)


def pdf_pages(pdf: Path, prefix: Path) -> list[str]:
    """What OCR reads on each page of ``pdf``."""
    return [words(read(page)) for page in render(pdf, prefix)]
