from __future__ import annotations

from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "server.ingest"
    label = "ingest"
    verbose_name = "Digibench ingest"
    default_auto_field = "django.db.models.BigAutoField"
