"""URL map: the ingest API under /api/v1/, Django's admin, the coordinators' web UI."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from server.ingest.api import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("uitlenen/", include("server.lending.urls")),
    path("", include("server.web.urls")),
]
