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
from agent.report.schema import (
    BatteryVerdict,
    DiskVerdict,
    Helpdesk,
    Mode,
    RefreshConfirmation,
    Report,
)
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
    assert "16,0 GB werkgeheugen: genoeg voor dagelijks gebruik." in text
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


def _policy_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(text)
    return path


def test_dutch_summary_says_how_long_the_battery_lasts_and_what_a_new_one_costs(
    tmp_path: Path,
) -> None:
    """Rendered to PNG (a page with print on it) and read back from the PDF's text layer."""
    pdf = write_summary_pdf(_visit(), load_policy(), tmp_path / "nl.pdf", when=WHEN)
    text = " ".join(_text(pdf).split())
    # 18.6 Wh now, 23.5 Wh new, at the shipped policy's 8 W: an estimate to the half hour
    assert (
        "Volgeladen gaat ze nu ongeveer 2,5 uur mee; met een nieuwe batterij ongeveer 3 uur "
        "(een schatting, bij 8 W gewoon gebruik)." in text
    )
    assert (
        "Een nieuwe batterij kost ongeveer 40-90 euro; de helpdesk plaatst ze in ongeveer "
        "5 werkdagen." in text
    )
    assert "De schijf (500 GB) gaat stuk: maak nu een reservekopie van uw bestanden." in text
    assert "Wat we aanraden" in text
    assert "Vervang de batterij (ongeveer 40-90 euro, 5 werkdagen)." in text
    assert "Vervang de schijf: maak eerst een kopie van uw bestanden." in text
    assert "Breng hem binnen voor een opfrissing" in text
    SystemRunner().run(
        ["pdftoppm", "-r", "50", "-png", "-singlefile", str(pdf), str(tmp_path / "nl")],
        check=True,
    )
    with Image.open(tmp_path / "nl.png") as image:
        assert image.size == (414, 585)
        grey = image.convert("L")
        assert min(grey.crop((0, 0, 414, 60)).getdata()) < 128  # the title...
        assert min(grey.crop((0, 500, 414, 585)).getdata()) == 255  # ...and it fits one page


def test_prices_and_turnaround_come_from_the_organisations_policy(tmp_path: Path) -> None:
    policy = load_policy(
        _policy_file(
            tmp_path,
            "[helpdesk]\ntypical_draw_w = 4.0\nbattery_price_low_eur = 55\n"
            "battery_price_high_eur = 120\nbattery_turnaround_days = 10\n",
        )
    )
    pdf = write_summary_pdf(_visit(), policy, tmp_path / "org.pdf", language="en", when=WHEN)
    text = " ".join(_text(pdf).split())
    assert "lasts about 4.5 hours now; with a new battery about 6 hours" in text
    assert "(an estimate, at 4 W of ordinary use)" in text
    assert "A new battery costs about 55-120 euros; the helpdesk fits it in about 10" in text


def test_a_healthy_laptop_is_kept_as_it_is(tmp_path: Path) -> None:
    report = _visit()
    for disk in report.components.disks:
        if disk.health is not None:
            disk.health.verdict = DiskVerdict.HEALTHY
    for battery in report.components.batteries:
        battery.verdict = BatteryVerdict.GOOD
        battery.health_percent = 95
    pdf = write_summary_pdf(report, load_policy(), tmp_path / "keep.pdf", when=WHEN)
    text = " ".join(_text(pdf).split())
    assert "Blijf de laptop gebruiken zoals hij is." in text
    assert "Een nieuwe batterij kost" not in text  # a good battery: no price to quote
    assert "met een nieuwe batterij ongeveer" in text  # the time is said all the same


def test_a_refresh_tells_the_resident_their_disks_were_erased_and_fits_one_page(
    tmp_path: Path,
) -> None:
    done = sample_report(7)
    report = _visit().model_copy(
        update={
            "erasures": done.erasures,
            "images": done.images,
            "helpdesk": Helpdesk(
                refresh=RefreshConfirmation(
                    files_gone_understood=True, copy_made=True, confirmed_at=WHEN
                )
            ),
        }
    )
    pdf = write_summary_pdf(
        report, load_policy(), tmp_path / "r.pdf", advice="Tot ziens.", when=WHEN
    )
    text = " ".join(_text(pdf).split())
    assert "Opfrissing" in text
    assert text.count("is gewist op") == len(done.erasures) >= 1
    assert "Het besturingssysteem van het programma is geïnstalleerd." in text
    SystemRunner().run(
        ["pdftoppm", "-r", "50", "-png", "-singlefile", str(pdf), str(tmp_path / "r")], check=True
    )
    with Image.open(tmp_path / "r.png") as image:
        assert min(image.convert("L").crop((0, 560, 414, 585)).getdata()) == 255  # one page
