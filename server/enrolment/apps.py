from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks


def os_image_url(**_: Any) -> list[checks.CheckMessage]:
    """DIGIBENCH_OS_IMAGE_URL goes into every paired stick's config: a URL or nothing."""
    url = settings.DIGIBENCH_OS_IMAGE_URL
    if url and not url.startswith(("https://", "http://")):
        return [
            checks.Error(
                f"DIGIBENCH_OS_IMAGE_URL must be an http(s) URL, not {url!r}",
                hint="the address of the OS image's manifest, e.g. "
                "https://digibench.example.org/images/debian-digibank.json",
                id="digibench.E001",
            )
        ]
    return []


class EnrolmentConfig(AppConfig):
    name = "server.enrolment"
    label = "enrolment"
    verbose_name = "Station enrolment"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        checks.register(os_image_url)
