"""Stations in the web UI: the list, rename, suspend, revoke, and "Koppelen" (pairing)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from agent.signing import key_fingerprint
from server.enrolment import service
from server.enrolment.codes import show_user_code
from server.enrolment.models import Enrolment
from server.ingest import tokens
from server.ingest.models import Station
from server.web import audit

PAIR = "enrolment.approve_enrolment"
MANAGE = "ingest.change_station"

#: what the person sees for each refusal code
_WHY = {
    "slow_down": lambda: _("Too many wrong codes. Wait ten minutes and try again."),
    "invalid_grant": lambda: _(
        "No open pairing has that code. Check the code on the station's screen; codes expire"
        " after 15 minutes."
    ),
    "invalid_request": lambda: _(
        "Give the station a name of letters, digits, '.', '_' or '-' that no other station has."
    ),
}


View = Callable[..., HttpResponse]


def _needs(perm: str) -> Callable[[View], View]:
    def wrap(func: View) -> View:
        guarded: View = login_required(permission_required(perm, raise_exception=True)(func))
        return guarded

    return wrap


def _why(exc: service.EnrolmentError) -> str:
    return _WHY.get(exc.code, _WHY["invalid_grant"])()


@_needs("ingest.view_station")
def station_list(request: HttpRequest) -> HttpResponse:
    stations = [
        {"station": s, "fingerprint": key_fingerprint(s.public_key) if s.public_key else ""}
        for s in Station.objects.order_by("name")
    ]
    return render(request, "enrolment/stations.html", {"stations": stations})


@require_POST
@_needs(MANAGE)
def station_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    station = get_object_or_404(Station, pk=pk)
    if station.revoked_at is None:
        station.revoked_at = timezone.now()
        station.save(update_fields=["revoked_at"])
        audit.record(audit.staff(request), "station.revoked", "station", station.name)
        messages.success(request, _("Station %(name)s is revoked.") % {"name": station.name})
    return redirect("enrolment:stations")


@require_POST
@_needs(MANAGE)
def station_suspend(request: HttpRequest, pk: int) -> HttpResponse:
    """Suspend a station (its uploads and heartbeats are refused) or take it back into use."""
    station = get_object_or_404(Station, pk=pk)
    suspend = request.POST.get("suspend") == "1"
    if station.revoked_at is not None or (station.suspended_at is not None) == suspend:
        return redirect("enrolment:stations")  # nothing to change (a second click)
    station.suspended_at = timezone.now() if suspend else None
    station.save(update_fields=["suspended_at"])
    action = "station.suspended" if suspend else "station.resumed"
    audit.record(audit.staff(request), action, "station", station.name)
    if suspend:
        text = _("Station %(name)s is suspended: its reports are refused until you resume it.")
    else:
        text = _("Station %(name)s is in use again.")
    messages.success(request, text % {"name": station.name})
    return redirect("enrolment:stations")


@require_POST
@_needs(MANAGE)
def station_rename(request: HttpRequest, pk: int) -> HttpResponse:
    station = get_object_or_404(Station, pk=pk)
    new = request.POST.get("name", "").strip()
    old = station.name
    if not tokens.STATION_NAME.match(new):
        messages.error(request, _WHY["invalid_request"]())
        return redirect("enrolment:stations")
    station.name = new
    try:
        with transaction.atomic():  # a savepoint: a taken name must not break the request's
            station.save(update_fields=["name"])
    except IntegrityError:
        messages.error(request, _WHY["invalid_request"]())
        return redirect("enrolment:stations")
    audit.record(audit.staff(request), "station.renamed", "station", new, old_name=old)
    messages.success(request, _("Station %(old)s is now %(new)s.") % {"old": old, "new": new})
    return redirect("enrolment:stations")


@_needs(PAIR)
def pair(request: HttpRequest) -> HttpResponse:
    """Type (or scan) the code the station shows; then see who asks before approving."""
    typed = request.POST.get("code", "") if request.method == "POST" else ""
    context: dict[str, Any] = {"code": request.GET.get("code", "")[:16]}
    if request.method == "POST":
        try:
            enrolment = service.find(audit.staff(request), typed)
        except service.EnrolmentError as exc:
            context["error"] = _why(exc)
            context["code"] = typed[:16]
        else:
            return redirect("enrolment:decide", pk=enrolment.pk)
    return render(request, "enrolment/pair.html", context)


@_needs(PAIR)
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    enrolment = get_object_or_404(Enrolment, pk=pk)
    context: dict[str, Any] = {
        "enrolment": enrolment,
        "user_code": show_user_code(enrolment.user_code),
        "fingerprint": key_fingerprint(enrolment.public_key),
        "name": request.POST.get("name", enrolment.name_hint)[:128],
    }
    if request.method == "POST":
        approve = request.POST.get("decision") == "approve"
        try:
            service.decide(enrolment, audit.staff(request), approve=approve, name=context["name"])
        except service.EnrolmentError as exc:
            context["error"] = _why(exc)
        else:
            if approve:
                messages.success(
                    request,
                    _("Station %(name)s is paired; it continues by itself within seconds.")
                    % {"name": context["name"]},
                )
            else:
                messages.success(request, _("The pairing was refused."))
            return redirect("enrolment:stations")
    return render(request, "enrolment/decide.html", context)
