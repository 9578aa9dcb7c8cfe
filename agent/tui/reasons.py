"""Reasons, warnings and repairs in the screen's language, by their stable code.

The core forms every message from a wording in :mod:`agent.report.reasons` and
keeps the facts in ``params``; here the same wording goes through the gettext
catalog (the English wording is the message id) and is filled with those
facts. A code this agent does not know (a report from a newer core), or facts
that do not fit the wording (a report from an older one), show the English
message as it is: never a crash, never a blank.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from agent.report.reasons import WORD_LISTS, ParamValue, Wording, lookup
from agent.report.schema import Grade, Reason, Warning_

if TYPE_CHECKING:
    from agent.pipeline.events import Notice
from agent.tui.i18n import N_, _, facts, language

#: Operator test names as the grading names them in its sentences.
TEST_NAMES = {
    "keyboard": N_("keyboard"),
    "screen": N_("screen"),
    "touchpad": N_("touchpad"),
    "cosmetic": N_("cosmetic"),
    "camera": N_("camera"),
    "audio": N_("sound"),
    "wifi": N_("Wi-Fi"),
    "bluetooth": N_("Bluetooth"),
    "charging": N_("charging"),
    "thermal": N_("temperature"),
    "usb_ports": N_("USB ports"),
    "memory_test": N_("memory"),
    "firmware_password": N_("firmware password"),
    "secure_boot": "Secure Boot",
    "theft_recovery": N_("theft recovery (Absolute)"),
    "amt": "Intel AMT",
    "asset_tag": N_("asset tag"),
}


def sentence_facts(
    params: Mapping[str, ParamValue], gettext: Callable[[str], str], language: str
) -> dict[str, ParamValue]:
    """A reason's facts ready for its sentence in ``language`` (the screens and the web
    pages both): test names and listed words translated, fractions with the language's
    decimal sign, and a failed test's technical English detail ("operator: broken") left
    out: the check list next to it says what failed in the reader's language."""
    found = dict(params)
    detail = found.get("detail")
    if isinstance(detail, str) and detail.startswith(": "):
        found["detail"] = ""
    test = found.get("test")
    if isinstance(test, str) and test in TEST_NAMES:
        found["test"] = gettext(TEST_NAMES[test])
    for name, words in WORD_LISTS.items():
        value = found.get(name)
        if isinstance(value, str):
            found[name] = ", ".join(gettext(w) if w in words else w for w in value.split(", "))
    return facts(found, language)


def _fill(sentence: str, params: Mapping[str, ParamValue]) -> str | None:
    try:
        return _(sentence).format(**sentence_facts(params, _, language()))
    except (KeyError, IndexError, ValueError, TypeError):
        return None


def _wording(item: Reason | Warning_) -> Wording | None:
    return lookup(item.code, item.params.get("variant"))


def reason_text(item: Reason | Warning_) -> str:
    """The reason or warning in the current language; its English message when unknown."""
    wording = _wording(item)
    if language() == "en" or wording is None:
        return item.message
    return _fill(wording.sentence(item.params), item.params) or item.message


def notice_text(item: Notice) -> str:
    """A pipeline notice in the current language, by its code; its English message when
    it has no code (an older core) or the wording does not fit."""
    wording = lookup(item.code, item.params.get("variant")) if item.code else None
    if language() == "en" or wording is None:
        return item.message
    return _fill(wording.sentence(item.params), item.params) or item.message


def fix_texts(grade: Grade) -> list[str]:
    """``grade.to_fix`` in the current language.

    Each line of ``to_fix`` comes from a repair reason (severity error) whose
    wording has a repair line, in the same order; when they do not pair up
    one to one (an older or newer core), the English lines are shown.
    """
    if language() == "en":
        return list(grade.to_fix)
    fixes: list[str] = []
    for item in grade.reasons:
        wording = _wording(item)
        if item.severity != "error" or wording is None or wording.fix is None:
            continue
        line = _fill(wording.fix, item.params)
        if line is None:
            return list(grade.to_fix)
        fixes.append(line)
    return fixes if len(fixes) == len(grade.to_fix) else list(grade.to_fix)


def advice_texts(reasons: list[Reason]) -> list[str]:
    """The repair wording of every problem found (errors, then warnings), in this language.

    Helpdesk diagnoses have no ``to_fix`` (no grade decides what blocks
    lending), yet the resident should hear what would help.
    """
    lines: list[str] = []
    for severity in ("error", "warning"):
        for item in reasons:
            wording = _wording(item)
            if item.severity != severity or wording is None or wording.fix is None:
                continue
            line = _fill(wording.fix, item.params) if language() != "en" else None
            if line is None:
                try:
                    line = wording.fix.format(**facts(item.params))
                except (KeyError, IndexError, ValueError, TypeError):
                    continue
            if line not in lines:
                lines.append(line)
    return lines
