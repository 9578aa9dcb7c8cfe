"""Every page of the coordinator's web app in French: no Dutch or English sentence, no raw code.

The same realistic data as the Dutch check (tests/web/test_dutch_pages.py), with
French chosen the way a coordinator chooses it: the language menu in the header
posts to /i18n/setlang/. The visible text is then checked against the raw enum
values and two small stop-word detectors, one for English and one for Dutch
(words that are not also French: "de", "en" and "destination" are both).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po
from django.contrib.auth.models import User
from django.test import Client

from server.web.models import DeviceStatus
from tests.web import test_dutch_pages as dutch
from tests.web.test_dutch_pages import ENGLISH, HEX, RAW_CODES, _pages, visible

#: the fixture with the Dutch check's laptops, batch, certificate and loan
dataset = dutch.dataset

ROOT = Path(__file__).resolve().parents[2]

#: English words that are not French ("destination", "note" and "parts" are both)
ENGLISH_NOT_FRENCH = (ENGLISH - {"destination", "note", "parts"}) | {
    "laptop", "laptops", "disk", "disks", "wipe", "wiped", "battery", "erased", "verified",
    "signed", "unknown", "healthy", "worn", "health", "tag", "tags", "asset", "serial",
    "checked", "check", "shorter", "runtime", "enough", "plenty", "memory", "tested",
}  # fmt: skip
#: Dutch words that are neither French nor the test data's own (no "de", "en", "in")
DUTCH = {
    "het", "een", "niet", "geen", "nog", "voor", "met", "wordt", "worden", "naar", "deze",
    "dit", "bij", "uit", "zijn", "van", "ook", "tot", "wat", "wie", "schijf", "schijven",
    "gewist", "wissen", "donatie", "donaties", "graad", "bestemming", "uitlenen",
    "uitgeleend", "inventarisnummer", "inventarisnummers", "geslaagd", "mislukt", "beslist",
    "voorstel", "ontvangen", "gezond", "versleten", "nee", "ja", "batterij", "herstelling",
    "onderdelen", "teruggebracht", "lening", "leningen", "ontlener", "ontleners",
    "toestemming", "handtekening", "geldig", "overzicht", "aantallen", "notitie", "notities",
    "opmerking", "gezondheid", "slecht", "goed", "onbekend", "werkbank", "etiketten",
    "afmelden", "zoeken", "filteren", "wanneer", "waarom", "toevoegen", "aanpassen",
    "beslissen", "vastleggen", "geschiedenis", "certificaat", "uitgereikt", "partij",
}  # fmt: skip


def problems_fr(html: str, allowed: set[str]) -> list[str]:
    """Chunks of visible text that show a raw code, an English or a Dutch word."""
    found = []
    for chunk in visible(html):
        if chunk in allowed:
            continue
        words = re.findall(r"[A-Za-z_][A-Za-z_.]*[A-Za-z_]|[A-Za-z]", HEX.sub("", chunk))
        raw = [w for w in words if w in RAW_CODES]
        english = [w for w in words if w.lower() in ENGLISH_NOT_FRENCH]
        dutch = [w for w in words if w.lower() in DUTCH]
        if raw or english or dutch:
            found.append(f"{chunk!r} (raw: {raw}, English: {english}, Dutch: {dutch})")
    return found


def _to_french(client: Client) -> None:
    """Choose French as a coordinator does: the header's language menu."""
    page = client.get("/").content.decode()
    buttons = re.findall(r'<button name="language" value="(\w+)"[^>]*aria-label="([^"]+)"', page)
    assert buttons == [("nl", "Nederlands"), ("fr", "Français"), ("en", "English")], buttons
    response = client.post("/i18n/setlang/", {"language": "fr", "next": "/devices/"})
    assert response.status_code == 302 and response["Location"] == "/devices/"


def test_every_page_speaks_french(db: Any, dataset: dict[str, Any]) -> None:
    client: Client = dataset["client"]
    _to_french(client)
    # names and words that are the same in every language, or the data's own
    allowed = {
        "Digibench", "JSON", "CSV", "XLSX", "SMART", "PDF", "OK", "Nederlands", "English",
        "Gemeente Gent", "scharnier gebroken", "golf 1", "lader ontbreekt", "geshredderd",
    }  # fmt: skip
    failures = {}
    for url in _pages(dataset):
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert '<html lang="fr">' in html, url
        found = problems_fr(html, allowed)
        if found:
            failures[url] = found[:8]
    bulk = client.post(
        "/bulk/preview",
        {"scope": "filter", "filter": "", "action": "decide", "decision": "digileen"},
    )
    found = problems_fr(bulk.content.decode(), allowed)
    if found:
        failures["/bulk/preview"] = found[:8]
    assert not failures, "\n".join(f"{u}: {f}" for u, f in failures.items())


def test_the_french_detector_finds_dutch_english_and_raw_codes() -> None:
    assert problems_fr("<p>Batterij BAT0 is slecht (gezondheid 41 %)</p>", set())
    assert problems_fr("<p>Battery BAT0 is bad (health 41 %)</p>", set())
    assert problems_fr("<td>in_stock</td>", set())
    assert not problems_fr("<p>La batterie BAT0 est usée (état 79 %)</p>", set())
    assert not problems_fr("<p>Affectation : prêt Digibank ; remarque ajoutée</p>", set())
    assert not problems_fr("<td>rapport 428d6bad-8586-4818-ba5d-c7e8538fc4f5</td>", set())
    assert not problems_fr("<td>rapport 428d6bad</td>", set())
    assert problems_fr("<td>bad</td>", set())


def test_errors_and_messages_speak_french(
    coordinator: User, store: Callable[..., DeviceStatus], settings: Any
) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="fr")
    client.force_login(coordinator)
    said = dutch.messages_said(client, store, "Commune d'Ixelles")
    found = problems_fr("".join(f"<p>{m}</p>" for m in said), set())
    assert not found, found
    assert any("Pas une plage de numéros d'inventaire" in m for m in said), said


def _catalogue(path: Path) -> Any:
    with path.open("rb") as fh:
        return read_po(fh)


def test_every_dutch_msgid_has_its_french() -> None:
    """Each Django catalogue with a Dutch .po has a French one that translates every msgid."""
    dutch = sorted(ROOT.glob("server/*/locale/nl/LC_MESSAGES/django.po"))
    assert len(dutch) >= 3
    for nl_path in dutch:
        fr_path = nl_path.parents[2] / "fr" / "LC_MESSAGES" / "django.po"
        assert fr_path.is_file(), f"no French catalogue next to {nl_path}"
        french = _catalogue(fr_path)
        missing = [
            m.id
            for m in _catalogue(nl_path)
            if m.id and (french.get(m.id) is None or not all(_strings(french.get(m.id))))
        ]
        assert not missing, f"{fr_path.relative_to(ROOT)} lacks: {missing[:10]}"


def _strings(message: Any) -> tuple[str, ...]:
    return message.string if isinstance(message.string, tuple) else (message.string,)


def test_french_mo_matches_po() -> None:
    import gettext

    for po in sorted(ROOT.glob("server/*/locale/fr/LC_MESSAGES/django.po")):
        with po.with_suffix(".mo").open("rb") as fh:
            compiled = gettext.GNUTranslations(fh)
        for message in _catalogue(po):
            if not message.id:
                continue
            if isinstance(message.id, tuple):
                one, other = message.id[0], message.id[1]
                got = (compiled.ngettext(one, other, 1), compiled.ngettext(one, other, 2))
                assert got == tuple(message.string), f"{po}: run `make i18n`"
            else:
                assert compiled.gettext(message.id) == message.string, f"{po}: run `make i18n`"


def test_certificate_pdf_in_french_then_dutch_and_english_for_a_french_reader(
    coordinator: User, store: Callable[..., DeviceStatus], settings: Any
) -> None:
    import subprocess

    settings.DIGIBENCH_ORGANISATION = "CPAS de Saint-Gilles"
    client = Client()
    client.force_login(coordinator)
    client.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    store(9)
    response = client.post("/devices/DG-000009/certificate")
    pdf = client.get(response["Location"]).content
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    assert "CPAS de Saint-Gilles" in lines[0]
    title = lines.index("Certificat d'effacement des données")
    assert lines[title + 1 : title + 3] == [
        "Certificaat van gegevenswissing",
        "Certificate of data erasure",
    ]
    assert "Total : 1 ordinateurs portables, 2 disques" in text
    assert "Totaal: 1 laptops, 2 schijven" in text and "Totals: 1 laptops, 2 disks" in text
    assert "effacé / gewist /" in text and "réussi / geslaagd" in text, text
    assert "Délivré le" in text and "par CPAS de Saint-Gilles" in text
    # Dutch stays the default: the same certificate for a Dutch reader is Dutch and English
    dutch = Client()
    dutch.force_login(coordinator)
    again = dutch.get(response["Location"], HTTP_ACCEPT_LANGUAGE="nl").content
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=again, capture_output=True, check=True
    ).stdout.decode()
    assert "gewist / erased" in text and "effacé" not in text


def test_the_dates_stay_in_brussels_time_in_french(
    db: Any, dataset: dict[str, Any], settings: Any
) -> None:
    from django.utils import timezone

    assert settings.TIME_ZONE == "Europe/Brussels"
    client: Client = dataset["client"]
    _to_french(client)
    body = client.get(f"/verify/{dataset['certificate'].id}/").content.decode()
    issued = timezone.localtime(dataset["certificate"].issued_at)
    assert issued.strftime("%Y-%m-%d") in body or issued.strftime("%d/%m/%Y") in body, body
