"""The gettext catalogs: compiled .mo files current, Dutch complete, placeholders kept."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from agent.tui import i18n

from .test_reasons import reason_msgids

TUI = Path(i18n.__file__).parent


def _po(language: str):  # type: ignore[no-untyped-def]
    with (TUI / "locale" / language / "LC_MESSAGES" / "digibench.po").open("rb") as fh:
        return read_po(fh, locale=language)


def _source_msgids() -> set[str]:
    """The screens' own texts (and the station label's), and the core's reason wordings the
    screens show by code."""
    found = [
        entry
        for folder in (TUI, TUI.parent / "labels", TUI.parent / "uplink")
        for entry in extract_from_dir(str(folder), keywords={"_": None, "N_": None})
    ]
    return {message for _file, _line, message, _comments, _ctx in found} | reason_msgids()


@pytest.mark.parametrize("language", i18n.DOCUMENT_LANGUAGES)
def test_mo_files_are_compiled_from_the_current_po(language: str) -> None:
    catalog = _po(language)
    with (TUI / "locale" / language / "LC_MESSAGES" / "digibench.mo").open("rb") as fh:
        compiled = gettext.GNUTranslations(fh)
    expected = {m.id: m.string for m in catalog if m.id and m.string}
    got = {k: v for k, v in compiled._catalog.items() if k}  # type: ignore[attr-defined]
    assert got == expected, "run `make i18n`"


def test_every_screen_text_has_a_dutch_translation() -> None:
    dutch = {m.id: m.string for m in _po("nl") if m.id}
    sources = _source_msgids()
    assert len(sources) > 80
    missing = sorted(s for s in sources if not dutch.get(s))
    assert missing == []
    stale = sorted(set(dutch) - sources)
    assert stale == []


def test_translations_keep_their_placeholders() -> None:
    for language in i18n.DOCUMENT_LANGUAGES:
        for message in _po(language):
            if message.id and message.string:
                fields = re.findall(r"\{[a-z_]+[^}]*\}", message.id)
                assert sorted(fields) == sorted(re.findall(r"\{[a-z_]+[^}]*\}", message.string))


def test_language_switch_and_fallback() -> None:
    assert i18n.set_language("nl") == "nl"
    assert i18n._("Cancel") == "Annuleren"
    assert i18n.next_language() == "en"
    i18n.set_language("en")
    assert i18n._("Cancel") == "Cancel"
    assert i18n._("Other language") == "Nederlands"  # F9 names where it goes, in its words
    assert i18n.set_language("de") == "nl"  # unknown: the station's default
    # French exists for the resident's paper (helpdesk summary), not for the screens
    assert i18n.set_language("fr") == "fr" and i18n.next_language() == "nl"
    i18n.set_language("nl")
