"""Read-mostly admin pages; stations are managed with ``digibench-server``."""

from __future__ import annotations

from django.contrib import admin

from server.ingest import models

admin.site.register(
    models.Station, list_display=["name", "token_prefix", "created_at", "revoked_at"]
)
admin.site.register(models.Device, list_display=["asset_tag", "serial", "vendor", "product_name"])
admin.site.register(models.Run, list_display=["report_id", "station", "device", "created_at"])
admin.site.register(models.AuditEvent, list_display=["at", "actor", "action", "object_id"])
