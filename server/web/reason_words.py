"""The station's reasons in the page's language, from the station's own catalogue.

A report carries each reason as a code with facts next to its English
``message``; the words for every code are in agent/report/reasons.py and their
Dutch in the station's gettext catalogue (agent/tui/locale). The web pages use
that same catalogue, so the coordinator reads what the volunteer read, and a
code this server does not know shows the English message rather than nothing.
"""

from __future__ import annotations

import gettext
import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from django.utils import translation

from agent.report.reasons import Wording, lookup
from agent.tui.i18n import DOMAIN, LOCALE_DIR
from agent.tui.reasons import sentence_facts


@cache
def _catalog(language: str) -> gettext.NullTranslations:
    return gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=[language], fallback=True)


def _language() -> str:
    return (translation.get_language() or "nl").split("-")[0]


def _fill(sentence: str, params: Mapping[str, Any]) -> str | None:
    cat = _catalog(_language())
    try:
        return cat.gettext(sentence).format(**sentence_facts(params, cat.gettext, _language()))
    except (KeyError, IndexError, ValueError, TypeError):
        return None


def _parts(item: Any) -> tuple[str, dict[str, Any], str, str]:
    """(code, params, message, severity) of a reason as a dict (report JSON) or a model."""
    get = item.get if isinstance(item, Mapping) else (lambda k, d=None: getattr(item, k, d))
    params = get("params") or {}
    return (
        str(get("code") or ""),
        dict(params) if isinstance(params, Mapping) else {},
        str(get("message") or ""),
        str(get("severity") or ""),
    )


def _wording(code: str, params: Mapping[str, Any]) -> Wording | None:
    variant = params.get("variant")
    return lookup(code, variant if isinstance(variant, str) else None) if code else None


def reason_text(item: Any) -> str:
    """One reason or warning in the page's language; its English message when unknown."""
    code, params, message, _severity = _parts(item)
    wording = _wording(code, params)
    if wording is None or _language() == "en":
        return message
    return _fill(wording.sentence(params), params) or message


def fix_texts(reasons: list[Any], to_fix: list[str]) -> list[str]:
    """The report's ``to_fix`` lines in the page's language.

    Each line comes from a repair reason (severity error with a repair wording),
    in order; when they do not pair up (another core version), the lines as sent.
    """
    if _language() == "en":
        return list(to_fix)
    lines: list[str] = []
    for item in reasons:
        code, params, _message, severity = _parts(item)
        wording = _wording(code, params)
        if severity != "error" or wording is None or wording.fix is None:
            continue
        line = _fill(wording.fix, params)
        if line is None:
            return list(to_fix)
        lines.append(line)
    return lines if len(lines) == len(to_fix) else list(to_fix)


#: a trailing fact the sentence names after a colon or in brackets ("failed: {detail}")
_TRAILING_FACT = re.compile(r"(\s*[:;]\s*|\s*\()\{\w+\}.*$", re.DOTALL)
_FACT = re.compile(r"\{\w+\}")


def code_text(code: str) -> str | None:
    """A notice or reason named by its code alone, in the page's language.

    A heartbeat carries the code of the station's error, not its facts: the catalogue's
    sentence is cut before its first trailing fact ("Installing the OS failed"), any other
    fact is left as "…". None for a code this server has no words for."""
    wording = lookup(code) if code else None
    if wording is None:
        return None
    sentence = _catalog(_language()).gettext(wording.text)
    sentence = _TRAILING_FACT.sub("", sentence).rstrip(" .")
    return _FACT.sub("…", sentence)
