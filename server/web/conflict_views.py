"""Resolving a tag conflict from a laptop's page: retag it, or merge the duplicate into it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from server.web import audit, conflicts
from server.web.models import DeviceStatus
from server.web.views import laptop_view

_PERM = "web.decide_destination"


@require_POST
@login_required
@permission_required(_PERM, raise_exception=True)
@laptop_view
def retag(request: HttpRequest, status: DeviceStatus) -> HttpResponse:
    try:
        conflicts.retag(status, request.POST.get("asset_tag", ""), audit.staff(request))
        messages.success(request, _("Asset tag changed."))
    except conflicts.ConflictError as exc:
        messages.error(request, str(exc))
    return redirect("web:device", pk=status.pk)


@require_POST
@login_required
@permission_required(_PERM, raise_exception=True)
@laptop_view
def merge(request: HttpRequest, status: DeviceStatus) -> HttpResponse:
    other = request.POST.get("other", "")
    try:
        if not other.isdigit():
            raise conflicts.ConflictError(_("These laptops are not in conflict."))
        conflicts.merge(status, int(other), audit.staff(request))
        messages.success(request, _("Laptops merged."))
    except conflicts.ConflictError as exc:
        messages.error(request, str(exc))
    return redirect("web:device", pk=status.pk)
