"""The wipe step: every confirmed disk not yet verified erased, in parallel.

Each disk's record joins the report (and the saved run state) the moment
that disk is done, so a power cut during another disk's wipe never costs a
finished disk its evidence, and a resumed run does not wipe it again. The
record file is written through the :class:`~agent.pipeline.storage.Keeper`:
a full stick keeps it in memory instead of losing it.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.erase.engine import WipeOptions, WipeOutcome, wipe_one
from agent.erase.overwrite import Pattern
from agent.erase.record import record_bytes, record_file_name
from agent.pipeline.events import notice
from agent.pipeline.laptop_run import LaptopRun, disk_label
from agent.pipeline.progress import WipeRelay
from agent.report.schema import Report

if TYPE_CHECKING:
    from agent.pipeline.station import Pipeline


def wipe_targets(
    pipeline: Pipeline, run: LaptopRun, report: Report, key: Ed25519PrivateKey
) -> None:
    cfg = pipeline.config
    todo = []
    for target in run.confirmed:
        if run.verified_erased(target.identity):
            pipeline.emit(notice("info", "notice.resume_kept", disk=disk_label(target.disk)))
            if run.interruption is not None:
                run.interruption.kept.append(disk_label(target.disk))
        else:
            todo.append(target)
            if run.interruption is not None:
                run.interruption.redone.append(f"wipe {disk_label(target.disk)}")
    if not todo:
        return
    opts = WipeOptions(
        pattern=Pattern.RANDOM if cfg.wipe.pattern == "random" else Pattern.ZERO,
        verify_percent=cfg.wipe.verify_percent,
        checkpoint_every_s=cfg.wipe.checkpoint_s,
        key=key,
        record_dir=None,  # written here, through the keeper
        state_dir=cfg.state_dir,
        operator=report.operator.name,
        station=cfg.station.name,
        host_serial=report.device.serial,
        host_asset_tag=report.asset_tag,
        root=pipeline.root,
        confirmed=frozenset(t.identity for t in run.confirmed),
    )
    relay = WipeRelay(pipeline.emit, {t.identity: disk_label(t.disk) for t in todo})
    lock = threading.Lock()

    def done(outcome: WipeOutcome) -> None:
        record = outcome.record
        with lock:
            report.erasures.append(record)
            if record.signature is not None:
                path = cfg.record_dir / record_file_name(record)
                pipeline.keeper.write("the erasure record", path, record_bytes(record))
            pipeline._persist()

    with ThreadPoolExecutor(max_workers=len(todo), thread_name_prefix="wipe") as pool:
        futures = [pool.submit(wipe_one, t, opts, relay, run.stop) for t in todo]
        handled = set()
        try:
            for future in as_completed(futures):
                done(future.result())
                handled.add(future)
        except KeyboardInterrupt:  # Ctrl-C on a headless console: stop safely, keep records
            run.stop.set()
            for future in futures:
                if future not in handled:
                    done(future.result())
            raise
