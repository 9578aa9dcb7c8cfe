"""The Dutch catalogue: compiled .mo in step with the .po, and used by the pages."""

from __future__ import annotations

import gettext
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po
from django.test import Client

LOCALE = Path(__file__).resolve().parents[2] / "server" / "web" / "locale"


def test_mo_matches_po():
    with (LOCALE / "nl/LC_MESSAGES/django.po").open("rb") as fh:
        catalog = read_po(fh)
    with (LOCALE / "nl/LC_MESSAGES/django.mo").open("rb") as fh:
        compiled = gettext.GNUTranslations(fh)
    entries = [m for m in catalog if m.id]
    assert len(entries) > 100
    for message in entries:
        assert message.string, f"untranslated: {message.id!r}"
        if isinstance(message.id, tuple):  # singular and plural
            one, other = message.id[0], message.id[1]
            got = (compiled.ngettext(one, other, 1), compiled.ngettext(one, other, 2))
            assert got == tuple(message.string), "run `make i18n`"
        else:
            assert compiled.gettext(str(message.id)) == message.string, "run `make i18n`"


def test_pages_speak_dutch_by_default_and_english_on_request(
    client: Client, coordinator: Any, settings: Any
):
    settings.LANGUAGE_CODE = "nl"
    dutch = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="").content.decode()
    assert "Inloggen" in dutch and "Gebruikersnaam" in dutch
    english = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Log in" in english and "User name" in english
    client.force_login(coordinator)
    client.post("/i18n/setlang/", {"language": "nl", "next": "/devices/"})
    assert "Inventarisnummer" in client.get("/devices/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
