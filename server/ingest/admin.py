"""Admin pages: stations are managed with ``digibench-server``; runs and the audit log are
read-only for everyone, superusers included (the evidence is never edited by hand)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from server.ingest import models


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """View only: no add, change or delete, whoever asks."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(models.AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "actor", "action", "object_type", "object_id")
    list_filter = ("action",)
    search_fields = ("actor", "object_id")
    readonly_fields = ("prev_hash", "hash")


@admin.register(models.Run)
class RunAdmin(ReadOnlyAdmin):
    list_display = ("report_id", "station", "device", "created_at", "signature_status")
    list_filter = ("signature_status",)
    search_fields = ("report_id",)


@admin.register(models.Station)
class StationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Only the key and the allow-unsigned flag can change here; every change is audited."""

    list_display = ("name", "token_prefix", "allow_unsigned", "created_at", "revoked_at")
    fields = (
        "name",
        "public_key",
        "allow_unsigned",
        "token_prefix",
        "created_at",
        "last_seen_at",
        "revoked_at",
    )
    readonly_fields = ("name", "token_prefix", "created_at", "last_seen_at", "revoked_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the token is shown once, by `digibench-server add-station`

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: models.Station, form: Any, change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        models.AuditEvent.objects.create(
            actor=f"user:{request.user.get_username()}",
            action="station.changed",
            object_type="station",
            object_id=obj.name[:64],
            details={
                "changed": sorted(form.changed_data),
                "public_key": obj.public_key,
                "allow_unsigned": obj.allow_unsigned,
            },
        )


@admin.register(models.Device)
class DeviceAdmin(ReadOnlyAdmin):
    """Read-only: a device's identity and tag come from its signed reports."""

    list_display = ("asset_tag", "serial", "vendor", "product_name")
    search_fields = ("asset_tag", "serial")
