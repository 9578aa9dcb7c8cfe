"""Running it for real: the documented production settings, static files under gunicorn,
private files, and backup -> wipe -> restore with real server processes (SQLite, and
PostgreSQL when DATABASE_URL points there)."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import requests

from agent.erase.record import sign_record
from agent.report.samples import sample_report
from agent.uplink.signed import report_json, sign_report
from tests.uplink.server_process import ServerProcess, server_command

ROOT = Path(__file__).resolve().parents[2]
ENV_FILE = ROOT / "server" / "deploy" / "digibench.env"
PASSWORD = "a long enough pass phrase"


def production_env() -> dict[str, str]:
    values = {}
    for line in ENV_FILE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value
    return values


def test_documented_production_settings_pass_check_deploy(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIGIBENCH_", "DATABASE"))}
    env.update(production_env())
    env["DIGIBENCH_DATA_DIR"] = str(tmp_path / "var")
    env["DJANGO_SETTINGS_MODULE"] = "server.settings"
    out = subprocess.run(
        [sys.executable, "-m", "django", "check", "--deploy"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    assert "System check identified no issues" in out.stdout, out.stdout + out.stderr
    assert "WARNING" not in out.stdout + out.stderr


def test_the_real_server_serves_admin_css_and_a_csp(central: ServerProcess):
    css = requests.get(f"{central.url}/static/admin/css/base.css", timeout=10)
    assert css.status_code == 200 and "text/css" in css.headers["Content-Type"]
    assert "body" in css.text
    login = requests.get(f"{central.url}/accounts/login/", timeout=10)
    assert "script-src 'self'" in login.headers["Content-Security-Policy"]
    assert requests.get(f"{central.url}/static/web/autosubmit.js", timeout=10).status_code == 200


def test_the_servers_files_are_private(central: ServerProcess):
    paths = [central.data_dir / "secret_key"]
    if not central.pg_db:
        paths.append(central.data_dir / "digibench.sqlite3")
    for path in paths:
        assert path.stat().st_mode & 0o077 == 0, f"{path}: {oct(path.stat().st_mode)}"


# ------------------------------------------------------------------ backup and restore


def query(server: ServerProcess, sql: str) -> list[tuple[Any, ...]]:
    if server.pg_db:
        with psycopg.connect(server.env["DATABASE_URL"]) as conn:
            return [tuple(r) for r in conn.execute(sql).fetchall()]  # type: ignore[arg-type]
    db = sqlite3.connect(f"file:{server.data_dir / 'digibench.sqlite3'}?mode=ro", uri=True)
    try:
        return [tuple(r) for r in db.execute(sql).fetchall()]
    finally:
        db.close()


def snapshot(server: ServerProcess) -> dict[str, Any]:
    return {
        "devices": query(
            server,
            "SELECT device_id, asset_tag, serial, grade, proposal, decision, erasure, lending"
            " FROM web_devicestatus ORDER BY device_id",
        ),
        "runs": query(
            server, "SELECT report_id, content_sha256, signature_status FROM ingest_run ORDER BY id"
        ),
        "certificates": query(
            server, "SELECT id, signature, public_key FROM web_certificate ORDER BY id"
        ),
        "audit": query(server, "SELECT id, prev_hash, hash FROM ingest_auditevent ORDER BY id"),
    }


def logged_in(server: ServerProcess) -> requests.Session:
    s = requests.Session()
    s.get(f"{server.url}/accounts/login/", timeout=10)
    resp = s.post(
        f"{server.url}/accounts/login/",
        {"username": "root", "password": PASSWORD, "csrfmiddlewaretoken": s.cookies["csrftoken"]},
        timeout=10,
        allow_redirects=False,
    )
    assert resp.status_code == 302, resp.text[-2000:]
    return s


def test_backup_wipe_restore_gives_the_same_server(tmp_path: Path):
    first = ServerProcess(tmp_path / "first")
    second = ServerProcess(tmp_path / "second")
    for server in (first, second):
        server.env["DJANGO_SUPERUSER_PASSWORD"] = PASSWORD
    try:
        first.start()
        station = first.add_station("bench-backup")
        first.manage("add-station", "bench-loose", "--allow-unsigned")
        for n in (11, 12, 13):
            report = sample_report(n, station=station.name)
            report.erasures = [sign_record(r, station.key) for r in report.erasures]
            body = report_json(sign_report(report, station.key))
            resp = requests.post(
                f"{first.url}/api/v1/reports",
                data=body,
                headers={"Authorization": f"Bearer {station.token}"},
                timeout=30,
            )
            assert resp.status_code == 201, resp.text
        first.manage("createsuperuser", "--noinput", "--username", "root", "--email", "r@x.org")
        web = logged_in(first)
        resp = web.post(
            f"{first.url}/devices/DG-000011/certificate",
            {"csrfmiddlewaretoken": web.cookies["csrftoken"]},
            allow_redirects=False,
            timeout=30,
        )
        found = re.search(r"/certificates/([0-9a-f-]{36})\.pdf", resp.headers.get("Location", ""))
        assert found, resp.headers
        cert_id = found.group(1)
        before = snapshot(first)
        assert before["certificates"] and len(before["devices"]) == 3

        backup_dir = tmp_path / "backup"
        first.manage("backup", str(backup_dir))  # while the server runs
        assert (backup_dir / "database.json").stat().st_mode & 0o077 == 0
        verified_before = requests.get(f"{first.url}/verify/{cert_id}.json", timeout=10).json()
        first.drop()
        shutil.rmtree(first.data_dir)  # the wipe

        out = second.manage("restore", str(backup_dir))
        assert "restored" in out
        assert "intact" in second.manage("verify-audit")
        again = subprocess.run(
            [*server_command(), "restore", str(backup_dir)],
            env=second.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert again.returncode == 1 and "already holds" in again.stderr
        assert snapshot(second) == before
        second.start()
        verify = requests.get(f"{second.url}/verify/{cert_id}.json", timeout=10).json()
        assert verify == verified_before
        page = requests.get(f"{second.url}/verify/{cert_id}/", timeout=10)
        assert page.status_code == 200 and 'class="ok"' in page.text
        assert (
            logged_in(second).get(f"{second.url}/devices/", timeout=10).text.count("DG-0000") >= 3
        )
    finally:
        first.drop()
        second.drop()


def test_restore_refuses_a_damaged_backup(tmp_path: Path):
    server = ServerProcess(tmp_path / "srv", postgres_url=None)
    server.manage("migrate")
    server.manage("backup", str(tmp_path / "b"))
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert "database.json" in manifest["files"]
    (tmp_path / "b" / "database.json").write_text("[]")
    fresh = ServerProcess(tmp_path / "fresh", postgres_url=None)
    out = subprocess.run(
        [*server_command(), "restore", str(tmp_path / "b")],
        env=fresh.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1 and "damaged" in out.stderr
    assert "Traceback" not in out.stderr


def test_concurrent_reports_keep_one_unbroken_audit_chain(central: ServerProcess):
    """Two worker processes with four threads each append at once; the chain stays linear."""
    from concurrent.futures import ThreadPoolExecutor

    stations = [central.add_station(f"bench-chain-{i}") for i in range(4)]

    def post_all(i: int) -> list[int]:
        st = stations[i]
        codes = []
        for n in range(5):
            report = sample_report(500 + 10 * i + n, station=st.name)
            resp = requests.post(
                f"{central.url}/api/v1/reports",
                data=report_json(sign_report(report, st.key)),
                headers={"Authorization": f"Bearer {st.token}"},
                timeout=60,
            )
            codes.append(resp.status_code)
        return codes

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(post_all, range(4)))
    assert all(code == 201 for codes in results for code in codes), results
    assert "intact" in central.manage("verify-audit")
    prev = [row[0] for row in query(central, "SELECT prev_hash FROM ingest_auditevent")]
    assert len(prev) == len(set(prev)), "two events link to the same predecessor"


def test_a_station_shows_why_the_server_refuses_it(
    central: ServerProcess, tmp_path: Path, capsys: Any, monkeypatch: Any
):
    """A key-less station that was not allowed: the reason and the fix, and nothing lost."""
    from agent.cli import main as digibench
    from agent.uplink.outbox import Outbox

    monkeypatch.setenv("DIGIBENCH_STATION_CONFIG", str(tmp_path / "none.toml"))
    (tmp_path / "none.toml").write_text("")
    token = central.manage("add-station", "bench-keyless").splitlines()[-1]
    outbox = Outbox(tmp_path / "ob")
    outbox.put(report_json(sample_report(42)))
    code = digibench(
        ["outbox", "flush", "--outbox", str(outbox.root), "--server", central.url, "--token", token]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert "station_key_missing" in err and "add-station" in err
    assert len(outbox.pending()) == 1  # kept for when the key is registered
