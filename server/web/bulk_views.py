"""Bulk actions on the laptop list: choose, preview what changes and what is refused, confirm."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from server.web import audit, bulk, listing
from server.web.models import Batch, DeviceStatus
from server.web.vocabulary import Decision

VIEW = "web.view_devicestatus"


def _request(post: QueryDict) -> bulk.Request:
    action = post.get("action", "")
    if "value" in post:  # the confirmation carries the value the preview settled
        value = post.get("value", "")
    else:
        value = {"decide": post.get("decision", ""), "batch": post.get("batch", "")}.get(
            action, post.get("note", "")
        )
    return bulk.Request(action=action, value=value[:5000], reason=post.get("reason", "")[:2000])


def _allowed(request: HttpRequest, req: bulk.Request) -> None:
    perm = bulk.PERMISSIONS.get(req.action)
    if perm is not None and not request.user.has_perm(perm):
        raise PermissionDenied


def _pks(values: list[str]) -> list[int]:
    return [pk for pk in (listing.db_id(v) for v in values) if pk is not None]


def _selected(post: QueryDict) -> list[DeviceStatus]:
    """The laptops: the whole filter (given as the list's query string) or the ticked ones."""
    if post.get("scope") == "filter":
        qs = listing.filtered(QueryDict(post.get("filter", "")))
    else:
        qs = DeviceStatus.objects.filter(pk__in=_pks(post.getlist("pk")))
    return list(qs.select_related("batch").order_by("asset_tag", "pk")[: bulk.MAX_LAPTOPS + 1])


def _error(request: HttpRequest, message: str, back: str) -> HttpResponse:
    return render(request, "web/bulk_error.html", {"message": message, "back": back}, status=400)


@require_POST
@login_required
@permission_required(VIEW, raise_exception=True)
def preview(request: HttpRequest) -> HttpResponse:
    req = _request(request.POST)
    _allowed(request, req)
    back = request.POST.get("filter", "")
    try:
        plan = bulk.plan(_selected(request.POST), req)
    except bulk.BulkError as exc:
        return _error(request, str(exc), back)
    label = bulk.ACTIONS[req.action]
    return render(request, "web/bulk_preview.html", {"plan": plan, "label": label, "back": back})


@require_POST
@login_required
@permission_required(VIEW, raise_exception=True)
def confirm(request: HttpRequest) -> HttpResponse:
    req = _request(request.POST)
    _allowed(request, req)
    back = request.POST.get("filter", "")
    statuses = list(
        DeviceStatus.objects.filter(pk__in=_pks(request.POST.getlist("pk")))
        .select_related("batch")
        .order_by("asset_tag", "pk")[: bulk.MAX_LAPTOPS + 1]
    )
    if not statuses:
        return _error(request, _("Select at least one laptop."), back)
    try:
        outcome = bulk.apply(statuses, req, audit.staff(request))
    except bulk.BulkError as exc:
        return _error(request, str(exc), back)
    label = bulk.ACTIONS[req.action]
    return render(request, "web/bulk_done.html", {"outcome": outcome, "label": label, "back": back})


def form_context() -> dict[str, object]:
    """What the list's bulk form offers."""
    return {
        "bulk_actions": list(bulk.ACTIONS.items()),
        "bulk_decisions": Decision.choices,
        "bulk_batches": Batch.objects.filter(closed_at__isnull=True)[:200],
    }
