"""The resident's one-page helpdesk summary: written as PDF, rendered to PNG, read back."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from agent.grading import grade_report
from agent.helpdesk_summary import write_summary_pdf
from agent.policy import load_policy
from agent.report.samples import sample_report
from agent.report.schema import DiskVerdict, Mode, Report
from agent.runner import SystemRunner

WHEN = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)


def _visit() -> Report:
    report = sample_report(7, asset_tag="HD-0031").model_copy(
        update={"mode": Mode.CHECK, "erasures": [], "images": []}, deep=True
    )
    assert report.components.cpu is not None
    report.components.cpu.flags.append("lm")  # a 64-bit CPU
    health = report.components.disks[1].health
    assert health is not None
    health.verdict = DiskVerdict.FAILING
    report.grade = grade_report(report, load_policy())
    return report


def _text(pdf: Path) -> str:
    runner = SystemRunner()
    if runner.which("pdftotext") is None:
        pytest.fail("pdftotext missing: apt-get install poppler-utils")
    return runner.run(["pdftotext", "-layout", str(pdf), "-"], check=True).text


def test_dutch_summary_says_battery_and_disk_in_plain_words(tmp_path: Path) -> None:
    pdf = write_summary_pdf(_visit(), load_policy(), tmp_path / "HD-0031.pdf", when=WHEN)
    text = " ".join(_text(pdf).split())
    assert "Controle van uw laptop" in text
    assert "Laptop: LENOVO ThinkPad T480. Bezoek HD-0031, 04-12-2026." in text
    assert "De batterij is versleten: de capaciteit is 79 %, dus ze is sneller leeg." in text
    assert "De schijf (512 GB) is gezond." in text
    assert "De schijf (500 GB) gaat stuk: maak nu een reservekopie van uw bestanden." in text
    assert "16.0 GB werkgeheugen: genoeg voor dagelijks gebruik." in text
    assert "Op deze laptop draait het besturingssysteem van het programma." in text
    assert "Advies van de vrijwilliger" in text
    assert "uitlenen" not in text.lower() and "Digibank" not in text


def test_summary_renders_to_one_a4_png(tmp_path: Path) -> None:
    pdf = write_summary_pdf(
        _visit(), load_policy(), tmp_path / "s.pdf", advice="Back up your photos.", when=WHEN
    )
    runner = SystemRunner()
    runner.run(["pdftoppm", "-r", "50", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) == 1
    with Image.open(pages[0]) as image:
        assert image.format == "PNG"
        assert image.size == (414, 585)  # A4 (210 x 297 mm) at 50 dpi
        grey = image.convert("L")
        top, bottom = grey.crop((0, 0, 414, 60)), grey.crop((0, 500, 414, 585))
        assert min(top.getdata()) < 128  # the title is printed at the top...
        assert min(bottom.getdata()) == 255  # ...and all of it fits on the page


def test_english_summary_keeps_the_volunteers_own_words(tmp_path: Path) -> None:
    pdf = write_summary_pdf(
        _visit(),
        load_policy(),
        tmp_path / "en.pdf",
        language="en",
        advice="Back up your photos.",
        when=WHEN,
    )
    text = " ".join(_text(pdf).split())
    assert "The battery is worn: its capacity is 79 %, so it runs out sooner." in text
    assert "- Back up your photos." in text
    assert "replace disk" in text  # the grading's advice for the failing disk


def test_french_summary_says_battery_and_disk(tmp_path: Path) -> None:
    pdf = write_summary_pdf(_visit(), load_policy(), tmp_path / "fr.pdf", language="fr", when=WHEN)
    text = " ".join(_text(pdf).split())
    assert "Le bilan de votre ordinateur portable" in text
    assert "La batterie est usée : sa capacité est de 79 %" in text
    assert "Le disque (500 Go) est en train de lâcher" in text
    assert "Rien n'est à réparer" not in text  # the failing disk is advice
