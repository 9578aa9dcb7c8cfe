"""Ingest throughput: 1,000 realistic signed reports into the real server process.

Starts ``digibench-server serve`` on a loopback port with a fresh database
(SQLite; PostgreSQL too when DIGIBENCH_TEST_POSTGRES_URL or --postgres names
one), uploads the reports from a few concurrent clients, checks that exactly
that many runs were stored, and prints reports/s with p50/p95 latency.

    .venv/bin/python bench/ingest.py [--reports 1000] [--clients 4]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from agent.report.samples import sample_report  # noqa: E402
from agent.uplink.signed import report_json, sign_report  # noqa: E402
from tests.uplink.server_process import ServerProcess  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(label: str, postgres_url: str | None, reports: int, clients: int, workers: int) -> None:
    with tempfile.TemporaryDirectory(prefix="digibench-bench-") as tmp:
        server = ServerProcess(Path(tmp) / "server", postgres_url=postgres_url)
        server.workers = workers
        try:
            server.start()
            station = server.add_station("bench-ingest")
            bodies = [
                report_json(sign_report(sample_report(n, station=station.name), station.key))
                for n in range(reports)
            ]
            latencies: list[float] = []
            failures: list[str] = []
            lock = threading.Lock()

            def client(chunk: list[bytes]) -> None:
                session = requests.Session()
                session.headers.update(
                    {
                        "Authorization": f"Bearer {station.token}",
                        "Content-Type": "application/json",
                    }
                )
                for body in chunk:
                    t0 = time.perf_counter()
                    resp = session.post(f"{server.url}/api/v1/reports", data=body, timeout=60)
                    dt = time.perf_counter() - t0
                    with lock:
                        latencies.append(dt)
                        if resp.status_code != 201:
                            failures.append(f"{resp.status_code} {resp.text[:200]}")

            threads = [
                threading.Thread(target=client, args=(bodies[i::clients],)) for i in range(clients)
            ]
            start = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - start
            stored = server.count()
        finally:
            server.drop()
    size = statistics.mean(len(b) for b in bodies) / 1024
    print(
        f"ingest {label:<10} {reports} reports ({size:.1f} KiB each), {clients} clients, "
        f"{workers} workers x {server.threads} threads: {reports / elapsed:6.1f} reports/s, "
        f"p50 {1000 * percentile(latencies, 0.5):6.1f} ms, "
        f"p95 {1000 * percentile(latencies, 0.95):6.1f} ms, stored {stored}"
    )
    if failures or stored != reports:
        raise SystemExit(f"bench failed: {len(failures)} errors, e.g. {failures[:3]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("DIGIBENCH_TEST_POSTGRES_URL"),
        help="PostgreSQL URL of a role that may create databases",
    )
    args = parser.parse_args()
    run("sqlite", None, args.reports, args.clients, args.workers)
    if args.postgres:
        run("postgresql", args.postgres, args.reports, args.clients, args.workers)
    else:
        print("ingest postgresql: skipped (set DIGIBENCH_TEST_POSTGRES_URL)")


if __name__ == "__main__":
    main()
