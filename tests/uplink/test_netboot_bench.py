"""The bench server between network-booted laptops and the central server, over real HTTP:
per-boot sessions, signing for the station without handing out its key, reports kept and
delivered, heartbeats passed on, and one backing-store read for many downloads."""

from __future__ import annotations

import base64
import json
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from agent.config import load_config
from agent.erase.record import check_record, sign_record
from agent.flash.source import HttpReader
from agent.netboot.signer import RemoteSigningError, RemoteStationKey
from agent.report.samples import sample_report
from agent.signing import PRIVATE_KEY_NAME, public_key_b64
from agent.uplink.signed import report_json, sign_report
from tests.netboot.bench_process import BenchProcess
from tests.uplink.server_process import ServerProcess, Station

pytestmark = pytest.mark.slow

MAC_A, MAC_B = "52:54:00:00:00:0a", "52:54:00:00:00:0b"
IMAGE = "os.img.zst"


@dataclass
class World:
    bench: BenchProcess
    central: ServerProcess
    station: Station
    data: Path
    image: bytes


def _bench_config(central: ServerProcess, station: Station, data: Path) -> Path:
    shutil.copytree(station.key_dir, data / "keys")
    (data / "images").mkdir()
    (data / "policy.toml").write_text("[grading]\nram_lend_gib = 1.5\n")
    config = data / "station.toml"
    config.write_text(
        f'policy = "policy.toml"\n[station]\nname = "{station.name}"\ndata_dir = "."\n'
        f'[server]\nurl = "{central.url}"\ntoken = "{station.token}"\n'
        '[image]\nsource = "images/os.manifest.json"\n'
        '[testing]\nallowed_devices = ["serial:VM0001"]\nprofile_root = "/bench/only"\n'
    )
    return config


@pytest.fixture(scope="module")
def world(central: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    station = central.add_station("netboot-bench")
    work = tmp_path_factory.mktemp("bench")
    data = work / "data"
    data.mkdir()
    config = _bench_config(central, station, data)
    image = os.urandom(5 << 20)
    (data / "images" / IMAGE).write_bytes(image)
    (data / "images" / "os.manifest.json").write_text('{"image": "os.img.zst"}')
    live = work / "live"
    live.mkdir()
    (live / "vmlinuz").write_bytes(b"kernel")
    (live / "initrd.img").write_bytes(b"initramfs")
    laptops = work / "laptops.toml"
    laptops.write_text(
        f'["{MAC_A}"]\nheadless = true\nrun = {{ asset_tag = "DB-NB-1", confirm_wipe = true }}\n'
    )
    bench = BenchProcess(config, live, work, laptops=laptops, kernel_args="console=ttyS0")
    bench.start()
    try:
        yield World(bench, central, station, data, image)
    finally:
        bench.stop()


def _join(world: World, mac: str) -> dict[str, object]:
    answer = requests.post(f"{world.bench.url}/netboot/join", json={"mac": mac}, timeout=10)
    assert answer.status_code == 201, answer.text
    body: dict[str, object] = answer.json()
    return body


def _laptop(world: World, tmp_path: Path, mac: str = MAC_A) -> tuple[Path, str]:
    """A laptop's RAM disk after joining: its config and session token."""
    from agent.netboot.cli import join

    join(world.bench.url, mac, tmp_path / "ram")
    config = load_config(tmp_path / "ram" / "station.toml")
    assert config.server.token
    return tmp_path / "ram" / "station.toml", config.server.token


def test_the_boot_script_names_the_live_system(world: World) -> None:
    script = requests.get(f"{world.bench.url}/boot.ipxe", timeout=10).text
    assert f"kernel {world.bench.url}/live/vmlinuz " in script
    assert "console=ttyS0" in script
    assert requests.get(f"{world.bench.url}/live/vmlinuz", timeout=10).content == b"kernel"


def test_a_joining_laptop_gets_its_own_session_and_the_bench_config(
    world: World, tmp_path: Path
) -> None:
    path, token = _laptop(world, tmp_path)
    config = load_config(path)
    assert config.station.name == world.station.name
    assert config.netboot.bench == world.bench.url
    assert config.server.url == world.bench.url  # reports and heartbeats go to the bench
    assert token != world.station.token
    assert config.image.source == f"{world.bench.url}/images/os.manifest.json"
    assert config.headless.asset_tag == "DB-NB-1" and config.headless.confirm_wipe
    assert config.testing.allowed_devices == ["serial:VM0001"]
    assert config.testing.profile_root is None  # a bench-only path means nothing on a laptop
    assert (path.parent / "policy.toml").read_text().startswith("[grading]")
    assert world.station.token not in path.read_text()
    assert not list(path.parent.rglob(PRIVATE_KEY_NAME))
    other = _join(world, MAC_B)  # a laptop the bench has no settings for: the TUI
    assert other["headless"] is False
    assert "asset_tag" not in str(other["station_toml"])


def test_bad_joins_are_refused(world: World) -> None:
    url = f"{world.bench.url}/netboot/join"
    assert requests.post(url, json={"mac": "not-a-mac"}, timeout=10).status_code == 400
    assert requests.post(url, data=b"{", timeout=10).status_code == 400


def test_the_bench_signs_records_for_its_laptops_only(world: World, tmp_path: Path) -> None:
    _, token = _laptop(world, tmp_path)
    url = f"{world.bench.url}/netboot/sign"
    report = sample_report(1, station=world.station.name)
    record = report.erasures[0].model_copy(update={"station": world.station.name})
    assert requests.post(url, data=b"{}", timeout=10).status_code == 401
    bogus = {"Authorization": "Bearer forged"}
    assert requests.post(url, data=b"{}", headers=bogus, timeout=10).status_code == 401
    with pytest.raises(RemoteSigningError):
        RemoteStationKey(world.bench.url, token).sign(b'{"anything":"at all"}')
    other = record.model_copy(update={"station": "someone-else"})
    with pytest.raises(RemoteSigningError):
        sign_record(other, RemoteStationKey(world.bench.url, token))

    signed = sign_record(record, RemoteStationKey(world.bench.url, token))
    path = tmp_path / "record.json"
    path.write_text(signed.model_dump_json())
    public = base64.b64encode(world.station.key.public_key().public_bytes_raw()).decode()
    assert check_record(path, public).record_id == record.record_id  # the station's key
    kept = world.data / "records" / "netboot" / f"erasure-{record.record_id}.json"
    assert json.loads(kept.read_text())["record_id"] == str(record.record_id)


def test_a_report_goes_through_the_bench_signed_as_the_station(
    world: World, tmp_path: Path
) -> None:
    _, token = _laptop(world, tmp_path)
    key = RemoteStationKey(world.bench.url, token)
    report = sample_report(2, station=world.station.name)
    report.station.public_key = public_key_b64(key)
    body = report_json(sign_report(report, key))
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    url = f"{world.bench.url}/api/v1/reports"
    answer = requests.post(url, data=body, headers=auth, timeout=30)
    assert answer.status_code == 201, answer.text
    assert answer.json()["delivered"] is True
    stored = requests.get(
        f"{world.central.url}/api/v1/reports/{report.report_id}",
        headers={"Authorization": f"Bearer {world.station.token}"},
        timeout=10,
    ).json()
    assert stored["signature_status"] == "valid"
    assert not list((world.data / "outbox").glob("*.json"))
    again = requests.post(url, data=body, headers=auth, timeout=30)  # a retry: no duplicate
    assert again.status_code == 201
    rid = str(report.report_id).replace("-", "")
    assert world.central.count("ingest_run", "WHERE report_id = ?", rid) == 1
    no_session = requests.post(url, data=body, timeout=30)
    assert no_session.status_code == 401


def test_heartbeats_reach_the_werkbank(world: World, tmp_path: Path) -> None:
    _, token = _laptop(world, tmp_path)
    beat = {"run_id": "2b1c5c8e-5d0c-4a57-9a4e-3f2a0d7c9e11", "asset_tag": "DB-NB-7",
            "stage": "wipe", "percent": 12.5, "eta_s": 300, "attention": "",
            "message_code": ""}  # fmt: skip
    answer = requests.post(
        f"{world.bench.url}/api/v1/heartbeats",
        json=beat,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert answer.status_code < 300, answer.text
    assert world.central.count("bench_heartbeat", "WHERE asset_tag = ?", "DB-NB-7") == 1


def test_many_downloads_one_backing_read(world: World) -> None:
    url = f"{world.bench.url}/images/{IMAGE}"
    got: dict[int, bytes] = {}
    start = threading.Barrier(3)

    def download(n: int) -> None:
        start.wait()
        reader = HttpReader(url)
        chunks = []
        while chunk := reader.read(1 << 20):
            chunks.append(chunk)
        got[n] = b"".join(chunks)

    threads = [threading.Thread(target=download, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [got[n] == world.image for n in range(3)] == [True, True, True]
    part = requests.get(url, headers={"Range": "bytes=1000-1999"}, timeout=10)
    assert part.status_code == 206 and part.content == world.image[1000:2000]
    assert part.headers["Content-Range"] == f"bytes 1000-1999/{len(world.image)}"
    assert world.bench.backing_reads(IMAGE) == 1
    assert requests.get(f"{world.bench.url}/netboot/stats", timeout=10).json()["images"] == {
        IMAGE: 1
    }
    assert (
        requests.get(f"{world.bench.url}/images/../keys/station.key", timeout=10).status_code == 404
    )


def test_only_allowed_networks_may_join(world: World, tmp_path: Path) -> None:
    config = world.data / "station.toml"
    other = BenchProcess(config, tmp_path, tmp_path, allow=["10.0.0.0/8"])
    other.start()
    try:
        answer = requests.post(f"{other.url}/netboot/join", json={"mac": MAC_A}, timeout=10)
        assert answer.status_code == 403
    finally:
        other.stop()
