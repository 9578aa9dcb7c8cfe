"""Web UI speed at 100,000 laptops: every page, its p50/p95 over HTTP and its query count.

Seeds a fresh database directly (one realistic report body shared by all runs, two disks
and two erasure records per laptop, donation batches, loans, heartbeats, audit events) in
two steps: a small one (``--small`` laptops), where each page's queries are counted, then
up to ``--devices``, where they are counted again. A page whose query count grew with the
number of laptops makes a query per row: that fails ``--check`` (as does a page that
answers with an error). Timings are printed, never judged: the CPU time each page costs
in-process (steady on a busy machine; PostgreSQL's own work is not in it), then over HTTP
from ``digibench-server serve`` on the same database (wall clock, as a user waits).

    .venv/bin/python bench/webui.py [--devices 100000] [--requests 40] [--postgres URL]
    .venv/bin/python bench/webui.py --devices 2000 --requests 3 --check   # what CI runs

Seeding is bulk inserts in one transaction (indexes intact, every row a real model
row). ``--keep DIR`` (SQLite) or ``--keep-postgres`` (a template database named after the
seed version and size, ``<db>_seed<V>_<laptops>``, cloned with CREATE DATABASE ...
TEMPLATE) seeds once and reuses the result; a reused database is migrated first, so a
new migration's backfill runs on it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

#: bump when the seeded rows change, so no stale template database is reused
SEED_VERSION = 2
USER = "bench"
PASSWORD = "bench-password-123"
#: laptops in the big donation batch (the batch page's case)
BATCH_SIZE = 500
#: laptops in each of the other batches
OTHER_BATCH = 1000
#: the laptop with eight runs (the device page's worst case) and one with a single run
MANY_RUNS, ONE_RUN = 1, 2
#: pages another part of the UI may or may not have yet: opened only if their URL resolves
OPTIONAL = {
    "review queue": ["/te-beslissen/", "/queue/"],
    "certificates list": ["/certificates/", "/certificaten/"],
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# --------------------------------------------------------------------------- seeding


def _setup() -> None:
    import django

    os.environ["DJANGO_SETTINGS_MODULE"] = "server.settings"
    django.setup()


def seed(lo: int, hi: int) -> None:
    """Laptops ``lo`` to ``hi`` with everything that hangs off them; the fixed rows first."""
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection, transaction

    from agent.report.samples import sample_report
    from agent.uplink.signed import report_json
    from server.bench.models import Heartbeat
    from server.ingest import models
    from server.lending.models import Attendance, Borrower, Loan, Session
    from server.web.models import Batch, BatchItem, DeviceStatus

    if lo == 0:
        call_command("migrate", verbosity=0)
        User.objects.create_superuser(USER, password=PASSWORD)
        for i in range(6):
            models.Station.objects.create(name=f"bench-{i}", token_prefix=f"p{i}", token_hash="x")
    user = User.objects.get(username=USER)
    stations = list(models.Station.objects.order_by("name"))
    raw = report_json(sample_report(0)).decode()
    grades = ["A", "B", "B", "C", "parts", "recycle"]
    dests = {"A": "lend", "B": "lend", "C": "repair", "parts": "parts", "recycle": "recycle"}
    rng = random.Random(7 + lo)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    batches: dict[int, Batch] = {b.pk: b for b in Batch.objects.all()}

    def batch_of(i: int) -> Batch:
        """Laptops below BATCH_SIZE share the big batch; the rest come in batches of 1000."""
        number = 0 if i < BATCH_SIZE else 1 + i // OTHER_BATCH
        donor = f"Donor {number}"
        found = next((b for b in batches.values() if b.donor == donor), None)
        if found is None:
            found = Batch.objects.create(
                donor=donor,
                received_on=date(2026, 1, 1) + timedelta(days=number % 300),
                expected_count=BATCH_SIZE if number == 0 else OTHER_BATCH,
                created_by=user,
            )
            batches[found.pk] = found
        return found

    def runs_for(i: int, device: Any, when: datetime) -> list[Any]:
        extra = 7 if i == MANY_RUNS else 0
        return [
            models.Run(
                report_id=uuid.uuid4(),
                station=stations[i % 6],
                device=device,
                schema_version="1.0",
                mode="intake",
                asset_tag=device.asset_tag,
                created_at=when - timedelta(days=k),
                finished_at=when - timedelta(days=k),
                content_sha256="0" * 64,
                raw_body=raw,
                signature_status="unsigned",
            )
            for k in range(extra + 1)
        ]

    chunk = 5000
    t0 = time.monotonic()
    with transaction.atomic():
        for base in range(lo, hi, chunk):
            ids = range(base, min(hi, base + chunk))
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
            per_laptop = [runs_for(i, d, when[i]) for i, d in zip(ids, devices, strict=True)]
            models.Run.objects.bulk_create(r for runs in per_laptop for r in runs)
            disks, erasures, grades_, statuses, items = [], [], [], [], []
            for i, d, runs in zip(ids, devices, per_laptop, strict=True):
                grade = rng.choice(grades)
                failed = i % 97 == 0
                for r in runs:
                    for name, serial in (
                        ("nvme0n1", f"S4EUNX0M{i:07d}"),
                        ("sda", f"S3Z2NB0K{i:07d}"),
                    ):
                        disks.append(
                            models.Disk(
                                run=r,
                                name=name,
                                serial=serial,
                                model="SAMSUNG",
                                size_bytes=512 * 10**9,
                                verdict="healthy",
                                percentage_used=i % 50 if name == "nvme0n1" else None,
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
                batch = batch_of(i)
                items.append(BatchItem(batch=batch, asset_tag=d.asset_tag, added_by=user))
                statuses.append(
                    DeviceStatus(
                        device=d,
                        asset_tag=d.asset_tag,
                        serial=d.serial,
                        model="LENOVO ThinkPad T480",
                        station=stations[i % 6].name,
                        last_run=runs[0],
                        last_run_at=when[i],
                        report_finished=True,
                        report_grade=grade,
                        grade=grade,
                        proposal=dests[grade],
                        erasure="failed" if failed else "verified",
                        battery_health=60 + i % 40,
                        disk_verdict="healthy",
                        disk_wear=i % 50,
                        erased_disks=0 if failed else 2,
                        batch=batch,
                        search=f"{d.asset_tag} {d.serial} lenovo thinkpad t480 s4eunx0m{i:07d} "
                        f"s3z2nb0k{i:07d}".lower(),
                    )
                )
            models.Disk.objects.bulk_create(disks)
            models.ErasureRecord.objects.bulk_create(erasures)
            models.Grade.objects.bulk_create(grades_)
            DeviceStatus.objects.bulk_create(statuses)
            BatchItem.objects.bulk_create(items)
            # one laptop in fifty is out on loan; one borrower in three follows sessions
            lent = [(i, d) for i, d in zip(ids, devices, strict=True) if i % 50 == 3]
            borrowers = Borrower.objects.bulk_create(
                Borrower(reference=f"DL-{i:06d}", partner=f"partner-{i % 7}") for i, _d in lent
            )
            today = date.today()
            Loan.objects.bulk_create(
                Loan(
                    device=d,
                    borrower=b,
                    programme="digileen" if i % 2 else "digibank",
                    wave=1 + i % 3,
                    start=today - timedelta(days=60),
                    due=today + timedelta(days=i % 40 - 20),
                    min_attendance=2 if i % 3 == 0 else 0,
                    created_by=user,
                )
                for (i, d), b in zip(lent, borrowers, strict=True)
            )
            DeviceStatus.objects.filter(device__in=[d for _i, d in lent]).update(lending="lent")
            sessions = Session.objects.bulk_create(
                Session(programme="digileen", wave=1 + k % 3, title=f"module {base}-{k}", on=today)
                for k in range(3)
            )
            Attendance.objects.bulk_create(
                Attendance(session=s, borrower=b, present=True)
                for s in sessions
                for b in borrowers[:20]
            )
            now = datetime.now(UTC)
            Heartbeat.objects.bulk_create(
                Heartbeat(
                    station=stations[i % 6],
                    run_id=uuid.uuid4(),
                    asset_tag=f"DG-{i:06d}",
                    stage="confirm" if i % 3 == 0 else "wipe",
                    attention="confirm" if i % 3 == 0 else "",
                    waiting_since=now if i % 3 == 0 else None,
                    percent=50.0,
                    eta_s=600,
                    updated_at=now,
                )
                for i in ids[:3]
            )
            # audit events are appended one by one (a hash chain): a page's worth per chunk
            for i in ids[:120]:
                models.AuditEvent.objects.create(
                    actor=f"user:{USER}",
                    action="note.added",
                    object_type="device",
                    object_id=str(devices[i - base].pk),
                    details={"asset_tag": f"DG-{i:06d}", "note": "bench"},
                )
    with connection.cursor() as cur:
        # PostgreSQL: VACUUM too, as autovacuum would soon after such a load; without the
        # visibility map no count is an index-only scan and every page reads the heap.
        cur.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    print(f"seeded laptops {lo} to {hi} in {time.monotonic() - t0:.0f} s", file=sys.stderr)


# --------------------------------------------------------------------------- pages


def pages() -> dict[str, str]:
    """Every page, by label; the ones whose URL does not exist (yet) are left out."""
    from django.contrib.auth.models import User
    from django.test import Client
    from django.urls import Resolver404, resolve

    from server.web.models import Batch, DeviceStatus

    big = Batch.objects.get(donor="Donor 0")
    many = DeviceStatus.objects.get(asset_tag=f"DG-{MANY_RUNS:06d}")
    one = DeviceStatus.objects.get(asset_tag=f"DG-{ONE_RUN:06d}")
    found = {
        "dashboard, today": "/",
        "dashboard, this week": "/?period=week",
        "dashboard, everything": "/?period=all",
        "dashboard, the big batch": f"/?period=batch-{big.pk}",
        "device list, first page": "/devices/",
        "device list, grade=C & station": "/devices/?grade=C&station=bench-3",
        "device list, sorted by model": "/devices/?sort=model&dir=asc",
        "device list, search a disk serial": "/devices/?q=s3z2nb0k0000033",
        "device list, search 'dg-00001'": "/devices/?q=dg-00001",
        "device page, 1 run": f"/laptop/{one.pk}/",
        "device page, 8 runs": f"/laptop/{many.pk}/",
        "batch list": "/batches/",
        f"batch page, {BATCH_SIZE} laptops": f"/batches/{big.pk}/",
        "audit log": "/audit/",
        "loans": "/uitlenen/",
        "loans, all": "/uitlenen/?view=all",
        "loans, overdue": "/uitlenen/?view=overdue",
        "borrowers": "/uitlenen/ontleners/",
        "sessions": "/uitlenen/sessies/",
        "reminders": "/uitlenen/herinneringen/",
        "lending numbers": "/uitlenen/cijfers/",
        "werkbank": "/werkbank/",
        "werkbank, compact": "/werkbank/?compact=1",
        "stations": "/stations/",
    }
    first = Client(SERVER_NAME="localhost")
    first.force_login(User.objects.get(username=USER))
    deep = re.search(
        r'rel="next" href="\?[^"]*after=([^"&]+)', first.get("/devices/").content.decode()
    )
    if deep is None:
        raise SystemExit("bench: the device list has no next page")
    found["device list, next page (keyset)"] = f"/devices/?after={deep.group(1)}"
    for label, candidates in OPTIONAL.items():
        for path in candidates:
            try:
                resolve(path)
            except Resolver404:
                continue
            found[label] = path
            break
        else:
            print(f"  ({label}: no such page here, skipped)", file=sys.stderr)
    return found


def count_queries(repeat: int = 0) -> dict[str, Any]:
    """Each page's query count and status, opened in-process (after one warm-up), and the
    CPU time this process spends on it ``repeat`` times: unlike the HTTP timings, a busy
    machine barely changes it (PostgreSQL's own work is not in it)."""
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_ACCEPT_LANGUAGE="nl", SERVER_NAME="localhost")
    client.force_login(User.objects.get(username=USER))
    out: dict[str, Any] = {}
    for label, path in pages().items():
        client.get(path)
        with CaptureQueriesContext(connection) as ctx:
            status = client.get(path).status_code
        out[label] = {"path": path, "status": status, "queries": len(ctx.captured_queries)}
        cpu = []
        for _ in range(repeat):
            t = time.thread_time()
            client.get(path)
            cpu.append((time.thread_time() - t) * 1000)
        if cpu:
            out[label] |= {"cpu50": statistics.median(cpu), "cpu95": percentile(cpu, 0.95)}
    return out


def stage(lo: int, hi: int, repeat: int) -> None:
    _setup()
    if hi > lo:
        seed(lo, hi)
    else:  # a reused database: bring it to this code's schema (and its backfills) first
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
    print(json.dumps(count_queries(repeat)))


# --------------------------------------------------------------------------- main


def run_stage(env: dict[str, str], lo: int, hi: int, repeat: int = 0) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--stage", str(lo), str(hi), str(repeat)],
        env=env,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    counts: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return counts


class PostgresBench:
    """The bench's own database next to the given one (``<db>_bench_<random>``, so two runs
    never meet), and the template it is cloned from (``<db>_seed<V>_<laptops>``)."""

    def __init__(self, url: str, devices: int) -> None:
        from urllib.parse import urlsplit

        self.admin_url = url
        parts = urlsplit(url)
        base = parts.path.lstrip("/") or "digibench"
        self.name = f"{base}_bench_{uuid.uuid4().hex[:8]}"
        self.template = f"{base}_seed{SEED_VERSION}_{devices}"
        self.url = parts._replace(path=f"/{self.name}").geturl()
        self._drop(self.name)
        self._run("CREATE DATABASE {}", self.name)

    def _run(self, statement: str, *names: str) -> None:
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL(statement).format(*(sql.Identifier(n) for n in names)))

    def _drop(self, name: str) -> None:
        import psycopg

        for attempt in range(20):  # autovacuum may hold a fresh copy for a moment
            try:
                self._run("DROP DATABASE IF EXISTS {} WITH (FORCE)", name)
                return
            except (psycopg.errors.InsufficientPrivilege, psycopg.errors.ObjectInUse):
                if attempt == 19:
                    raise
                time.sleep(0.5)

    def clone(self) -> bool:
        """Replace the bench database by a copy of the seeded template, if there is one."""
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            found = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (self.template,)
            ).fetchone()
        if found is None:
            return False
        self._drop(self.name)
        self._run("CREATE DATABASE {} TEMPLATE {}", self.name, self.template)
        print(f"  (reusing the seeded database {self.template})", file=sys.stderr)
        return True

    def save(self) -> None:
        """Keep the freshly seeded database as the template for the next run."""
        self._drop(self.template)
        self._run("CREATE DATABASE {} TEMPLATE {}", self.template, self.name)

    def drop(self) -> None:
        self._drop(self.name)


def login(url: str) -> requests.Session:
    s = requests.Session()
    page = s.get(f"{url}/accounts/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    if token is None:
        raise SystemExit("bench: no login form")
    data = {"username": USER, "password": PASSWORD, "csrfmiddlewaretoken": token.group(1)}
    s.post(f"{url}/accounts/login/", timeout=30, data=data).raise_for_status()
    return s


def judge(small: dict[str, Any], big: dict[str, Any]) -> list[str]:
    """What fails ``--check``: an error page, or a query count that grew with the laptops."""
    problems = []
    for label, page in big.items():
        if page["status"] != 200:
            problems.append(f"{label}: HTTP {page['status']}")
        before = small.get(label, {}).get("queries", -1)
        if before >= 0 and page["queries"] > before:
            problems.append(f"{label}: {before} queries grew to {page['queries']}")
    one, many = big.get("device page, 1 run"), big.get("device page, 8 runs")
    if one and many and many["queries"] != one["queries"]:
        problems.append(
            f"device page: {one['queries']} queries with 1 run, {many['queries']} with 8"
        )
    return problems


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=60, help="laptops at the first count")
    parser.add_argument("--requests", type=int, default=40, help="timed requests per page")
    parser.add_argument("--postgres", metavar="URL", help="a PostgreSQL server (else SQLite)")
    parser.add_argument("--keep", type=Path, help="SQLite: seed into DIR once, reuse it")
    parser.add_argument(
        "--keep-postgres",
        action="store_true",
        help="PostgreSQL: seed a template database once, reuse it (CREATE DATABASE ... TEMPLATE)",
    )
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if a page errors or its queries grow"
    )
    args = parser.parse_args()
    if args.devices <= args.small or args.small <= BATCH_SIZE // 100:
        parser.error("--devices must be larger than --small, which must be at least 6")
    from tests.uplink.server_process import ServerProcess

    with tempfile.TemporaryDirectory(prefix="digibench-bench-web-") as tmp:
        data = args.keep or Path(tmp) / "server"
        reuse = args.keep is not None and (data / "digibench.sqlite3").exists()
        data.mkdir(parents=True, exist_ok=True)
        pg = PostgresBench(args.postgres, args.devices) if args.postgres else None
        server = ServerProcess(data, postgres_url=None)
        if pg is not None:
            reuse = args.keep_postgres and pg.clone()
            server.env["DATABASE_URL"] = pg.url
        env = server.env | {"DJANGO_SETTINGS_MODULE": "server.settings"}
        try:
            if reuse:
                small = big = run_stage(env, 0, 0, args.requests)
            else:
                small = run_stage(env, 0, args.small)
                big = run_stage(env, args.small, args.devices, 0)
                if pg is not None and args.keep_postgres:
                    pg.save()
                big = run_stage(env, 0, 0, args.requests)
            server.start()
            session = login(server.url)
            db = "PostgreSQL" if args.postgres else "SQLite"
            print(f"{args.devices} laptops, {db}, {args.requests} requests per page")
            print(
                f"  {'page':38s} {'HTTP p50':>9s} {'p95':>9s}  {'CPU p50':>9s} {'p95':>9s}"
                f"  queries (at {args.small} laptops)"
            )
            for label, page in big.items():
                times = []
                for _ in range(args.requests):
                    t = time.perf_counter()
                    r = session.get(f"{server.url}{page['path']}", timeout=120)
                    times.append((time.perf_counter() - t) * 1000)
                    if r.status_code != 200 or "/accounts/login/" in r.url:
                        page["status"] = r.status_code
                        break
                before = small.get(label, {}).get("queries", "-")
                queries = f"{page['queries']:4d} ({before})"
                cpu = f"{page.get('cpu50', 0):6.1f} ms {page.get('cpu95', 0):6.1f} ms"
                print(
                    f"  {label:38s} {statistics.median(times):6.1f} ms"
                    f" {percentile(times, 0.95):6.1f} ms  {cpu}  {queries}",
                    flush=True,
                )
        finally:
            server.drop()
            if pg is not None:
                pg.drop()
    problems = judge(small, big)
    for problem in problems:
        print(f"bench: {problem}", file=sys.stderr)
    return 1 if problems and args.check else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--stage"]:
        stage(int(sys.argv[2]), int(sys.argv[3]), int((sys.argv[4:5] or ["0"])[0]))
        sys.exit(0)
    sys.exit(main())
