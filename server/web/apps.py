from __future__ import annotations

from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "server.web"
    label = "web"
    verbose_name = "Coordinator web UI"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from server.ingest.signals import run_stored
        from server.web import roles, summary

        post_migrate.connect(roles.ensure_groups, sender=self)
        run_stored.connect(summary.on_run_stored)
