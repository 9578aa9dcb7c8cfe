"""Hardened web: no self-escalation, read-only evidence in the admin, login throttling,
no 500 for impossible ids, CSP, local API docs, flagged unproven reports."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from agent.report.samples import sample_report
from agent.uplink.signed import report_json
from server.ingest import models, service, tokens
from server.web import roles
from server.web.models import DeviceStatus
from tests.web.conftest import PASSWORD, client_for, make_user

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def admin_role(db: Any) -> User:
    """A user with the admin role, as `webuser --role admin` makes it (staff, not superuser)."""
    return make_user("ada", roles.ADMIN, is_staff=True)


def _change_form(user: User, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "username": user.username,
        "first_name": "",
        "last_name": "",
        "email": "",
        "is_active": "on",
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "10:00:00",
        "initial-date_joined_0": "2026-01-01",
        "initial-date_joined_1": "10:00:00",
        "groups": [g.pk for g in user.groups.all()],
    }
    data.update(changes)
    return data


def test_the_admin_role_cannot_make_itself_superuser(admin_role: User):
    c = client_for(admin_role)
    url = f"/admin/auth/user/{admin_role.pk}/change/"
    page = c.get(url)
    assert page.status_code == 200
    assert b'name="is_superuser"' not in page.content
    assert b'name="user_permissions"' not in page.content
    c.post(url, _change_form(admin_role, is_superuser="on", is_staff="on", user_permissions=[1]))
    admin_role.refresh_from_db()
    assert not admin_role.is_superuser
    assert not admin_role.user_permissions.exists()
    # and so it cannot edit or delete audit events or runs
    event = models.AuditEvent.objects.create(actor="cli", action="station.added")
    assert c.get(f"/admin/ingest/auditevent/{event.pk}/delete/").status_code == 403
    resp = c.post(f"/admin/ingest/auditevent/{event.pk}/change/", {"actor": "x"})
    assert resp.status_code == 403
    assert models.AuditEvent.objects.get(pk=event.pk).actor == "cli"


def test_the_admin_role_cannot_touch_a_superuser(admin_role: User):
    root = User.objects.create_superuser("root", password=PASSWORD)
    c = client_for(admin_role)
    assert c.get(f"/admin/auth/user/{root.pk}/change/").status_code == 200  # view only
    resp = c.post(f"/admin/auth/user/{root.pk}/password/", {"password1": "x" * 20})
    assert resp.status_code == 403
    resp = c.post(f"/admin/auth/user/{root.pk}/change/", _change_form(root, username="gone"))
    assert resp.status_code == 403
    assert User.objects.filter(username="root").exists()


def test_even_a_superuser_cannot_edit_evidence_in_the_admin(
    db: Any, store: Callable[..., DeviceStatus]
):
    status = store(1)
    run = status.last_run
    assert run is not None
    root = User.objects.create_superuser("root", password=PASSWORD)
    c = client_for(root)
    event = models.AuditEvent.objects.order_by("-id").first()
    assert event is not None
    for url in (
        f"/admin/ingest/auditevent/{event.pk}/delete/",
        f"/admin/ingest/run/{run.pk}/delete/",
        f"/admin/ingest/device/{run.device_id}/delete/",
    ):
        assert c.post(url, {"post": "yes"}).status_code == 403, url
    page = c.get(f"/admin/ingest/run/{run.pk}/change/")
    assert page.status_code == 200 and b'type="submit"' not in page.content.split(b"<form")[-1]
    resp = c.post(f"/admin/ingest/device/{run.device_id}/change/", {"asset_tag": "DG-OTHER"})
    assert resp.status_code == 403
    assert models.Run.objects.filter(pk=run.pk).exists()
    assert models.AuditEvent.objects.filter(pk=event.pk).exists()


def test_login_is_throttled_per_account(coordinator: User):
    c = Client(HTTP_ACCEPT_LANGUAGE="nl")
    for _ in range(5):
        resp = c.post("/accounts/login/", {"username": "carla", "password": "wrong"})
        assert resp.status_code == 200
    resp = c.post("/accounts/login/", {"username": "carla", "password": PASSWORD})
    assert resp.status_code == 429
    body = resp.content.decode()
    assert "Te veel mislukte aanmeldpogingen" in body
    assert "_auth_user_id" not in c.session
    # the admin's login page counts the same failures
    resp = Client().post("/admin/login/", {"username": "carla", "password": PASSWORD})
    assert "_auth_user_id" not in resp.client.session


def test_login_is_throttled_per_address(coordinator: User, settings: Any):
    settings.DIGIBENCH_LOGIN_FAILURES_PER_ADDRESS = 6
    c = Client()
    for i in range(6):
        c.post("/accounts/login/", {"username": f"guess{i}", "password": "wrong"})
    resp = c.post("/accounts/login/", {"username": "carla", "password": PASSWORD})
    assert resp.status_code == 429
    other = Client(REMOTE_ADDR="127.0.0.9")
    resp = other.post("/accounts/login/", {"username": "carla", "password": PASSWORD})
    assert resp.status_code == 302  # another address, an account with no failures


def test_a_good_login_clears_the_accounts_failures(coordinator: User):
    c = Client()
    for _ in range(4):
        c.post("/accounts/login/", {"username": "carla", "password": "wrong"})
    assert (
        c.post("/accounts/login/", {"username": "carla", "password": PASSWORD}).status_code == 302
    )
    c.logout()
    for _ in range(4):
        c.post("/accounts/login/", {"username": "carla", "password": "wrong"})
    assert (
        c.post("/accounts/login/", {"username": "carla", "password": PASSWORD}).status_code == 302
    )


@pytest.mark.parametrize(
    "url",
    [
        "/devices/?batch=99999999999999999999",
        "/devices/?sort=batch&after=WzEsIDEwMDAwMDAwMDAwMDAwMDAwMDAwMF0",  # [1, 10**20]
        "/devices/?sort=tag&after=WyJ4IiwgMTAwMDAwMDAwMDAwMDAwMDAwMDAwXQ",  # ["x", 10**20]
        "/?period=batch-99999999999999999999",
        "/audit/?before=99999999999999999999",
        "/batches/99999999999999999999/",
    ],
)
def test_impossible_ids_are_400_or_404_never_500(url: str, db: Any):
    c = client_for(make_user("carla", roles.COORDINATOR))
    c.raise_request_exception = False
    assert c.get(url).status_code in (200, 400, 404), url


def test_a_500_is_logged_with_its_traceback(tmp_path: Path):
    """The real settings, in a fresh process: the error and its traceback reach stderr."""
    (tmp_path / "boom_urls.py").write_text(
        textwrap.dedent(
            """
            from django.urls import path

            def boom(request):
                raise ZeroDivisionError("digibench-test-boom")

            urlpatterns = [path("boom/", boom)]
            """
        )
    )
    script = textwrap.dedent(
        """
        import django
        django.setup()
        from django.test import Client
        from django.test.utils import override_settings
        with override_settings(ROOT_URLCONF="boom_urls"):
            print(Client(raise_request_exception=False).get("/boom/").status_code)
        """
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": f"{tmp_path}:{ROOT}",
        "DJANGO_SETTINGS_MODULE": "server.settings",
        "DIGIBENCH_DATA_DIR": str(tmp_path / "var"),
        "DIGIBENCH_ALLOWED_HOSTS": "testserver",
    }
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.stdout.strip() == "500", out.stderr
    assert "Traceback (most recent call last)" in out.stderr
    assert "ZeroDivisionError: digibench-test-boom" in out.stderr


def test_pages_carry_a_content_security_policy_and_no_inline_script(coord_client: Client):
    resp = coord_client.get("/")
    csp = resp.headers["Content-Security-Policy"]
    assert (
        "script-src 'self'" in csp
        and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    )
    body = resp.content.decode()
    assert "onchange=" not in body and "data-autosubmit" in body
    assert Client().get("/static/web/autosubmit.js").status_code == 200


def test_api_docs_are_local_and_only_for_logged_in_users(coord_client: Client):
    anon = Client().get("/api/v1/docs")
    assert anon.status_code == 302 and "/accounts/login/" in anon.headers["Location"]
    page = coord_client.get("/api/v1/docs")
    assert page.status_code == 200
    body = page.content.decode()
    assert "cdn" not in body.lower() and "/static/ninja/swagger-ui-bundle.js" in body
    assert Client().get("/static/ninja/swagger-ui-bundle.js").status_code == 200
    assert Client().get("/api/v1/openapi.json").status_code == 200  # stations and scripts


def test_reports_of_an_allowed_unsigned_station_are_flagged(coord_client: Client):
    new = tokens.new_token()
    loose = models.Station.objects.create(
        name="bench-loose", allow_unsigned=True, token_prefix=new.prefix, token_hash=new.hash
    )
    run = service.ingest(loose, report_json(sample_report(3, station=loose.name))).run
    assert run.signature_status == "unsigned"
    status = DeviceStatus.objects.get(device=run.device)
    nl = Client(HTTP_ACCEPT_LANGUAGE="nl")
    nl.force_login(User.objects.get(username="carla"))
    listing = nl.get("/devices/").content.decode()
    assert "onbewezen rapport" in listing
    page = nl.get(f"/laptop/{status.pk}/").content.decode()
    assert 'id="unproven"' in page and "niet ondertekend" in page
    staff = client_for(make_user("sam", None, is_staff=True))
    api = staff.get(f"/api/v1/reports/{run.report_id}").json()
    assert (api["signature_status"], api["signature_verified"]) == ("unsigned", False)
