"""mDNS discovery of the server (``_digibench._tcp``) with real sockets on loopback: the
server's announcement (the library call and the ``digibench-server announce`` process)
found by the station's browse; nothing announced finds nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import uuid

from agent.uplink.discover import Found, discover, service_url
from server.discovery import announced
from tests.uplink.server_process import server_command

LOOPBACK = ["127.0.0.1"]
# Other test runs on this machine may announce on loopback at the same time: each test looks
# for its own instance names only.
RUN = uuid.uuid4().hex[:8]


def test_an_announced_server_is_found() -> None:
    name = f"Werkbank Noord {RUN}"
    with announced("https://digibench.example.org", name=name, interfaces=LOOPBACK):
        found = discover(1.5, interfaces=LOOPBACK)
    assert [f for f in found if f.name == name] == [Found(name, "https://digibench.example.org")]


def test_a_withdrawn_announcement_is_not_found() -> None:
    name = f"Werkbank Zuid {RUN}"
    with announced("https://zuid.example.org", name=name, interfaces=LOOPBACK):
        assert name in {f.name for f in discover(1.5, interfaces=LOOPBACK)}
    assert name not in {f.name for f in discover(0.5, interfaces=LOOPBACK)}


def test_the_announce_command_is_found_and_stops_cleanly() -> None:
    """The process a deployment runs (systemd stops it with SIGTERM)."""
    proc = subprocess.Popen(
        [*server_command(), "announce", "--url", "http://127.0.0.1:8123", "--name", f"Bench {RUN}"],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "DIGIBENCH_DATA_DIR": "/nonexistent"},
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        assert "announcing http://127.0.0.1:8123" in proc.stdout.readline()
        found = discover(2.0, interfaces=LOOPBACK)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(60)
    assert Found(f"Bench {RUN}", "http://127.0.0.1:8123") in found
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
