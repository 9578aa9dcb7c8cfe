"""The helpdesk's pages: the visits (staff only) and each visit's printable summary."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required, user_passes_test
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render

from agent.helpdesk_summary import diagnosis_pdf
from agent.tui.i18n import DOCUMENT_LANGUAGES
from server.helpdesk.models import HelpdeskVisit
from server.helpdesk.service import visit_diagnosis
from server.ingest.auth import StationAuth
from server.web import paging, roles


def _helpdesk_people(user: Any) -> bool:
    """Coordinators, technicians (who staff the helpdesk) and admins: not anonymous readers."""
    if getattr(user, "is_staff", False) or getattr(user, "is_superuser", False):
        return True
    groups = getattr(user, "groups", None)
    return groups is not None and groups.filter(name__in=HELPDESK_ROLES).exists()


HELPDESK_ROLES = (roles.COORDINATOR, roles.TECHNICIAN, roles.ADMIN)
staff_only = user_passes_test(_helpdesk_people)


@login_required
@staff_only
def visits(request: HttpRequest) -> HttpResponse:
    pager = paging.page(HelpdeskVisit.objects.select_related("station"), request.GET)
    rows = [(v, visit_diagnosis(v)) for v in pager.rows]
    context = {"rows": rows, "pager": pager, "languages": DOCUMENT_LANGUAGES}
    return render(request, "helpdesk/visits.html", context)


@login_required
@staff_only
def summary_pdf(request: HttpRequest, report_id: str) -> HttpResponse:
    """The one-page summary, in ``?lang=`` nl (default), fr or en, to print for the resident."""
    visit = get_object_or_404(HelpdeskVisit, report_id=report_id)
    diagnosis = visit_diagnosis(visit)
    if diagnosis is None:  # the resident did not agree: it was printed at the helpdesk only
        raise Http404("the resident did not agree to keep the summary on the server")
    language = request.GET.get("lang", "nl")
    if language not in DOCUMENT_LANGUAGES:
        language = "nl"
    body = diagnosis_pdf(diagnosis, language=language)
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'inline; filename="helpdesk-{visit.report_id}-{language}.pdf"'
    )
    return response


def visit_status(request: HttpRequest, report_id: str) -> HttpResponse:
    """``GET /api/v1/helpdesk/visits/<uuid>`` (station token): whether the visit arrived."""
    try:
        station = StationAuth()(request)
    except Exception:  # ninja's auth errors: revoked token and the like
        station = None
    if station is None:
        return JsonResponse({"detail": "Unauthorized"}, status=401)
    visit = get_object_or_404(HelpdeskVisit, report_id=report_id, station=station)
    return JsonResponse(
        {"report_id": str(visit.report_id), "label": visit.shown_label, "kind": "helpdesk_visit"}
    )
