"""Who may call the API: stations by bearer token, staff by their admin session."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.errors import AuthorizationError
from ninja.security import HttpBearer, SessionAuth

from server.ingest import models, tokens


class StationRefused(AuthorizationError):
    """403 with a ``code`` the station words in its own language: revoked or suspended."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message=message)
        self.code = code


class StationAuth(HttpBearer):
    """``Authorization: Bearer dgb_...``: 401 for an unknown token, 403 for a revoked or
    suspended station (``code`` station_revoked / station_suspended)."""

    def authenticate(self, request: HttpRequest, token: str) -> models.Station | None:
        prefix = tokens.split_prefix(token.strip())
        if prefix is None:
            return None
        station = models.Station.objects.filter(token_prefix=prefix).first()
        if station is None or not tokens.matches(token.strip(), station.token_hash):
            return None
        if not station.is_active:
            raise StationRefused("station_revoked", "this station's token has been revoked")
        if station.suspended_at is not None:
            raise StationRefused(
                "station_suspended", "this station is suspended in the web UI; ask the admin"
            )
        return station


class StaffSession(SessionAuth):
    """A logged-in staff user (the coordinator's browser), for read-only endpoints."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_staff:
            return user
        return None
