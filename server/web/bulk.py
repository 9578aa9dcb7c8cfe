"""Bulk actions on a filtered list: plan (the preview), then apply laptop by laptop.

A bulk action is the single action repeated: the plan asks each laptop the
same ``check_*`` function of server/web/decisions.py the single view asks, and
applying calls the same service function, which checks again under a row lock
and audits that laptop. So a bulk action never does what the single one refuses,
even when something changed between the preview and the confirmation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth.models import User
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from server.web import decisions
from server.web.models import Batch, DeviceStatus

#: the most laptops one bulk action takes (a bigger filter is narrowed first)
MAX_LAPTOPS = 5000

ACTIONS = {
    "decide": gettext_lazy("Decide destination"),
    "batch": gettext_lazy("Batch membership"),
    "note": gettext_lazy("Add a note"),
}
#: the permission each action needs, as for the single action
PERMISSIONS = {
    "decide": "web.decide_destination",
    "batch": "web.change_batch",
    "note": "web.add_note",
}


class BulkError(Exception):
    """The bulk request itself is wrong (no laptops, unknown action); the message says why."""


@dataclass(frozen=True)
class Request:
    """What the coordinator asked for: one action and its one value, for many laptops."""

    action: str
    #: the decision, the batch id ("none" to take laptops out) or the note text
    value: str
    reason: str = ""


@dataclass
class Row:
    status: DeviceStatus
    change: decisions.Change | None = None
    refused: list[str] = field(default_factory=list)
    #: already so: nothing to change
    unchanged: bool = False


@dataclass
class Plan:
    request: Request
    rows: list[Row]

    @property
    def changes(self) -> list[Row]:
        return [r for r in self.rows if r.change is not None and not r.refused and not r.unchanged]

    @property
    def refused(self) -> list[Row]:
        return [r for r in self.rows if r.refused]

    @property
    def unchanged(self) -> list[Row]:
        return [r for r in self.rows if r.unchanged and not r.refused]


def _batch(value: str) -> Batch | None:
    if value == "none":
        return None
    batch = Batch.objects.filter(pk=int(value)).first() if value.isdigit() else None
    if batch is None:
        raise BulkError(_("Pick a batch."))
    return batch


def validate(req: Request) -> None:
    """Refuse a request that is wrong for every laptop alike, before looking at any."""
    if req.action not in ACTIONS:
        raise BulkError(_("Pick an action."))
    if req.action == "batch":
        _batch(req.value)
    elif req.action == "decide":
        if not req.value:
            raise BulkError(_("Pick a destination."))
    elif not req.value.strip():
        raise BulkError(_("A note cannot be empty."))


def _row(status: DeviceStatus, req: Request, batch: Batch | None) -> Row:
    row = Row(status)
    if req.action == "decide":
        row.refused = decisions.check_decision(status, req.value)
        row.change = decisions.decision_change(status, req.value)
        row.unchanged = status.decision == req.value
    elif req.action == "batch":
        row.refused = decisions.check_batch(status, batch)
        row.change = decisions.batch_change(status, batch)
        row.unchanged = status.batch_id == (batch.pk if batch else None)
    else:
        row.refused = decisions.check_note(status, req.value)
        row.change = decisions.Change(_("Note"), "", req.value.strip())
    return row


def plan(statuses: list[DeviceStatus], req: Request) -> Plan:
    """What the action would do to each laptop, and what it refuses and why."""
    validate(req)
    batch = _batch(req.value) if req.action == "batch" else None
    if not statuses:
        raise BulkError(_("Select at least one laptop."))
    if len(statuses) > MAX_LAPTOPS:
        raise BulkError(_("At most %(n)s laptops at once: narrow the filter.") % {"n": MAX_LAPTOPS})
    return Plan(req, [_row(s, req, batch) for s in statuses])


@dataclass
class Outcome:
    applied: list[DeviceStatus] = field(default_factory=list)
    unchanged: list[DeviceStatus] = field(default_factory=list)
    refused: list[tuple[DeviceStatus, list[str]]] = field(default_factory=list)


def apply(statuses: list[DeviceStatus], req: Request, user: User) -> Outcome:
    """Apply the action laptop by laptop through the single-laptop service functions."""
    validate(req)
    batch = _batch(req.value) if req.action == "batch" else None
    steps: dict[str, Callable[[DeviceStatus], object]] = {
        "decide": lambda s: decisions.decide(s, req.value, user, reason=req.reason),
        "batch": lambda s: decisions.set_batch(s, batch, user),
        "note": lambda s: decisions.add_note(s, req.value, user),
    }
    outcome = Outcome()
    for status in statuses:
        row = _row(status, req, batch)
        if row.unchanged and not row.refused:
            outcome.unchanged.append(status)
            continue
        try:
            steps[req.action](status)
        except decisions.Refused as exc:
            outcome.refused.append((status, exc.reasons))
        else:
            outcome.applied.append(status)
    return outcome
