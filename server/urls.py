"""URL map: the ingest API under /api/v1/ and Django's admin."""

from __future__ import annotations

from django.contrib import admin
from django.urls import path

from server.ingest.api import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
]
