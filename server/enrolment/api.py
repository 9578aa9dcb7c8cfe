"""The station's side of pairing: JSON over HTTP, as RFC 8628 describes it.

``POST /api/v1/enrolments`` with ``{"public_key": ..., "name_hint": ...}`` starts a pairing;
``POST /api/v1/enrolments/token`` with ``{"device_code": ...}`` polls for the token: once
approved ``{"station": NAME, "token": TOKEN}``, plus ``"image_source": URL`` (the OS image's
manifest, from ``DIGIBENCH_OS_IMAGE_URL``) when the server has one. Errors are
``{"error": CODE, "error_description": TEXT}`` with the RFC's codes.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from agent.signing import key_fingerprint
from server.enrolment import service
from server.enrolment.codes import show_user_code

_STATUS = {"authorization_pending": 400, "slow_down": 429, "expired_token": 400,
           "access_denied": 403, "invalid_grant": 400, "invalid_request": 400}  # fmt: skip


def _body(request: HttpRequest) -> dict[str, Any]:
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise service.EnrolmentError("invalid_request", "the body is not JSON") from None
    if not isinstance(data, dict):
        raise service.EnrolmentError("invalid_request", "the body must be a JSON object")
    return data


def _error(exc: service.EnrolmentError) -> JsonResponse:
    return JsonResponse(
        {"error": exc.code, "error_description": exc.message}, status=_STATUS.get(exc.code, 400)
    )


def _text(data: dict[str, Any], key: str, limit: int) -> str:
    value = data.get(key, "")
    if not isinstance(value, str) or len(value) > limit:
        raise service.EnrolmentError("invalid_request", f"{key} must be a string")
    return value


@csrf_exempt
@require_POST
def start(request: HttpRequest) -> JsonResponse:
    try:
        data = _body(request)
        new = service.start(
            _text(data, "public_key", 128),
            _text(data, "name_hint", 128),
            request.META.get("REMOTE_ADDR", ""),
        )
    except service.EnrolmentError as exc:
        return _error(exc)
    uri = request.build_absolute_uri(reverse("enrolment:pair"))
    code = show_user_code(new.enrolment.user_code)
    return JsonResponse(
        {
            "device_code": new.device_code,
            "user_code": code,
            "verification_uri": uri,
            "verification_uri_complete": f"{uri}?code={code}",
            "expires_in": int(service.LIFETIME.total_seconds()),
            "interval": int(service.INTERVAL.total_seconds()),
            "key_fingerprint": key_fingerprint(new.enrolment.public_key),
        },
        status=201,
    )


@csrf_exempt
@require_POST
def token(request: HttpRequest) -> JsonResponse:
    try:
        collected = service.collect(_text(_body(request), "device_code", 128))
    except service.EnrolmentError as exc:
        return _error(exc)
    answer = {"station": collected.station.name, "token": collected.token}
    image = settings.DIGIBENCH_OS_IMAGE_URL
    if image.startswith(("https://", "http://")):  # else refused by the start-up check
        answer["image_source"] = image
    return JsonResponse(answer)
