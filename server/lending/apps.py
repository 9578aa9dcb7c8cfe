from __future__ import annotations

from django.apps import AppConfig


class LendingConfig(AppConfig):
    """The lending programmes: borrowers, loans, learning paths, returns."""

    name = "server.lending"
    label = "lending"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from server.web import roles

        # Again after this app's permissions exist (they are made after the web app's).
        post_migrate.connect(roles.ensure_groups, sender=self)
