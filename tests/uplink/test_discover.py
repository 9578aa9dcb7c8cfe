"""mDNS discovery of the server (``_digibench._tcp``) with real sockets on loopback: the
server's announcement (the library call and the ``digibench-server announce`` process)
found by the station's browse; nothing announced finds nothing."""

from __future__ import annotations

import os
import signal
import subprocess

from agent.uplink.discover import Found, discover, service_url
from server.discovery import announced
from tests.uplink.server_process import server_command

LOOPBACK = ["127.0.0.1"]


def test_an_announced_server_is_found() -> None:
    with announced("https://digibench.example.org", name="Werkbank Noord", interfaces=LOOPBACK):
        found = discover(1.5, interfaces=LOOPBACK)
    assert found == [Found("Werkbank Noord", "https://digibench.example.org")]


def test_nothing_announced_finds_nothing() -> None:
    assert discover(0.5, interfaces=LOOPBACK) == []


def test_the_announce_command_is_found_and_stops_cleanly() -> None:
    """The process a deployment runs (systemd stops it with SIGTERM)."""
    proc = subprocess.Popen(
        [*server_command(), "announce", "--url", "http://127.0.0.1:8123", "--name", "Bench"],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "DIGIBENCH_DATA_DIR": "/nonexistent"},
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        assert "announcing http://127.0.0.1:8123" in proc.stdout.readline()
        found = discover(2.0, interfaces=LOOPBACK)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(60)
    assert Found("Bench", "http://127.0.0.1:8123") in found
    assert code == 0


def test_the_address_offered() -> None:
    # the announced url wins: it is what the server's TLS certificate names
    assert service_url(["192.0.2.7"], 443, {"url": "https://db.example.org/"}) == (
        "https://db.example.org"
    )
    assert service_url(["fe80::1", "192.0.2.7"], 8000, {}) == "http://192.0.2.7:8000"
    assert service_url(["2001:db8::7"], 8443, {"scheme": "https", "path": "/digibench/"}) == (
        "https://[2001:db8::7]:8443/digibench"
    )
    assert service_url([], 8000, {}, "bench.local.") == "http://bench.local:8000"
    assert service_url([], 8000, {}) is None
    assert service_url(["192.0.2.7"], 8000, {"url": "javascript:alert(1)"}) == (
        "http://192.0.2.7:8000"
    )
