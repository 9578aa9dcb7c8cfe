"""Grades, the station's proposal and the coordinator's decision: one vocabulary.

The grade letter and the proposal are the agent's enums (agent/report/vocabulary.py);
the decision is the server's. They are two columns of ``DeviceStatus`` with one
explicit mapping between them, so a station's ``lend`` is never confused with a
coordinator's Digibank or Digi-leen loan. Every value is shown through its label.
"""

from __future__ import annotations

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from agent.report.vocabulary import LENDABLE_GRADES, PROPOSAL, Grade
from agent.report.vocabulary import Destination as Proposal

__all__ = [
    "GRADE_LABELS",
    "LENDABLE_GRADES",
    "LOAN_DECISIONS",
    "PROPOSAL_LABELS",
    "Decision",
    "Grade",
    "Proposal",
    "decisions_for",
    "grade_label",
    "proposal_for",
    "proposal_label",
]

GRADE_LABELS: dict[str, Promise | str] = {
    # the letters read the same in every language
    Grade.A: "A",
    Grade.B: "B",
    Grade.C: "C",
    Grade.PARTS: _("parts"),
    Grade.RECYCLE: _("recycle"),
}

PROPOSAL_LABELS: dict[str, Promise | str] = {
    Proposal.LEND: _("lend"),
    Proposal.REPAIR: _("repair"),
    Proposal.PARTS: _("parts"),
    Proposal.RECYCLE: _("recycle"),
}


class Decision(models.TextChoices):
    """Where the coordinator sends the laptop."""

    DIGIBANK = "digibank", _("Digibank loan")
    DIGILEEN = "digileen", _("Digi-leen loan")
    REPAIR = "repair", _("repair")
    PARTS = "parts", _("parts")
    RECYCLE = "recycle", _("recycle")
    ELSEWHERE = "elsewhere", _("donate elsewhere")


#: decisions that mean "lend it out" (the evidence rules must allow lending)
LOAN_DECISIONS = frozenset({Decision.DIGIBANK, Decision.DIGILEEN})

#: the decisions that carry out each proposal (a loan proposal: either programme)
_CARRY_OUT: dict[str, tuple[Decision, ...]] = {
    Proposal.LEND: (Decision.DIGIBANK, Decision.DIGILEEN),
    Proposal.REPAIR: (Decision.REPAIR,),
    Proposal.PARTS: (Decision.PARTS,),
    Proposal.RECYCLE: (Decision.RECYCLE,),
}


def proposal_for(grade: str) -> str:
    """The station's proposal for a grade ("" for no or an unknown grade)."""
    try:
        return str(PROPOSAL[Grade(grade)])
    except ValueError:
        return ""


def decisions_for(proposal: str) -> tuple[Decision, ...]:
    """The decisions that follow a proposal, for preselecting the form."""
    return _CARRY_OUT.get(proposal, ())


def grade_label(value: str) -> str:
    label = GRADE_LABELS.get(value)
    return str(label) if label is not None else (value or "–")


def proposal_label(value: str) -> str:
    label = PROPOSAL_LABELS.get(value)
    return str(label) if label is not None else (value or "–")


def decision_label(value: str) -> str:
    try:
        return str(Decision(value).label)
    except ValueError:
        return value or "–"


def decision_or_undecided(value: str) -> str:
    return decision_label(value) if value else str(_("not decided yet"))


#: the words for the report's and the server's enum values, by what they describe
#: (one value can mean two things: a "worn" disk and a "worn" battery read alike,
#: a "failed" test and a "failed" wipe do not in Dutch)
LABELS: dict[str, dict[str, Promise | str]] = {
    "grade": GRADE_LABELS,
    "proposal": PROPOSAL_LABELS,
    "decision": {str(v): label for v, label in Decision.choices},
    "mode": {"intake": _("intake"), "check": _("helpdesk check")},
    "disk_verdict": {
        "healthy": _("healthy"),
        "worn": _("worn"),
        "failing": _("failing"),
        "unknown": _("unknown"),
    },
    "battery_verdict": {
        "good": _("good"),
        "worn": _("worn"),
        "bad": _("bad"),
        "unknown": _("unknown"),
    },
    "test_outcome": {"pass": _("passed"), "fail": _("failed"), "skipped": _("skipped")},
    "erasure_result": {
        "erased": _("erased"),
        "erased_with_exceptions": _("erased with exceptions"),
        "failed": _("wipe failed"),
    },
    "level": {"clear": _("Clear (NIST 800-88)"), "purge": _("Purge (NIST 800-88)")},
    "signature": {
        "valid": _("valid"),
        "invalid": _("invalid"),
        "unsigned": _("unsigned"),
        "unverified": _("not verified (station has no key)"),
    },
    "media": {
        "hdd": _("hard disk"),
        "ssd": "SSD",
        "nvme": "NVMe",
        "emmc": "eMMC",
        "usb": "USB",
        "virtual": _("virtual disk"),
        "unknown": _("unknown"),
    },
}


def label(kind: str, value: object) -> str:
    """The word for ``value`` (an enum's raw value) on a page; the value itself if unknown."""
    text = "" if value is None else str(value)
    found = LABELS.get(kind, {}).get(text)
    return str(found) if found is not None else (text or "–")


def value_label(value: str) -> str:
    """A value with no kind (the dashboard's generic bars): shown as it is, or a dash."""
    return value or "–"
