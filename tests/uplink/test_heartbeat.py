"""The station's heartbeat sender: pipeline events become the Werkbank's rows."""

from __future__ import annotations

import threading
import uuid
from typing import Any

from agent.pipeline.events import DiskProgress, Finished, Notice, Stage, StageChanged
from agent.report.samples import sample_report
from agent.uplink.heartbeat import HeartbeatSender, http_post
from tests.uplink.server_process import ServerProcess


class Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.fail = fail
        self.sent = threading.Event()

    def __call__(self, body: dict[str, Any]) -> None:
        self.bodies.append(body)
        self.sent.set()
        if self.fail:
            raise ConnectionError("the server is down")


def test_stages_and_needs_go_out_at_once_progress_throttled() -> None:
    now = [100.0]
    sent = Recorder()
    sender = HeartbeatSender(sent, lambda: "DG-7", every_s=5.0, clock=lambda: now[0])
    sender(StageChanged(Stage.INSPECT))
    sender(StageChanged(Stage.CONFIRM))
    sender(StageChanged(Stage.WIPE))
    for done in range(1, 50):  # a fast stream of progress within one throttle window
        sender(DiskProgress("disk", "wipe", done, 100, 1e6, 100 - done))
    sender.close()
    stages = [(b["stage"], b["attention"]) for b in sent.bodies]
    assert ("confirm", "confirm") in stages and stages[0][0] in ("inspect", "confirm")
    assert stages[-1] == ("wipe", "")
    assert len(sent.bodies) <= 5  # not one per progress event
    assert sent.bodies[-1]["percent"] == 49.0  # the last state is sent on close
    assert {b["asset_tag"] for b in sent.bodies} == {"DG-7"}
    assert len({b["run_id"] for b in sent.bodies}) == 1


def test_each_laptop_is_a_new_run_and_errors_ask_for_a_person() -> None:
    sent = Recorder()
    sender = HeartbeatSender(sent, lambda: "DG-8", every_s=0.0)
    sender(StageChanged(Stage.INSPECT))
    sender(Notice("error", "the disk vanished"))
    report = sample_report(3)
    sender(Finished(report, report.grade, uploaded=True, outbox_pending=0))
    sender(StageChanged(Stage.INSPECT))  # the next laptop
    sender.close()
    runs = list(dict.fromkeys(b["run_id"] for b in sent.bodies))
    assert len(runs) == 2
    assert any(b["attention"] == "error" for b in sent.bodies)
    done = [b for b in sent.bodies if b["stage"] == "done"]
    assert done and done[-1]["asset_tag"] == report.asset_tag and done[-1]["attention"] == "done"


def test_a_server_that_is_down_never_disturbs_the_run() -> None:
    sent = Recorder(fail=True)
    sender = HeartbeatSender(sent, lambda: "DG-1", every_s=0.0)
    sender(StageChanged(Stage.WIPE))
    assert sent.sent.wait(10)
    sender(StageChanged(Stage.FLASH))  # still accepted after a failure
    sender.close()
    assert [b["stage"] for b in sent.bodies][-1] == "flash"


def test_heartbeats_reach_the_real_server(central: ServerProcess) -> None:
    station = central.add_station(f"bench-hb-{uuid.uuid4().hex[:6]}")
    post = http_post(central.url, station.token)
    sender = HeartbeatSender(post, lambda: "DG-42", every_s=0.0)
    sender(StageChanged(Stage.CONFIRM))
    sender.close()
    assert central.count("bench_heartbeat", "WHERE asset_tag = ? AND attention = ?", "DG-42",
                         "confirm") == 1  # fmt: skip


def test_the_tag_comes_with_the_pipelines_stage_events() -> None:
    sent = Recorder()
    sender = HeartbeatSender(sent, lambda: "never-asked", every_s=0.0)
    sender(StageChanged(Stage.INSPECT, asset_tag="DG-0501"))
    sender(StageChanged(Stage.CONFIRM, asset_tag="DG-0501"))
    sender.close()
    assert {b["asset_tag"] for b in sent.bodies} == {"DG-0501"}
