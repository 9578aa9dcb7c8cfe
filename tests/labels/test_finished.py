"""The label a finished laptop gets at the station: saved, printed on a Brother QL on USB."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from agent.labels.finished import finished_label, save_and_print
from agent.report.samples import sample_report
from agent.tui import i18n

from .conftest import scan
from .printer import brother_ql_on_usb

ROOT = Path(__file__).resolve().parents[2]


def test_the_label_says_grade_ram_disk_battery_in_dutch_and_links_the_laptop() -> None:
    report = sample_report(0)
    i18n.set_language("nl")
    label = finished_label(report, server_url="https://db.example/", _=i18n._)
    assert label.tag == report.asset_tag
    assert label.url == f"https://db.example/devices/{report.asset_tag}/"
    assert label.lines[0].startswith("Graad ") and " GB RAM" in label.lines[0]
    assert " GB schijf" in label.lines[0]
    assert "Batterij " in label.lines[1] or label.lines[1][:4].isdigit()


def test_saved_as_png_and_sent_to_the_brother_printer(tmp_path: Path) -> None:
    report = sample_report(0)
    root = brother_ql_on_usb(tmp_path / "root")
    outcome = save_and_print(finished_label(report), tmp_path / "labels", sys_root=root)
    assert outcome.printed_on is not None and outcome.printed_on.product == "QL-700"
    assert scan(outcome.png)[0] == f"CODE-128:{report.asset_tag}"
    job = (root / "dev" / "usb" / "lp0").read_bytes()
    assert job.startswith(b"\x00" * 200 + b"\x1b@") and b"\x1biz" in job


def test_digibench_label_makes_the_png_from_a_report(tmp_path: Path) -> None:
    report = sample_report(0)
    path = tmp_path / "report.json"
    path.write_text(report.model_dump_json())
    run = subprocess.run(
        [sys.executable, "-m", "agent.cli", "label", str(path), "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    png = tmp_path / f"label-{report.asset_tag}.png"
    assert png.exists() and str(png) in run.stdout
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"not": "a report"}))
    bad = subprocess.run(
        [sys.executable, "-m", "agent.cli", "label", str(broken)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert bad.returncode != 0 and "not a readable Digibench report" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_a_finished_intake_run_leaves_its_label_a_helpdesk_check_none(tmp_path: Path) -> None:
    from agent.labels.finished import LabelOnFinish
    from agent.pipeline.events import Finished
    from agent.report.schema import Mode

    sink = LabelOnFinish(tmp_path / "labels", server_url="https://db.example")
    intake = sample_report(0)
    sink(Finished(intake, intake.grade, uploaded=True, outbox_pending=0))
    check = sample_report(1).model_copy(update={"mode": Mode.CHECK})
    sink(Finished(check, None, uploaded=True, outbox_pending=0))
    assert [m.png.name for m in sink.made] == [f"label-{intake.asset_tag}.png"]
    assert f"QR-Code:https://db.example/devices/{intake.asset_tag}/" in scan(sink.made[0].png)


def test_a_label_that_cannot_be_saved_never_stops_the_run(tmp_path: Path) -> None:
    from agent.labels.finished import LabelOnFinish
    from agent.pipeline.events import Finished

    blocker = tmp_path / "labels"
    blocker.write_text("a file where the folder should be")
    sink = LabelOnFinish(blocker)
    report = sample_report(0)
    sink(Finished(report, report.grade, uploaded=True, outbox_pending=0))  # no exception
    assert sink.made == []
