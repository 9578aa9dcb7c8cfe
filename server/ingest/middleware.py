"""Refuse oversized bodies from their Content-Length, before anything reads them."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse


class BodySizeLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit: int = settings.DIGIBENCH_MAX_REPORT_BYTES
        if length > limit:
            return JsonResponse(
                {"code": "too_large", "detail": f"a report may be at most {limit} bytes"},
                status=413,
            )
        return self.get_response(request)
