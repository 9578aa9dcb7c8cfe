"""Every change a person makes goes to the shared audit log: who, when, what, why."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from server.ingest.models import AuditEvent


def actor(user: AbstractBaseUser | AnonymousUser) -> str:
    return f"user:{user.get_username()}"


def record(
    user: AbstractBaseUser | AnonymousUser,
    action: str,
    object_type: str,
    object_id: str,
    **details: Any,
) -> AuditEvent:
    return AuditEvent.objects.create(
        actor=actor(user),
        action=action,
        object_type=object_type,
        object_id=object_id[:64],
        details=details,
    )


def staff(request: HttpRequest) -> User:
    """The logged-in user of a view that login_required already guards."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied("log in first")
    return user
