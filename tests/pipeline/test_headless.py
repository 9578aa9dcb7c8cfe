"""Headless runs on loop devices: the same pipeline the TUI drives, end to end."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from agent.errors import DigibenchError
from agent.pipeline.events import Event, Finished, Stage, StageChanged
from agent.pipeline.headless import run_headless
from agent.pipeline.station import NotConfirmedError, Pipeline
from agent.report.schema import Mode, Report
from agent.runner import SystemRunner
from agent.signing import verify
from tests.pipeline.conftest import Bench, MiB, count_markers, needs_root, plant_markers

pytestmark = needs_root
ROOT = Path(__file__).parent.parent.parent


def _outbox_reports(bench: Bench) -> list[Report]:
    outbox = bench.config.outbox_dir
    return [Report.model_validate_json(p.read_text()) for p in sorted(outbox.glob("*.json"))]


def test_headless_intake_wipes_flashes_grades_and_spools(bench: Bench) -> None:
    out = io.StringIO()
    code = run_headless(bench.config, runner=SystemRunner(), out=out)
    log = out.getvalue()
    assert code == 0, log
    for dev in bench.disks:
        assert count_markers(dev) == 0, f"donor data left on {dev}"

    (report,) = _outbox_reports(bench)  # no server configured: it waits in the outbox
    assert report.asset_tag == "DB-T-0001"
    assert report.device.vendor == "LENOVO"  # the recorded laptop profile
    assert len(report.erasures) == 2
    for record in report.erasures:
        assert record.result == "erased" and record.verification_passed
        assert record.signature and report.station.public_key
        body = record.model_dump(mode="json")
        assert verify(body, record.signature, report.station.public_key)
    (image,) = report.images
    assert image.verified and image.hostname
    assert report.grade is not None and report.grade.reasons
    assert report.grade.destination == "lend", report.grade.reasons
    assert report.signature is not None
    data = json.loads(report.model_dump_json())
    assert verify(data, report.signature.value, report.station.public_key)
    assert "== grade" in log and "wipe" in log
    assert not (bench.config.state_dir / "run.json").exists()  # the run is over


def test_the_next_laptop_is_flashed_on_what_the_first_flash_proved(bench: Bench) -> None:
    """A station flashes one image to laptop after laptop: the first flash hashes the whole
    image and keeps a stamp; the next one checks only that the compressed file is the same
    (and still reads every byte back from the disk)."""
    assert run_headless(bench.config, runner=SystemRunner(), out=io.StringIO()) == 0
    for dev, size in zip(bench.disks, bench.sizes, strict=True):
        plant_markers(dev, size)  # the next donor's laptop
    bench.config.headless.asset_tag = "DB-T-0002"
    assert run_headless(bench.config, runner=SystemRunner(), out=io.StringIO()) == 0
    first, second = sorted(_outbox_reports(bench), key=lambda r: r.asset_tag or "")
    assert "checked in full" in (first.images[0].verification_method or "")
    method = second.images[0].verification_method or ""
    assert second.images[0].verified and "read back" in method
    assert "image sha256 vouched by an earlier check of this compressed file" in method
    assert len(list(bench.config.stamp_dir.iterdir())) == 1
    for dev in bench.disks:
        assert count_markers(dev) == 0


def test_nothing_is_wiped_without_consent(bench: Bench) -> None:
    bench.config.headless.confirm_wipe = False
    with pytest.raises(DigibenchError, match="explicit consent"):
        run_headless(bench.config, runner=SystemRunner(), out=io.StringIO())
    for dev in bench.disks:
        assert count_markers(dev) > 0


def test_pipeline_refuses_to_run_unconfirmed_or_unknown_disks(bench: Bench) -> None:
    events: list[Event] = []
    pipeline = Pipeline(bench.config, runner=SystemRunner(), emit=events.append)
    pipeline.inspect(asset_tag="DB-T-0002", mode=Mode.INTAKE)
    assert sorted(d.path for d in pipeline.targets()) == sorted(bench.disks)
    refused = {d.path: why for d, why in pipeline.refused()}
    assert all(why for why in refused.values())
    assert not any(d in refused for d in bench.disks)
    with pytest.raises(NotConfirmedError):
        pipeline.run()
    with pytest.raises(NotConfirmedError, match="not a disk that may be wiped"):
        pipeline.confirm(["vda"])
    with pytest.raises(NotConfirmedError, match="no disk"):
        pipeline.confirm([])
    pipeline.cancel()
    assert any(isinstance(e, StageChanged) and e.stage is Stage.CANCELLED for e in events)
    for dev in bench.disks:
        assert count_markers(dev) > 0


def test_check_mode_reports_without_wiping(bench: Bench) -> None:
    bench.config.station.mode = Mode.CHECK
    assert run_headless(bench.config, runner=SystemRunner(), out=io.StringIO()) == 0
    (report,) = _outbox_reports(bench)
    # what goes to the server: a visit with no grade and, without the resident's yes, nothing
    # beyond the anonymous minimum (issue #19)
    assert report.mode == "check" and not report.erasures and report.grade is None
    assert report.helpdesk is not None and report.helpdesk.diagnosis is None
    assert report.asset_tag is None and not report.components.disks
    for dev in bench.disks:
        assert count_markers(dev) > 0


def _write_config(bench: Bench, path: Path) -> None:
    c = bench.config
    smart = ", ".join(f'"{k}" = "{v}"' for k, v in c.testing.smart_fixtures.items())
    allowed = ", ".join(f'"{d}"' for d in c.testing.allowed_devices)
    path.write_text(
        f"""
policy = "{c.policy}"
[station]
name = "test-bench"
data_dir = "{c.station.data_dir}"
[image]
source = "{c.image.source}"
[wipe]
pattern = "random"
checkpoint_s = 0.1
[headless]
asset_tag = "DB-T-0003"
confirm_wipe = true
cosmetic = "C4"
[testing]
allowed_devices = [{allowed}]
profile_root = "{c.testing.profile_root}"
smart_fixtures = {{ {smart} }}
"""
    )
    tomllib.loads(path.read_text())


# A wipe shorter than the first checkpoint (0.1 s) leaves no mid-wipe journal to be
# killed at: the engine wipes 80 MiB in a few hundredths of a second, 1 GiB takes longer.
@pytest.mark.parametrize("bench", [[1024 * MiB, 40 * MiB]], indirect=True)
def test_killed_mid_wipe_resumes_and_says_so(bench: Bench, tmp_path: Path) -> None:
    config_file = tmp_path / "station.toml"
    _write_config(bench, config_file)
    argv = [sys.executable, "-m", "agent.cli", "run", "--headless", "--config", str(config_file)]
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    state = bench.config.state_dir
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            journals = [json.loads(p.read_text()) for p in state.glob("wipe-*.json")]
            if any(j["offset"] > 0 and j["phase"] == "wipe" for j in journals):
                break
            time.sleep(0.01)
        assert proc.poll() is None, "the wipe finished before it could be interrupted"
        proc.send_signal(signal.SIGKILL)  # a power cut, as far as the stick can tell
    finally:
        proc.wait(timeout=30)
    assert (state / "run.json").exists()
    assert not list(bench.config.outbox_dir.glob("*.json"))

    again = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Resuming" in again.stdout
    (report,) = _outbox_reports(bench)
    assert report.asset_tag == "DB-T-0003"
    assert any(w.code == "run.resumed" for w in report.warnings)
    assert any(r.resumed for r in report.erasures)
    assert all(r.result == "erased" for r in report.erasures)
    for dev in bench.disks:
        assert count_markers(dev) == 0
    assert not os.path.exists(state / "run.json")


def test_finished_event_carries_the_grade(bench: Bench) -> None:
    events: list[Event] = []
    pipeline = Pipeline(bench.config, runner=SystemRunner(), emit=events.append)
    pipeline.inspect(asset_tag="DB-T-0004", mode=Mode.INTAKE)
    pipeline.record_tests(Pipeline.skipped_tests("C5"))
    pipeline.confirm([Path(d).name for d in bench.disks])
    report = pipeline.run()
    finished = [e for e in events if isinstance(e, Finished)]
    assert len(finished) == 1 and finished[0].grade == report.grade
    assert finished[0].outbox_pending == pipeline.outbox_pending() == 1
    stages = [e.stage for e in events if isinstance(e, StageChanged)]
    assert stages.index(Stage.WIPE) < stages.index(Stage.FLASH) < stages.index(Stage.DONE)
    # each stage names the laptop, for the server's bench view (heartbeats)
    tags = {e.asset_tag for e in events if isinstance(e, StageChanged)}
    assert tags == {"DB-T-0004"}


@pytest.mark.parametrize("bench", [[1024 * MiB, 40 * MiB]], indirect=True)  # as above
def test_killed_mid_wipe_then_a_disk_disallowed_is_not_wiped_on_resume(
    bench: Bench, tmp_path: Path
) -> None:
    """kill -9 mid-wipe, take a disk out of allowed_devices, rerun: that disk stays as it
    was, the report says so, and the laptop is not lendable."""
    config_file = tmp_path / "station.toml"
    _write_config(bench, config_file)
    argv = [sys.executable, "-m", "agent.cli", "run", "--headless", "--config", str(config_file)]
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    state = bench.config.state_dir
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            journals = [json.loads(p.read_text()) for p in state.glob("wipe-*.json")]
            if any(j["offset"] > 0 and j["phase"] == "wipe" for j in journals):
                break
            time.sleep(0.01)
        assert proc.poll() is None, "the wipe finished before it could be interrupted"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    removed = bench.disks[0]
    with open(removed, "rb") as fh:
        before = fh.read()
    bench.config.testing.allowed_devices = bench.disks[1:]
    _write_config(bench, config_file)

    again = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 1, again.stdout + again.stderr  # not every disk erased
    assert "refused on resume" in again.stdout and "Traceback" not in again.stderr
    with open(removed, "rb") as fh:
        assert fh.read() == before, "a disk no longer allowed was written on resume"
    (report,) = _outbox_reports(bench)
    assert any(w.code == "run.target_refused" for w in report.warnings)
    assert report.interruptions and report.interruptions[0].refused
    assert report.grade is not None and report.grade.destination != "lend"
