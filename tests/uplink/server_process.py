"""The real server as a separate process on a loopback port, with a fresh database.

Used by the end-to-end tests and by bench/ingest.py.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from psycopg import sql

from agent.signing import load_or_create_key

LOOPBACK = "127.0.0.1"


#: how long a server may take to answer its first request
STARTUP_S = 240


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def start_process(
    cmd: list[str],
    log: Path,
    ready_url: str,
    *,
    env: dict[str, str] | None = None,
    verify: str | bool = True,
    what: str = "server",
) -> subprocess.Popen[bytes]:
    """Start ``cmd`` with its output in ``log`` and wait until ``ready_url`` answers."""
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    # generous: a machine busy with QEMU guests took over 60 s to start gunicorn (an empty
    # log, no error); a server that never answers still fails, and is stopped
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited: {log.read_text()[-3000:]}")
        try:
            if requests.get(ready_url, timeout=2, verify=verify).ok:
                return proc
        except requests.RequestException:
            pass
        time.sleep(0.2)
    proc.kill()
    proc.wait(timeout=20)
    raise AssertionError(f"{what} did not come up in {STARTUP_S} s: {log.read_text()[-3000:]}")


def stop_process(proc: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM, then SIGKILL after 20 s."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def server_command() -> list[str]:
    script = Path(sys.executable).parent / "digibench-server"
    return [str(script)] if script.exists() else [sys.executable, "-m", "server.cli"]


@dataclass
class Station:
    name: str
    token: str
    key: Ed25519PrivateKey
    key_dir: Path


class ServerProcess:
    """``digibench-server serve`` on 127.0.0.1 only; stopped and killed by the test."""

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        *,
        tls: tuple[Path, Path] | None = None,
        ca_file: Path | None = None,
        postgres_url: str | None = "env",
    ):
        self.data_dir = data_dir
        self.port = port or free_port()
        self.tls = tls
        self.ca_file = ca_file  # what the readiness check trusts
        self.workers, self.threads = 2, 4
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://{LOOPBACK}:{self.port}"
        self.log = data_dir / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        self.env["DIGIBENCH_DATA_DIR"] = str(data_dir)
        # PostgreSQL (``postgres_url``, by default $DATABASE_URL): a fresh database per server.
        if postgres_url == "env":
            postgres_url = os.environ.get("DATABASE_URL")
        self.pg_admin_url = postgres_url or None
        self.pg_db: str | None = None
        if self.pg_admin_url:
            self.pg_db = f"digibench_e2e_{uuid.uuid4().hex[:12]}"
            with psycopg.connect(self.pg_admin_url, autocommit=True) as conn:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.pg_db)))
            self.env["DATABASE_URL"] = str(
                urlsplit(self.pg_admin_url)._replace(path=f"/{self.pg_db}").geturl()
            )

    def manage(self, *args: str) -> str:
        out = subprocess.run(
            [*server_command(), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        return out.stdout

    def api(self, path: str, token: str, **params: str) -> Any:
        """GET ``/api/v1/<path>`` as a station; the answer must be 200."""
        answer = requests.get(
            f"{self.url}/api/v1/{path}",
            params=params,
            headers={"Authorization": f"Bearer {token}"},
            timeout=20,
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    def add_station(self, name: str) -> Station:
        key_dir = self.data_dir / "stations" / name
        key = load_or_create_key(key_dir)
        out = self.manage("add-station", name, "--public-key", str(key_dir / "station.pub"))
        return Station(name, out.splitlines()[-1], key, key_dir)

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        cmd = [*server_command(), "serve", "--host", LOOPBACK, "--port", str(self.port)]
        cmd += ["--workers", str(self.workers), "--threads", str(self.threads)]
        if self.tls:
            cmd += ["--certfile", str(self.tls[0]), "--keyfile", str(self.tls[1])]
        verify = str(self.ca_file) if self.ca_file else True
        self.proc = start_process(
            cmd, self.log, f"{self.url}/api/v1/openapi.json", env=self.env, verify=verify
        )

    def stop(self) -> None:
        stop_process(self.proc)

    def count(self, table: str = "ingest_run", where: str = "", *params: object) -> int:
        """Rows in the server's database, read directly from it."""
        query = f"SELECT COUNT(*) FROM {table} {where}"
        if self.pg_db:
            with psycopg.connect(self.env["DATABASE_URL"]) as conn:
                row = conn.execute(query.replace("?", "%s"), params).fetchone()  # type: ignore[arg-type]
                assert row is not None
                return int(row[0])
        db = sqlite3.connect(f"file:{self.data_dir / 'digibench.sqlite3'}?mode=ro", uri=True)
        try:
            return int(db.execute(query, params).fetchone()[0])
        finally:
            db.close()

    def drop(self) -> None:
        """Stop, and drop the PostgreSQL database if this server had one."""
        self.stop()
        if self.pg_admin_url and self.pg_db:
            # FORCE ends the server's leftover sessions, but PostgreSQL 15 refuses it while an
            # autovacuum worker (no role) is in the database, as after a restore: the plain
            # DROP cancels autovacuum itself, so fall back to it and retry briefly.
            name = sql.Identifier(self.pg_db)
            with psycopg.connect(self.pg_admin_url, autocommit=True) as conn:
                for attempt in range(20):
                    force = sql.SQL(" WITH (FORCE)") if attempt % 2 == 0 else sql.SQL("")
                    try:
                        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(name) + force)
                        return
                    except (psycopg.errors.InsufficientPrivilege, psycopg.errors.ObjectInUse):
                        if attempt == 19:
                            raise
                        time.sleep(0.5)
