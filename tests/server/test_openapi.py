"""GET /api/v1/openapi.json, and schemathesis against it: no input makes the server fail."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from server.ingest import models
from server.wsgi import application
from tests.server.conftest import RegisteredStation

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], allow_x00=True, deterministic=True
)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def keep_test_connection() -> Iterator[None]:
    """Like Django's test Client: requests must not close the test's database connection."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.mark.django_db
def test_openapi_is_served_and_documents_the_report(api: Client):
    resp = api.get("/api/v1/openapi.json")
    assert resp.status_code == 200
    doc = resp.json()
    post = doc["paths"]["/api/v1/reports"]["post"]
    ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/Report"
    assert "report_id" in doc["components"]["schemas"]["Report"]["required"]
    assert {"200", "201", "401", "403", "409", "413", "422"} <= set(post["responses"])
    assert "/api/v1/devices" in doc["paths"]
    assert "/api/v1/reports/{report_id}" in doc["paths"]


@pytest.mark.slow
@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_input_makes_a_server_error(
    case: Any, station: RegisteredStation, keep_test_connection: None
):
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {station.token}"}
    runs_before = models.Run.objects.count()
    response = case.call_and_validate(checks=CHECKS)
    if response.status_code not in (200, 201):
        assert models.Run.objects.count() == runs_before
