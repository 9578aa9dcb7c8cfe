from __future__ import annotations

from django.apps import AppConfig


class BenchConfig(AppConfig):
    name = "server.bench"
    label = "bench"
    verbose_name = "Werkbank (live bench view)"
    default_auto_field = "django.db.models.BigAutoField"
