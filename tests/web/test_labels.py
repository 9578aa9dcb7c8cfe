"""The labels page: Dutch form, PDF sheets and Brother QL raster for a range or a batch."""

from __future__ import annotations

import datetime
import subprocess
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.test import Client

from server.web import batches
from server.web.models import Batch
from tests.labels.conftest import scan


def _dutch(user: User) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="nl")
    client.force_login(user)
    return client


def test_the_labels_page_is_dutch_and_linked_from_every_page(coordinator: User) -> None:
    coord_client = _dutch(coordinator)
    page = coord_client.get("/labels/").content.decode()
    assert "Etiketten met inventarisnummer" in page
    assert "A4-etiketvel (PDF)" in page and "Brother QL-labelprinter" in page
    assert 'href="/labels/"' in coord_client.get("/").content.decode()


def test_a_tag_range_gives_a_pdf_whose_labels_scan(coord_client: Client, tmp_path: Path) -> None:
    answer = coord_client.get("/labels/labels", {"first": "DG-0009", "last": "DG-0011"})
    assert answer.status_code == 200 and answer["Content-Type"] == "application/pdf"
    assert 'filename="labels-DG-0009-DG-0011.pdf"' in answer["Content-Disposition"]
    (tmp_path / "l.pdf").write_bytes(answer.content)
    subprocess.run(["pdftoppm", "-r", "300", "-png", str(tmp_path / "l.pdf"),
                    str(tmp_path / "p")], check=True, timeout=120)  # fmt: skip
    found = [s for p in sorted(tmp_path.glob("p*.png")) for s in scan(p)]
    assert sorted(s for s in found if s.startswith("CODE-128")) == [
        "CODE-128:DG-0009",
        "CODE-128:DG-0010",
        "CODE-128:DG-0011",
    ]


def test_a_batch_gives_brother_raster_with_a_label_per_tag(
    coord_client: Client, coordinator: User
) -> None:
    batch = Batch.objects.create(
        donor="Stad Antwerpen", received_on=datetime.date(2026, 11, 2), created_by=coordinator
    )
    batches.add_tags(batch, "AB-01..AB-04", coordinator)
    answer = coord_client.get("/labels/labels", {"batch": str(batch.pk), "format": "ql"})
    assert answer.status_code == 200
    assert answer.content.startswith(b"\x00" * 200 + b"\x1b@")
    assert answer.content.count(b"\x1biz") == 4  # one media/page header per label


def test_bad_requests_get_a_dutch_sentence_not_an_error_page(coordinator: User) -> None:
    coord_client = _dutch(coordinator)
    cases = [
        ({"first": "DG-0005", "last": "DG-0001"}, "het eerste eerst"),
        ({"first": "DG-1", "last": "XX-9"}, "hetzelfde begin"),
        ({"first": "A0001", "last": "A9999"}, "hoogstens 2000 etiketten"),
        ({}, "Geef een eerste inventarisnummer"),
        ({"batch": "99999999999999999999"}, "Onbekende donatie"),
        ({"batch": "12345"}, "Onbekende donatie"),
        ({"first": "A1", "format": "zpl"}, "Onbekend etiketformaat"),
        ({"first": "A1", "skip": "21"}, "eerste vrije plaats"),
        ({"first": "A1", "skip": "-1"}, "eerste vrije plaats"),
    ]
    for params, words in cases:
        answer = coord_client.get("/labels/labels", params)
        assert answer.status_code == 400, params
        assert words in answer.content.decode(), (params, answer.content)


def test_labels_need_a_login(client: Client, db: Any) -> None:
    assert client.get("/labels/labels", {"first": "A1"}).status_code == 302
