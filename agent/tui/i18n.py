"""Dutch and English for the station screens, through gettext catalogs.

Message ids are the English text. The catalogs live next to this module
(``locale/<lang>/LC_MESSAGES/digibench.mo``, compiled from the ``.po`` sources
by ``make i18n``; a test checks the ``.mo`` files are current). The language is
process-wide because one station shows one screen to one volunteer.
"""

from __future__ import annotations

import gettext
from collections.abc import Mapping
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

DOMAIN = "digibench"
LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("nl", "en")
#: the screens' languages and those of papers handed to residents (the helpdesk summary)
DOCUMENT_LANGUAGES = ("nl", "fr", "en")

_catalogs: dict[str, gettext.NullTranslations] = {}
_current = "nl"


def _catalog(language: str) -> gettext.NullTranslations:
    if language not in _catalogs:
        _catalogs[language] = gettext.translation(
            DOMAIN, localedir=LOCALE_DIR, languages=[language], fallback=True
        )
    return _catalogs[language]


def set_language(language: str) -> str:
    """Switch the language (screens: nl/en; papers also fr); anything unknown is Dutch."""
    global _current
    _current = language if language in DOCUMENT_LANGUAGES else "nl"
    return _current


def language() -> str:
    return _current


def next_language() -> str:
    """The language the switch key moves to."""
    if _current not in LANGUAGES:
        return LANGUAGES[0]
    return LANGUAGES[(LANGUAGES.index(_current) + 1) % len(LANGUAGES)]


def _(message: str) -> str:
    """Translate ``message`` (English) into the current language."""
    return _catalog(_current).gettext(message)


def N_(message: str) -> str:
    """Mark ``message`` for the catalog; it is translated later, where it is shown."""
    return message


def ngettext(singular: str, plural: str, n: int) -> str:
    return _catalog(_current).ngettext(singular, plural, n)


#: languages that write a decimal comma (2,5 uur; 2,5 heures)
_DECIMAL_COMMA = frozenset({"nl", "fr"})
_SWAP_SIGNS = str.maketrans(",.", ".,")


class _Fraction(float):
    """A fact with a fraction, written as its language writes it: "2,5" in Dutch."""

    comma = False

    def __format__(self, spec: str) -> str:
        text = float.__format__(self, spec)
        # both signs swap: a grouped "1,234.5" becomes "1.234,5", as Dutch writes it
        return text.translate(_SWAP_SIGNS) if self.comma else text


def _fraction(value: float, language: str | None) -> _Fraction:
    fraction = _Fraction(value)
    fraction.comma = (language or _current) in _DECIMAL_COMMA
    return fraction


def facts(params: Mapping[str, T], language: str | None = None) -> dict[str, T | float]:
    """``params`` ready for ``str.format`` in ``language`` (default: the screen's): every
    float (not an int, not a word) written with its decimal sign, whatever the spec."""
    return {k: _fraction(v, language) if isinstance(v, float) else v for k, v in params.items()}


def number(value: float, spec: str) -> str:
    """``format(value, spec)`` with the current language's decimal sign."""
    return format(_fraction(value, None), spec)
