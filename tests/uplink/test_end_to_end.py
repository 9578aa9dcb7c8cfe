"""The agent uplink against the real server process, over real HTTP on loopback."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from agent.cli import main as digibench
from agent.report.samples import sample_report
from agent.uplink.client import UplinkConfig, Uploader, flush
from agent.uplink.outbox import Outbox
from agent.uplink.signed import report_json, sign_report
from tests.uplink.server_process import ServerProcess, Station, free_port

pytestmark = pytest.mark.slow


def digibench_cli(*args: object) -> int:
    return digibench([str(a) for a in args])


def signed(st: Station, n: int) -> bytes:
    return report_json(sign_report(sample_report(n, station=st.name), st.key))


def uploader(server: ServerProcess, st: Station, **kw: object) -> Uploader:
    return Uploader(UplinkConfig(server_url=server.url, token=st.token, **kw))  # type: ignore[arg-type]


def test_upload_command_delivers_and_empties_the_outbox(
    central: ServerProcess, station: Station, tmp_path: Path
):
    report = tmp_path / "report.json"
    report.write_bytes(signed(station, 1001))
    outbox = tmp_path / "outbox"
    code = digibench_cli(
        "upload", "--outbox", outbox, "--server", central.url, "--token", station.token, report
    )
    assert code == 0
    assert Outbox(outbox).pending() == []
    report_id = json.loads(report.read_bytes())["report_id"]
    got = requests.get(
        f"{central.url}/api/v1/reports/{report_id}",
        headers={"Authorization": f"Bearer {station.token}"},
        timeout=10,
    )
    assert got.status_code == 200
    assert got.json()["signature_status"] == "valid"
    assert got.json()["report"] == json.loads(report.read_bytes())
    # Uploading the same file again is a harmless retry.
    assert digibench(["upload", "--outbox", str(outbox), "--server", central.url,
                      "--token", station.token, str(report)]) == 0  # fmt: skip
    assert central.count("ingest_run", "WHERE report_id = ?", report_id.replace("-", "")) == 1


def test_unsigned_report_is_signed_with_the_station_key(
    central: ServerProcess, station: Station, tmp_path: Path
):
    report = tmp_path / "unsigned.json"
    report.write_bytes(report_json(sample_report(1002, station=station.name)))
    code = digibench_cli(
        "upload", "--outbox", tmp_path / "ob", "--server", central.url,
        "--token", station.token, "--sign-with", station.key_dir, report,
    )  # fmt: skip
    assert code == 0
    report_id = json.loads(report.read_bytes())["report_id"]
    got = requests.get(
        f"{central.url}/api/v1/reports/{report_id}",
        headers={"Authorization": f"Bearer {station.token}"},
        timeout=10,
    ).json()
    assert got["signature_status"] == "valid"


def test_server_down_then_up(tmp_path: Path):
    server = ServerProcess(tmp_path / "server", free_port())
    server.start()
    try:
        st = server.add_station("bench-down")
    finally:
        server.stop()
    outbox = Outbox(tmp_path / "outbox")
    entry = outbox.put(signed(st, 2001))
    up = uploader(server, st, retries=2, backoff_s=0.05, timeout_s=5)
    result = flush(outbox, up)
    assert not result.ok and result.error
    assert [e.report_id for e in outbox.pending()] == [entry.report_id]
    server.start()
    try:
        assert flush(outbox, up).acknowledged == [entry.report_id]
        assert outbox.pending() == []
        assert server.count() == 1
    finally:
        server.drop()


def test_sigkill_between_send_and_delete_stores_nothing_twice(
    central: ServerProcess, station: Station, tmp_path: Path
):
    outbox = Outbox(tmp_path / "outbox")
    entry = outbox.put(signed(station, 3001))
    marker = tmp_path / "acknowledged"
    helper = Path(__file__).with_name("hang_before_delete.py")
    proc = subprocess.Popen(
        [sys.executable, str(helper), str(outbox.root), central.url, station.token, str(marker)],
        cwd=Path(__file__).parents[2],
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.read_text() == entry.report_id
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    # The server has it, the stick still has it: the next flush must not duplicate it.
    run_id = entry.report_id.replace("-", "")
    assert central.count("ingest_run", "WHERE report_id = ?", run_id) == 1
    assert [e.report_id for e in outbox.pending()] == [entry.report_id]
    result = flush(outbox, uploader(central, station))
    assert result.acknowledged == [entry.report_id]
    assert outbox.pending() == []
    assert central.count("ingest_run", "WHERE report_id = ?", run_id) == 1


def test_fifty_uploads_from_five_concurrent_stations(central: ServerProcess, tmp_path: Path):
    stations = [central.add_station(f"bench-c{i}") for i in range(5)]
    outboxes = []
    for i, st in enumerate(stations):
        ob = Outbox(tmp_path / st.name)
        for n in range(10):
            ob.put(signed(st, 10_000 + 100 * i + n))
        outboxes.append(ob)
    results: dict[str, list[str]] = {}
    barrier = threading.Barrier(5)

    def run(st: Station, ob: Outbox) -> None:
        barrier.wait(timeout=30)
        results[st.name] = flush(ob, uploader(central, st)).acknowledged

    threads = [
        threading.Thread(target=run, args=pair) for pair in zip(stations, outboxes, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(len(v) for v in results.values()) == [10] * 5
    assert all(ob.pending() == [] for ob in outboxes)
    names = ",".join(f"'{st.name}'" for st in stations)
    where = f"JOIN ingest_station s ON s.id = station_id WHERE s.name IN ({names})"
    assert central.count("ingest_run", where) == 50


def test_refused_reports_move_aside_with_the_answer(
    central: ServerProcess, station: Station, tmp_path: Path
):
    first = sample_report(4001, station=station.name)
    outbox = Outbox(tmp_path / "outbox")
    outbox.put(report_json(sign_report(first, station.key)))
    assert flush(outbox, uploader(central, station)).ok
    # Same UUID, other content: 409. A report signed by a stranger's key: 422.
    changed = first.model_copy(update={"asset_tag": "DG-OTHER"})
    outbox.put(report_json(sign_report(changed, station.key)))
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    forged = sign_report(sample_report(4002, station=station.name), Ed25519PrivateKey.generate())
    outbox.put(report_json(forged))
    before = central.count()
    result = flush(outbox, uploader(central, station))
    assert sorted(result.rejected) == sorted([str(first.report_id), str(forged.report_id)])
    assert outbox.pending() == []
    answers = {
        json.loads(p.read_text())["status"] for p in outbox.rejected_dir.glob("*.answer.json")
    }
    assert answers == {409, 422}
    assert len(outbox.rejected()) == 2
    assert central.count() == before


def test_revoked_token_keeps_reports_waiting(central: ServerProcess, tmp_path: Path):
    st = central.add_station("bench-revoked")
    central.manage("revoke-station", st.name)
    outbox = Outbox(tmp_path / "outbox")
    outbox.put(signed(st, 5001))
    code = digibench_cli(
        "outbox", "flush", "--outbox", outbox.root, "--server", central.url, "--token", st.token
    )
    assert code == 1
    assert len(outbox.pending()) == 1
