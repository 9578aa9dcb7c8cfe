"""Every page of the coordinator's web app in Dutch: no English sentence, no raw code.

Realistic data first (laptops with reasons and problems, an overridden grade, a
decided destination, notes, a destroyed disk, batches, a certificate, a loan),
then each page is rendered in Dutch and its visible text (raw tool output in
``<pre>`` aside: that is the laptop's, not ours) is checked against the raw
values of every enum the pages show and a small English stop-word detector.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from agent.report.schema import CheckKind, CheckOutcome, ErasureResult, Report
from agent.report.vocabulary import Destination, Grade
from server.ingest.models import SignatureStatus
from server.lending import service as lending
from server.lending.models import Borrower, Loan
from server.web.models import Batch, Certificate, DeviceStatus, ErasureState, Lending
from server.web.vocabulary import Decision
from tests.check_reports import with_every_check

#: raw values of the enums the pages show; none may appear as a word on a Dutch page
RAW_CODES = {
    *(g.value for g in Grade if g.value not in {"A", "B", "C"}),
    *(d.value for d in Destination),
    *Decision.values,
    *Lending.values,
    *ErasureState.values,
    *SignatureStatus.values,
    "healthy", "worn", "failing", "unknown", "good", "bad", "invalid",
    "erased", "erased_with_exceptions", "intake", "check", "pass", "fail", "skipped",
    "clear", "purge", "wipe", "disk", "unfinished", "overridden",
    "report.stored", "grade.overridden", "destination.decided", "note.added",
    "disk.destroyed", "batch.created", "batch.tags_added", "certificate.issued", "loan.created",
    "asset_tag", "old", "new", "reason",
    *(k.value for k in CheckKind if k.value not in {"camera", "touchpad"}),  # Dutch words too
    *(o.value for o in CheckOutcome), "block", "ignore",
}  # fmt: skip
#: words that are English and not Dutch (no "of", "is", "in", "door"...)
ENGLISH = {
    "the", "and", "with", "not", "has", "have", "was", "were", "this", "that", "which",
    "from", "are", "been", "without", "cannot", "should", "could", "would", "there", "their",
    "your", "you", "please", "failed", "passed", "decided", "proposed", "batch",
    "erasure", "grade", "report", "lending", "loan", "destination", "note", "serial", "stock",
    "returned", "lent", "repair", "recycle", "parts", "none",
}  # fmt: skip


#: report and certificate ids, SHA-256 sums: hex of 8 characters or more with a digit
HEX = re.compile(r"\b(?=[0-9a-f-]{8,}\b)(?=[0-9a-f-]*[0-9])[0-9a-f-]+\b")


class _Text(HTMLParser):
    """Visible text of a page: text nodes and option labels, minus raw output and code."""

    SKIP = frozenset({"pre", "script", "style", "code"})

    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self._skip += 1
        for name, value in attrs:
            if name in ("placeholder", "title", "aria-label") and value:
                self.chunks.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.chunks.append(data.strip())


def visible(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    return parser.chunks


def problems(html: str, allowed: set[str]) -> list[str]:
    found = []
    for chunk in visible(html):
        if chunk in allowed:
            continue
        # a token with a digit (a SHA-256, a serial, a model number) holds no word: "bad"
        # inside "...10bad18..." is a hash, not a raw code
        tokens = re.findall(r"[A-Za-z0-9_][A-Za-z0-9_.]*[A-Za-z0-9_]|[A-Za-z0-9]", chunk)
        words = [w for w in tokens if not any(c.isdigit() for c in w)]
        raw = [w for w in words if w in RAW_CODES]
        english = [w for w in words if w.lower() in ENGLISH]
        if raw or english:
            found.append(f"{chunk!r} (raw: {raw}, English: {english})")
    return found


def _graded(report: Report) -> None:
    """Reasons as the station's grading makes them: codes and facts from the catalogue."""
    from agent.report.reasons import reason

    assert report.grade is not None
    report.grade.reasons = [
        reason("grade.battery_worn", "warning", 79, battery="BAT0", health=79.0),
        reason("grade.ram_good", "info", 16, gib=16.0),
        reason("grade.test_keyboard", "info", test="keyboard", detail=""),
    ]
    report.grade.to_fix = []


def _failed(report: Report) -> None:
    _graded(report)
    report.erasures[0].result = ErasureResult.FAILED
    report.erasures[0].verification_passed = False


def _bad_battery(report: Report) -> None:
    from agent.report.reasons import reason

    assert report.grade is not None
    report.grade.grade = Grade.C
    report.grade.destination = Destination.REPAIR
    report.grade.reasons = [
        reason("grade.battery_bad", "error", 41, battery="BAT0", health=41.0),
        reason("grade.ram_ok", "warning", 8, gib=8.0),
    ]
    report.grade.to_fix = ["replace the battery"]


@pytest.fixture
def dataset(coordinator: User, store: Callable[..., DeviceStatus], settings: Any) -> dict[str, Any]:
    settings.LANGUAGE_CODE = "nl"
    client = Client(HTTP_ACCEPT_LANGUAGE="nl")
    client.force_login(coordinator)
    good = store(1, _graded)
    failed = store(2, _failed)
    battery = store(3, _bad_battery)
    overridden = store(4, _graded)
    for n in range(5, 9):
        store(n, _graded)
    client.post(f"/laptop/{overridden.pk}/grade", {"grade": "C", "reason": "scharnier gebroken"})
    client.post(f"/laptop/{good.pk}/destination", {"destination": "digibank", "reason": "golf 1"})
    client.post(f"/laptop/{battery.pk}/note", {"text": "lader ontbreekt"})
    client.post(
        f"/laptop/{failed.pk}/destruction",
        {"disk_serial": failed.last_run.disks.first().serial, "method": "geshredderd"},
    )
    client.post(
        "/batches/",
        {"donor": "Gemeente Gent", "received_on": "2026-11-02", "expected_count": 5,
         "sample_percent": 5},
    )  # fmt: skip
    batch = Batch.objects.get()
    client.post(f"/batches/{batch.pk}/tags", {"tags": "DG-000001..DG-000004\nDG-000099"})
    client.post(f"/laptop/{store(5, _graded).pk}/certificate")
    borrower = Borrower.objects.create(
        reference="DB-2026-001", name="Fatima El Amrani", consent=True
    )
    today = timezone.localdate()
    loan = lending.lend(
        good.device, coordinator, borrower=borrower, programme="digibank", wave=1,
        start=today, due=today + timedelta(days=90),
    )  # fmt: skip
    store(9, _graded, report_id=uuid.uuid4())
    store(11, with_every_check)  # a run with every check kind, failures of every sort
    return {
        "client": client,
        "laptops": list(DeviceStatus.objects.all()),
        "batch": batch,
        "loan": loan,
        "borrower": borrower,
        "certificate": Certificate.objects.first(),
    }


def _pages(data: dict[str, Any]) -> list[str]:
    batch, loan = data["batch"], data["loan"]
    pages = [
        "/", "/?period=all", "/?period=week", f"/?period=batch-{batch.pk}",
        "/devices/", "/devices/?problem=wipe", "/devices/?destination=undecided",
        "/batches/", f"/batches/{batch.pk}/", "/audit/", "/labels/",
        "/uitlenen/", f"/uitlenen/leningen/{loan.pk}/", "/uitlenen/ontleners/",
        f"/uitlenen/ontleners/{data['borrower'].pk}/", "/uitlenen/cijfers/",
    ]  # fmt: skip
    pages += [f"/laptop/{s.pk}/" for s in data["laptops"]]
    if data["certificate"] is not None:
        pages.append(f"/verify/{data['certificate'].id}/")
    return pages


def test_every_page_speaks_dutch(db: Any, dataset: dict[str, Any]) -> None:
    client: Client = dataset["client"]
    assert Loan.objects.exists() and dataset["certificate"] is not None
    # names and words that are the same in both languages or are the data's own
    allowed = {"Digibench", "JSON", "CSV", "XLSX", "SMART", "PDF", "OK"}
    failures = {}
    for url in _pages(dataset):
        response = client.get(url)
        assert response.status_code == 200, url
        found = problems(response.content.decode(), allowed)
        if found:
            failures[url] = found[:8]
    bulk = client.post(
        "/bulk/preview",
        {"scope": "filter", "filter": "", "action": "decide", "decision": "digileen"},
    )
    found = problems(bulk.content.decode(), allowed)
    if found:
        failures["/bulk/preview"] = found[:8]
    assert not failures, "\n".join(f"{u}: {f}" for u, f in failures.items())


def test_the_detector_finds_english_and_raw_codes() -> None:
    assert problems("<p>Battery BAT0 is bad (health 41 %)</p>", set())
    assert problems("<td>in_stock</td>", set())
    assert problems("<td>lend</td>", set())
    assert not problems("<p>Batterij BAT0 is slecht (gezondheid 41 %)</p>", set())
    assert not problems("<pre>smartctl passed</pre>", set())
    assert not problems("<td>SHA-256: e355d5828b32ac93517526c0385bad4a4c</td>", set())


def test_certificate_pdf_in_dutch_and_english_with_the_organisation(
    coord_client: Client, store: Callable[..., DeviceStatus], settings: Any, tmp_path: Path
) -> None:
    import subprocess

    settings.DIGIBENCH_ORGANISATION = "Digipunt Gent vzw"
    store(9)
    response = coord_client.post("/devices/DG-000009/certificate")
    pdf = coord_client.get(response["Location"]).content
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    assert "Digipunt Gent vzw" in text.splitlines()[0]
    assert "Certificaat van gegevenswissing" in text and "Certificate of data erasure" in text
    assert "Totaal: 1 laptops, 2 schijven" in text and "Totals: 1 laptops, 2 disks" in text
    assert "gewist / erased" in text and "geslaagd /" in text, text
    assert "Uitgereikt op" in text and "door Digipunt Gent vzw" in text

    def images(pdf: bytes) -> int:
        path = tmp_path / "c.pdf"
        path.write_bytes(pdf)
        listed = subprocess.run(
            ["pdfimages", "-list", str(path)], capture_output=True, check=True
        ).stdout.decode()
        return len(listed.splitlines()) - 2  # two heading lines

    from PIL import Image

    logo = tmp_path / "logo.png"
    Image.new("RGB", (120, 40), (0, 90, 140)).save(logo)
    settings.DIGIBENCH_ORGANISATION_LOGO = str(logo)
    cert = coord_client.post("/devices/DG-000009/certificate")
    with_logo = coord_client.get(cert["Location"]).content
    assert images(with_logo) == images(pdf) + 1


def messages_said(client: Client, store: Callable[..., DeviceStatus], donor: str) -> list[str]:
    """The messages five refused actions flash (a bad tag range, an early close, a decision
    without evidence, a grade without reason, an empty note), each once."""
    from django.contrib.messages import get_messages

    failed = store(2, _failed)
    client.post(
        "/batches/",
        {"donor": donor, "received_on": "2026-11-02", "expected_count": 5, "sample_percent": 5},
    )
    batch = Batch.objects.get()
    said = []
    for url, data in (
        (f"/batches/{batch.pk}/tags", {"tags": "DG-000010..XX-9"}),
        (f"/batches/{batch.pk}/close", {}),
        (f"/laptop/{failed.pk}/destination", {"destination": "digibank"}),
        (f"/laptop/{failed.pk}/grade", {"grade": "B", "reason": "x"}),
        (f"/laptop/{failed.pk}/note", {"text": " "}),
    ):
        response = client.post(url, data)
        said += [str(m) for m in get_messages(response.wsgi_request)]
    said = list(dict.fromkeys(said))
    assert len(said) == 5, said
    return said


def test_errors_and_messages_speak_dutch(
    coordinator: User, store: Callable[..., DeviceStatus], settings: Any
) -> None:
    settings.LANGUAGE_CODE = "nl"
    client = Client(HTTP_ACCEPT_LANGUAGE="nl")
    client.force_login(coordinator)
    said = messages_said(client, store, "Gemeente Gent")
    found = problems("".join(f"<p>{m}</p>" for m in said), set())
    assert not found, found
    assert any("Geen reeks inventarisnummers" in m for m in said), said
