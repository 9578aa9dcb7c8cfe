"""Sign the report, spool it to the outbox on the stick, upload what waits.

The signed report is on disk (atomically, fsynced) before any upload and
leaves the outbox only when the server acknowledged it. When the stick cannot
take it (full, read-only), the :class:`~agent.pipeline.storage.Keeper` holds
it in memory and writes it as soon as it can, or to the spare location.
"""

from __future__ import annotations

import logging
from pathlib import Path

from agent.config import StationConfig
from agent.errors import DigibenchError, InputError
from agent.pipeline.events import EventSink, notice
from agent.pipeline.storage import Keeper
from agent.uplink.client import UplinkConfig, Uploader, flush
from agent.uplink.outbox import Outbox

log = logging.getLogger(__name__)


class Delivery:
    def __init__(self, config: StationConfig, emit: EventSink, keeper: Keeper) -> None:
        self.config = config
        self.emit = emit
        self.keeper = keeper

    @property
    def outbox(self) -> Outbox:
        return Outbox(self.config.outbox_dir)

    def spool(self, report_id: str, body: bytes) -> bool:
        """Put the signed report in the outbox (idempotent); False when it is held in memory."""
        outbox = self.outbox

        def put(path: Path, data: bytes) -> None:
            try:
                outbox.put(data, source=f"report {report_id}")
            except InputError as exc:  # the outbox folder cannot be made: a storage fault
                if isinstance(exc.__cause__, OSError):
                    raise exc.__cause__ from exc
                raise

        return self.keeper.write("the report", outbox.root / f"{report_id}.json", body, put)

    def upload(self, report_id: str) -> tuple[bool, int]:
        """Try to upload everything waiting: (this report acknowledged, how many still wait)."""
        acknowledged, remaining = self.flush()
        uploaded = report_id in acknowledged
        if uploaded:
            self.emit(notice("info", "notice.delivered"))
        return uploaded, remaining + sum(1 for p in self.keeper.held if p.suffix == ".json")

    def deliver_waiting(self) -> int:
        """Upload what earlier runs left on the stick; how many still wait. Never raises for
        a server that is down."""
        waiting = self.pending()
        if not waiting:
            return 0
        self.emit(notice("info", "notice.waiting", count=waiting))
        acknowledged, remaining = self.flush()
        if acknowledged:
            self.emit(notice("info", "notice.delivered_waiting", count=len(acknowledged)))
        return remaining

    def pending(self) -> int:
        try:
            return len(self.outbox.pending())
        except OSError:
            return 0

    def flush(self) -> tuple[set[str], int]:
        """(acknowledged report ids, still waiting)."""
        server = self.config.server
        if not server.url or not server.token:
            self.emit(notice("warning", "notice.no_server"))
            return set(), self.pending()
        try:
            uploader = Uploader(
                UplinkConfig(
                    server_url=server.url,
                    token=server.token,
                    ca_file=server.ca_file,
                    timeout_s=server.timeout_s,
                    retries=2,
                )
            )
        except DigibenchError as exc:
            self.emit(notice("error", "notice.upload_impossible", detail=str(exc)))
            return set(), self.pending()
        try:
            result = flush(self.outbox, uploader)
        except OSError as exc:
            self.emit(notice("error", "notice.kept_in_outbox", detail=exc.strerror or str(exc)))
            return set(), self.pending()
        finally:
            uploader.close()
        if result.refused:  # revoked or suspended: the volunteer must see why, not a code
            log.warning("%s", result.error)  # the server's own words, for the log
            self.emit(notice("error", f"notice.{result.refused}"))
        elif result.error:
            self.emit(notice("warning", "notice.kept_in_outbox", detail=result.error))
        return set(result.acknowledged), result.remaining
