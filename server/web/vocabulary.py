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
    "verification": {"passed": _("passed"), "failed": _("failed"), "none": _("not verified")},
    "lending": {
        "in_stock": _("in stock"),
        "lent": _("lent"),
        "returned": _("returned"),
    },
    "erasure_state": {
        "none": _("no erasure"),
        "verified": _("verified"),
        "unverified": _("not verified"),
        "exceptions": _("erased with exceptions"),
        "failed": _("failed"),
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


LABELS["test"] = {
    "keyboard": _("keyboard"),
    "screen": _("screen"),
    "touchpad": _("touchpad"),
    "cosmetic": _("cosmetic condition"),
    "camera": _("camera"),
    "audio": _("sound"),
    "wifi": "Wi-Fi",
    "bluetooth": "Bluetooth",
    "charging": _("charging"),
    "thermal": _("temperature"),
    "usb_ports": _("USB ports"),
    "memory_test": _("memory test"),
    "firmware_password": _("firmware password"),
    "secure_boot": "Secure Boot",
    "theft_recovery": _("theft recovery (Absolute)"),
    "amt": "Intel AMT",
    "asset_tag": _("asset tag"),
}
#: a check row's outcome and what the station's policy made of it (Grade.checks)
LABELS["check_outcome"] = {
    "pass": _("in order"),
    "fail": _("not in order"),
    "not_available": _("not available"),
    "operator_skipped": _("skipped by the volunteer"),
    "policy_skipped": _("not done (policy)"),
}
LABELS["check_effect"] = {
    "block": _("blocks lending"),
    "repair": _("on the repair list"),
    "note": _("note only"),
    "ignore": _("no effect"),
}
#: what each audited action is called on the audit pages
LABELS["audit"] = {
    "report.stored": _("report stored"),
    "grade.overridden": _("grade overridden"),
    "destination.decided": _("destination decided"),
    "batch.membership": _("batch membership changed"),
    "note.added": _("note added"),
    "disk.destroyed": _("disk destroyed"),
    "batch.created": _("batch created"),
    "batch.tags_added": _("asset tags added to a batch"),
    "batch.closed": _("batch closed"),
    "spotcheck.recorded": _("four-eyes check recorded"),
    "certificate.issued": _("certificate issued"),
    "certificate.revoked": _("certificate withdrawn"),
    "device.retagged": _("laptop retagged"),
    "data.exported": _("data exported"),
    "loan.created": _("loan made"),
    "loan.returned": _("loan returned"),
    "lending.changed": _("lending status changed"),
    "borrower.created": _("borrower added"),
    "borrower.erased": _("borrower's data erased"),
    "borrower.pseudonymised": _("borrower pseudonymised"),
    "session.created": _("session planned"),
    "session.attendance": _("attendance recorded"),
    "station.added": _("station added"),
    "station.changed": _("station changed"),
    "station.enrolled": _("station enrolled"),
    "station.renamed": _("station renamed"),
    "station.revoked": _("station revoked"),
    "station.pairing_approved": _("station pairing approved"),
    "station.pairing_denied": _("station pairing denied"),
    "user.added": _("user added"),
    "user.changed": _("user changed"),
    "helpdesk.consent_stripped": _("helpdesk visit: data without consent left out"),
}


LABELS["object"] = {
    "device": _("laptop"),
    "run": _("report"),
    "batch": _("batch"),
    "erasure": _("erasure record"),
    "export": _("export"),
    "certificate": _("certificate"),
    "station": _("station"),
    "borrower": _("borrower"),
    "loan": _("loan"),
    "session": _("session"),
    "user": _("user"),
    "enrolment": _("pairing"),
    "helpdesk_visit": _("helpdesk visit"),
}
#: the facts an audit event records, by name
LABELS["audit_field"] = {
    "asset_tag": _("asset tag"),
    "old": _("before"),
    "new": _("after"),
    "reason": _("reason"),
    "note": _("note"),
    "proposal": _("station's proposal"),
    "proposal_old": _("proposal before"),
    "proposal_new": _("proposal after"),
    "decision_withdrawn": _("decision withdrawn"),
    "signature": _("signature"),
    "sha256": "SHA-256",
    "bytes": _("bytes"),
    "loan": _("loan"),
    "borrower": _("borrower"),
    "programme": _("programme"),
    "wave": _("wave"),
    "condition": _("condition"),
    "certificate": _("certificate"),
    "disk_serial": _("disk serial"),
    "method": _("method"),
    "donor": _("donor"),
    "expected": _("expected laptops"),
    "tags": _("asset tags"),
    "batch": _("batch"),
    "passed": _("passed"),
    "remark": _("remark"),
    "filter": _("filter"),
    "rows": _("rows"),
    "superseded_by": _("replaced by"),
    "changed": _("changed"),
    "stripped": _("left out"),
}
#: which kind of value a fact of an audited action holds
_AUDIT_VALUES: dict[tuple[str, str], str] = {
    ("grade.overridden", "old"): "grade",
    ("grade.overridden", "new"): "grade",
    ("destination.decided", "old"): "decision",
    ("destination.decided", "new"): "decision",
    ("lending.changed", "old"): "lending",
    ("lending.changed", "new"): "lending",
}
_VALUE_KINDS = {
    "proposal": "proposal",
    "proposal_old": "proposal",
    "proposal_new": "proposal",
    "decision_withdrawn": "decision",
    "programme": "decision",
    "signature": "signature",
}


def audit_facts(action: str, details: object) -> list[tuple[str, str]]:
    """An audit event's facts as (label, value) in the page's language."""
    if not isinstance(details, dict):
        return []
    facts = []
    for key, value in details.items():
        kind = _AUDIT_VALUES.get((action, key)) or _VALUE_KINDS.get(key)
        if isinstance(value, bool):
            shown = str(_("yes") if value else _("no"))
        elif kind and isinstance(value, str):
            shown = label(kind, value) if value else "–"
        elif isinstance(value, list):
            shown = ", ".join(str(v) for v in value)
        elif value is None or value == "":
            shown = "–"
        else:
            shown = str(value)
        facts.append((label("audit_field", key), shown))
    return facts


def label(kind: str, value: object) -> str:
    """The word for ``value`` (an enum's raw value) on a page; the value itself if unknown."""
    text = "" if value is None else str(value)
    found = LABELS.get(kind, {}).get(text)
    return str(found) if found is not None else (text or "–")


def value_label(value: str) -> str:
    """A value with no kind (the dashboard's generic bars): shown as it is, or a dash."""
    return value or "–"
