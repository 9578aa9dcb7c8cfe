"""A headless run first delivers what earlier runs left on the stick (the server was down
then), so those reports reach the server on the next boot even if the new run fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import StationConfig
from agent.pipeline.events import Event, Notice
from agent.pipeline.station import Pipeline
from agent.report.samples import sample_report
from agent.runner import ReplayRunner
from agent.uplink.outbox import Outbox
from agent.uplink.signed import report_json, sign_report
from tests.uplink.server_process import ServerProcess, Station, free_port

pytestmark = pytest.mark.slow


def _signed(st: Station, n: int) -> bytes:
    return report_json(sign_report(sample_report(n, station=st.name), st.key))


def _pipeline(data: Path, url: str, token: str, events: list[Event]) -> Pipeline:
    config = StationConfig.model_validate(
        {
            "station": {"data_dir": data},
            "server": {"url": url, "token": token, "timeout_s": 5},
        }
    )
    return Pipeline(config, runner=ReplayRunner(), emit=events.append)


def test_waiting_reports_are_delivered_once(
    central: ServerProcess, station: Station, tmp_path: Path
) -> None:
    outbox = Outbox(tmp_path / "outbox")
    ids = [outbox.put(_signed(station, n)).report_id for n in (4001, 4002)]
    events: list[Event] = []
    pipeline = _pipeline(tmp_path, central.url, station.token, events)
    assert pipeline.deliver_waiting() == 0
    assert outbox.pending() == []
    for report_id in ids:
        assert central.count("ingest_run", "WHERE report_id = ?", report_id.replace("-", "")) == 1
    assert any(isinstance(e, Notice) and "Delivered 2" in e.message for e in events)
    assert pipeline.deliver_waiting() == 0  # nothing left: no upload attempt, no notice
    assert len(events) == 2


def test_server_down_keeps_them_and_says_so(station: Station, tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox")
    outbox.put(_signed(station, 4003))
    events: list[Event] = []
    pipeline = _pipeline(tmp_path, f"http://127.0.0.1:{free_port()}", station.token, events)
    assert pipeline.deliver_waiting() == 1
    assert len(outbox.pending()) == 1
    assert any(isinstance(e, Notice) and e.level == "warning" for e in events)
