"""A station suspended or revoked on the real server: its uploads are refused with a code,
the reports stay on the stick, and the station says why in words (a notice the screens
show), not a status number; resumed, the same reports go through."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import ServerSection, StationConfig, StationSection
from agent.pipeline.delivery import Delivery
from agent.pipeline.events import Event, Notice
from agent.pipeline.storage import Keeper
from agent.uplink.outbox import Outbox
from tests.uplink.server_process import ServerProcess, Station
from tests.uplink.test_end_to_end import signed


def _delivery(central: ServerProcess, st: Station, tmp_path: Path) -> tuple[Delivery, list[Event]]:
    config = StationConfig(
        station=StationSection(name=st.name, data_dir=tmp_path / "data"),
        server=ServerSection(url=central.url, token=st.token),
    )
    events: list[Event] = []
    return Delivery(config, events.append, Keeper(events.append, None)), events


def _codes(events: list[Event]) -> list[str]:
    return [e.code for e in events if isinstance(e, Notice)]


def test_suspended_then_resumed(central: ServerProcess, tmp_path: Path) -> None:
    st = central.add_station("bench-suspended")
    delivery, events = _delivery(central, st, tmp_path)
    Outbox(delivery.config.outbox_dir).put(signed(st, 6001))
    central.manage("suspend-station", st.name)
    acknowledged, remaining = delivery.flush()
    assert (acknowledged, remaining) == (set(), 1)
    assert _codes(events) == ["notice.station_suspended"]
    notice = events[-1]
    assert isinstance(notice, Notice) and notice.level == "error"
    assert "suspended on the server" in notice.message
    central.manage("suspend-station", st.name, "--resume")
    acknowledged, remaining = delivery.flush()
    assert len(acknowledged) == 1 and remaining == 0


def test_revoked_says_revoked(
    central: ServerProcess, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    st = central.add_station("bench-gone")
    delivery, events = _delivery(central, st, tmp_path)
    Outbox(delivery.config.outbox_dir).put(signed(st, 6002))
    central.manage("revoke-station", st.name)
    assert delivery.flush() == (set(), 1)
    assert _codes(events) == ["notice.station_revoked"]
    assert "token has been revoked" in caplog.text  # the server's words stay in the log


def test_an_unknown_token_says_pair_again(central: ServerProcess, tmp_path: Path) -> None:
    st = central.add_station("bench-forgotten")
    wrong = Station(st.name, st.token[:-4] + "AAAA", st.key, st.key_dir)
    delivery, events = _delivery(central, wrong, tmp_path)
    Outbox(delivery.config.outbox_dir).put(signed(st, 6003))
    assert delivery.flush() == (set(), 1)
    assert _codes(events) == ["notice.station_unknown"]
