"""Web UI latency with 100,000 laptops: the device list (first page, a filtered page,
a search, a deep keyset page) and the device page, over HTTP from the real server.

Seeds a fresh SQLite database directly (one realistic report body shared by all
runs, two disks and two erasure records per laptop), starts ``digibench-server
serve`` on it and prints p50/p95 per page.

    .venv/bin/python bench/webui.py [--devices 100000] [--requests 40]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

PASSWORD = "bench-password-123"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def seed(n: int) -> None:
    import django

    os.environ["DJANGO_SETTINGS_MODULE"] = "server.settings"
    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    from agent.report.samples import sample_report
    from agent.uplink.signed import report_json
    from server.ingest import models
    from server.web.models import DeviceStatus

    call_command("migrate", verbosity=0)
    raw = report_json(sample_report(0)).decode()
    stations = [
        models.Station.objects.create(name=f"bench-{i}", token_prefix=f"p{i}", token_hash="x")
        for i in range(6)
    ]
    grades = ["A", "B", "B", "C", "parts", "recycle"]
    dests = {"A": "lend", "B": "lend", "C": "repair", "parts": "parts", "recycle": "recycle"}
    rng = random.Random(7)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    chunk = 5000
    t0 = time.monotonic()
    for base in range(0, n, chunk):
        with transaction.atomic():
            ids = range(base, min(n, base + chunk))
            devices = models.Device.objects.bulk_create(
                models.Device(
                    identity_key=f"serial:lenovo:PF1{i:07d}",
                    serial=f"PF1{i:07d}",
                    asset_tag=f"DG-{i:06d}",
                    vendor="LENOVO",
                    product_name="20L5CTO1WW",
                )
                for i in ids
            )
            when = {i: start + timedelta(minutes=5 * i) for i in ids}
            runs = models.Run.objects.bulk_create(
                models.Run(
                    report_id=uuid.UUID(int=i + 1),
                    station=stations[i % 6],
                    device=d,
                    schema_version="1.0",
                    mode="intake",
                    asset_tag=d.asset_tag,
                    created_at=when[i],
                    finished_at=when[i],
                    content_sha256="0" * 64,
                    raw_body=raw,
                    signature_status="unsigned",
                )
                for i, d in zip(ids, devices, strict=True)
            )
            disks, erasures, grades_, statuses = [], [], [], []
            for i, d, r in zip(ids, devices, runs, strict=True):
                grade = rng.choice(grades)
                failed = i % 97 == 0
                for name, serial in (("nvme0n1", f"S4EUNX0M{i:07d}"), ("sda", f"S3Z2NB0K{i:07d}")):
                    disks.append(
                        models.Disk(
                            run=r,
                            name=name,
                            serial=serial,
                            model="SAMSUNG",
                            size_bytes=512 * 10**9,
                            verdict="healthy",
                        )
                    )
                    erasures.append(
                        models.ErasureRecord(
                            run=r,
                            record_id=uuid.uuid4(),
                            disk_serial=serial,
                            disk_model="SAMSUNG",
                            disk_size_bytes=512 * 10**9,
                            method="nvme-format-crypto",
                            level="purge",
                            result="failed" if failed else "erased",
                            started_at=when[i],
                            finished_at=when[i],
                            verification_passed=not failed,
                        )
                    )
                grades_.append(models.Grade(run=r, grade=grade, destination=dests[grade]))
                statuses.append(
                    DeviceStatus(
                        device=d,
                        asset_tag=d.asset_tag,
                        serial=d.serial,
                        model="LENOVO ThinkPad T480",
                        station=stations[i % 6].name,
                        last_run=r,
                        last_run_at=when[i],
                        report_finished=True,
                        report_grade=grade,
                        grade=grade,
                        proposal=dests[grade],
                        erasure="failed" if failed else "verified",
                        battery_health=60 + i % 40,
                        search=f"{d.asset_tag} {d.serial} lenovo thinkpad t480 s4eunx0m{i:07d} "
                        f"s3z2nb0k{i:07d}".lower(),
                    )
                )
            models.Disk.objects.bulk_create(disks)
            models.ErasureRecord.objects.bulk_create(erasures)
            models.Grade.objects.bulk_create(grades_)
            DeviceStatus.objects.bulk_create(statuses)
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    print(f"seeded {n} laptops in {time.monotonic() - t0:.0f} s", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--keep", type=Path, help="seed into DIR once, reuse it next time")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="digibench-bench-web-") as tmp:
        data = args.keep or Path(tmp) / "server"
        reuse = (data / "digibench.sqlite3").exists()
        data.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        env.update(DIGIBENCH_DATA_DIR=str(data), DJANGO_SETTINGS_MODULE="server.settings")
        if not reuse:
            cmd = [sys.executable, __file__, "--seed", str(args.devices)]
            subprocess.run(cmd, env=env, check=True)
        env["DIGIBENCH_PASSWORD"] = PASSWORD
        subprocess.run(
            [sys.executable, "-m", "django", "webuser", "carla", "--role", "coordinator"],
            env=env,
            check=True,
            capture_output=True,
        )
        from tests.uplink.server_process import ServerProcess

        server = ServerProcess(data, postgres_url=None)
        try:
            server.start()
            s = requests.Session()
            login = s.get(f"{server.url}/accounts/login/", timeout=30)
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text)
            assert token is not None
            s.post(
                f"{server.url}/accounts/login/",
                timeout=30,
                data={
                    "username": "carla",
                    "password": PASSWORD,
                    "csrfmiddlewaretoken": token.group(1),
                },
            ).raise_for_status()
            first = s.get(f"{server.url}/devices/", timeout=30)
            deep = re.search(r'rel="next" href="\?[^"]*after=([^"&]+)', first.text)
            assert deep is not None, "no next page"
            mid = args.devices // 2
            pages = {
                "device list, first page": "/devices/",
                "device list, grade=C & station": "/devices/?grade=C&station=bench-3",
                "device list, sorted by model": "/devices/?sort=model&dir=asc",
                "device list, next page (keyset)": f"/devices/?after={deep.group(1)}",
                "device list, search a disk serial": f"/devices/?q=s3z2nb0k{mid:07d}",
                "device list, search 'dg-0123'": "/devices/?q=dg-0123",
                "device page": f"/devices/DG-{mid:06d}/",
                "dashboard, this week": "/?period=week",
            }
            print(f"{args.devices} laptops, {args.requests} requests per page, SQLite")
            for label, path in pages.items():
                times = []
                for _ in range(args.requests):
                    t = time.perf_counter()
                    r = s.get(f"{server.url}{path}", timeout=60)
                    times.append((time.perf_counter() - t) * 1000)
                    r.raise_for_status()
                    assert "/accounts/login/" not in r.url
                print(
                    f"  {label:38s} p50 {statistics.median(times):6.1f} ms"
                    f"   p95 {percentile(times, 0.95):6.1f} ms"
                )
        finally:
            server.drop()
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--seed"]:
        seed(int(sys.argv[2]))
        sys.exit(0)
    sys.exit(main())
