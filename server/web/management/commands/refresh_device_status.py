"""Rebuild the device list's rows from the stored reports (after an upgrade or a restore)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from server.ingest.models import Device
from server.web import summary


class Command(BaseCommand):
    help = "Recompute every laptop's DeviceStatus from its latest report; decisions stay."

    def handle(self, *args: Any, **opts: Any) -> None:
        n = 0
        for device in Device.objects.order_by("pk").iterator(chunk_size=500):
            summary.refresh(device)
            n += 1
        self.stdout.write(f"{n} laptops refreshed")
