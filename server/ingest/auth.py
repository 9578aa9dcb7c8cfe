"""Who may call the API: stations by bearer token, staff by their admin session."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.errors import AuthorizationError
from ninja.security import HttpBearer, SessionAuth

from server.ingest import models, tokens


class StationAuth(HttpBearer):
    """``Authorization: Bearer dgb_...``: 401 for an unknown token, 403 for a revoked one."""

    def authenticate(self, request: HttpRequest, token: str) -> models.Station | None:
        prefix = tokens.split_prefix(token.strip())
        if prefix is None:
            return None
        station = models.Station.objects.filter(token_prefix=prefix).first()
        if station is None or not tokens.matches(token.strip(), station.token_hash):
            return None
        if not station.is_active:
            raise AuthorizationError(message="this station's token has been revoked")
        return station


class StaffSession(SessionAuth):
    """A logged-in staff user (the coordinator's browser), for read-only endpoints."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_staff:
            return user
        return None
