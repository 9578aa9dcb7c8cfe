"""Roles, the user command, the status rebuild, and migrations in step with the models."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command

from server.web import roles
from server.web.models import DeviceStatus


def test_roles_and_webuser_command(db: Any, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("DIGIBENCH_PASSWORD", raising=False)
    with pytest.raises(CommandError):
        call_command("webuser", "ann", "--role", "coordinator")
    monkeypatch.setenv("DIGIBENCH_PASSWORD", "long enough password")
    call_command(
        "webuser", "ann", "--role", "technician", "--full-name", "Ann Peeters", stdout=io.StringIO()
    )
    ann = User.objects.get(username="ann")
    assert ann.check_password("long enough password") and ann.get_full_name() == "Ann Peeters"
    assert ann.has_perm("web.perform_spot_check") and not ann.has_perm("web.override_grade")
    call_command("webuser", "ann", "--role", "coordinator", stdout=io.StringIO())
    ann = User.objects.get(username="ann")  # fresh permission cache
    assert ann.has_perm("web.override_grade") and ann.has_perm("web.close_batch")
    assert not ann.has_perm("web.perform_spot_check") or ann.has_perm("web.view_devicestatus")
    assert set(Group.objects.values_list("name", flat=True)) >= set(roles.ROLES)


def test_refresh_command_rebuilds_rows_and_keeps_decisions(
    store: Callable[..., DeviceStatus], db: Any
):
    status = store(1)
    DeviceStatus.objects.filter(pk=status.pk).update(grade_override="C", model="")
    call_command("refresh_device_status", stdout=io.StringIO())
    status.refresh_from_db()
    assert status.model == "LENOVO ThinkPad T480" and status.grade == "C"


def test_migrations_are_current(db: Any):
    """Every app's models match its migrations (makemigrations --check exits non-zero)."""
    out = io.StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def test_a_failing_list_update_never_loses_the_report(
    store: Callable[..., DeviceStatus], monkeypatch: pytest.MonkeyPatch
):
    from server.ingest.models import Run
    from server.web import summary

    def broken(device: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(summary, "refresh", broken)
    with pytest.raises(DeviceStatus.DoesNotExist):
        store(1)
    assert Run.objects.count() == 1
    monkeypatch.undo()
    call_command("refresh_device_status", stdout=io.StringIO())
    assert DeviceStatus.objects.get().asset_tag == "DG-000001"
