from __future__ import annotations

from django.apps import AppConfig


class HelpdeskConfig(AppConfig):
    name = "server.helpdesk"
    label = "helpdesk"
    verbose_name = "Helpdesk visits (residents' own laptops)"
    default_auto_field = "django.db.models.BigAutoField"
