from __future__ import annotations

from django.apps import AppConfig


class EnrolmentConfig(AppConfig):
    name = "server.enrolment"
    label = "enrolment"
    verbose_name = "Station enrolment"
    default_auto_field = "django.db.models.BigAutoField"
