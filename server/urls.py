"""URL map: the ingest API under /api/v1/, Django's admin, the coordinators' web UI."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from server.bench import views as bench_views
from server.enrolment import api as enrolment_api
from server.helpdesk import views as helpdesk_views
from server.ingest.api import api

urlpatterns = [
    # pairing a new station (RFC 8628): before the token-guarded API, which it precedes
    path("api/v1/enrolments", enrolment_api.start, name="enrolment_start"),
    path("api/v1/enrolments/token", enrolment_api.token, name="enrolment_token"),
    path(
        "api/v1/helpdesk/visits/<uuid:report_id>",
        helpdesk_views.visit_status,
        name="helpdesk_visit_status",
    ),
    path("api/v1/", api.urls),
    path("stations/", include("server.enrolment.urls")),
    path("werkbank/", bench_views.werkbank, name="werkbank"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("uitlenen/", include("server.lending.urls")),
    path("helpdesk/", include("server.helpdesk.urls")),
    path("", include("server.web.urls")),
]
