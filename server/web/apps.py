from __future__ import annotations

from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "server.web"
    label = "web"
    verbose_name = "Coordinator web UI"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate, post_save

        from server.ingest.models import AuditEvent
        from server.web import roles, summary

        post_migrate.connect(roles.ensure_groups, sender=self)
        post_save.connect(summary.on_audit_event, sender=AuditEvent)
