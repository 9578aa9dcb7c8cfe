"""The three roles as Django groups, kept in step with the code after every migrate."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission

COORDINATOR = "coordinator"
TECHNICIAN = "technician"
ADMIN = "admin"

_TECHNICIAN = [
    "web.view_devicestatus",
    "web.view_batch",
    "web.add_note",
    "web.perform_spot_check",
]
_COORDINATOR = [
    *_TECHNICIAN,
    "web.override_grade",
    "web.decide_destination",
    "web.export_data",
    "web.add_batch",
    "web.change_batch",
    "web.close_batch",
    "web.add_certificate",
    "web.add_diskdestruction",
    "ingest.view_auditevent",
    # the lending programmes (server/lending): borrowers are coordinators' business only
    "lending.view_borrower",
    "lending.add_borrower",
    "lending.change_borrower",
    "lending.view_loan",
    "lending.add_loan",
    "lending.check_in_loan",
    "lending.export_lending",
    "lending.add_session",
    "lending.change_attendance",
]
_ADMIN = [
    *_COORDINATOR,
    "ingest.view_station",
    "ingest.change_station",
    "enrolment.approve_enrolment",
    "auth.view_user",
    "auth.change_user",
]

ROLES: dict[str, list[str]] = {TECHNICIAN: _TECHNICIAN, COORDINATOR: _COORDINATOR, ADMIN: _ADMIN}


def ensure_groups(**kwargs: Any) -> None:
    """Create or update the role groups (post_migrate: permissions exist by then)."""
    for name, perms in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        wanted = []
        for perm in perms:
            app, codename = perm.split(".")
            found = Permission.objects.filter(
                content_type__app_label=app, codename=codename
            ).first()
            if found is not None:
                wanted.append(found)
        group.permissions.set(wanted)
