"""The station runs the memory and thermal checks the policy asks for (issue #19).

A real pipeline in helpdesk mode on a recorded laptop tree: the checks start at
inspection, run in the background and are graded with the rest.
"""

from __future__ import annotations

import shutil
from functools import partial
from pathlib import Path

import pytest

from agent.checks import memtest
from agent.config import StationConfig
from agent.grading import grade_report
from agent.pipeline import machine_checks
from agent.pipeline.events import Event, Notice
from agent.pipeline.machine_checks import merge
from agent.pipeline.station import Pipeline
from agent.report.samples import sample_report
from agent.report.schema import Mode, TestOutcome, TestResult
from agent.runner import ReplayRunner

SYSROOTS = Path(__file__).parent.parent / "fixtures" / "sysroots"


def _pipeline(tmp_path: Path, policy: str, hot: bool = False) -> tuple[Pipeline, list[Event]]:
    root = tmp_path / "root"
    shutil.copytree(SYSROOTS / "laptop-peripherals", root, symlinks=True)
    if hot:  # a clogged fan: the hottest core reads 94 C under load
        (root / "sys/class/hwmon/hwmon0/temp1_input").write_text("94000\n")
    (tmp_path / "policy.toml").write_text(policy)
    config = StationConfig.model_validate(
        {
            "policy": tmp_path / "policy.toml",
            "station": {"name": "t", "mode": "check", "data_dir": tmp_path / "data"},
            "testing": {"profile_root": root},
        }
    )
    events: list[Event] = []
    pipeline = Pipeline(
        config, runner=ReplayRunner(installed=set()), emit=events.append, root=tmp_path / "live"
    )
    return pipeline, events


def _tests(pipeline: Pipeline) -> dict[str, TestResult]:
    pipeline.inspect(asset_tag="HD-1", mode=Mode.CHECK)
    report = pipeline.finish()
    return {t.name: t for t in report.tests}


def test_thermal_stress_runs_and_a_hot_laptop_gets_the_fan_on_its_repair_list(
    tmp_path: Path,
) -> None:
    pipeline, events = _pipeline(tmp_path, "[checks]\nthermal_stress_s = 1\n", hot=True)
    tests = _tests(pipeline)
    report = pipeline.report
    assert report is not None and report.grade is not None
    assert any(r.code == "grade.thermal_hot" for r in report.grade.reasons)
    # the policy's "repair" puts it on the to-fix list (a helpdesk check grades nothing for
    # lending: the sample donated laptop with these results shows the grade and the list)
    assert report.grade.grade is None
    assert "clean the fan and replace the thermal paste" in report.grade.to_fix
    laptop = sample_report(7).model_copy(update={"tests": report.tests})
    assert laptop.components.cpu is not None
    laptop.components.cpu.flags.append("lm")  # 64-bit, as the sample's real CPU is
    grade = grade_report(laptop, pipeline.policy)
    assert grade.grade == "C"
    assert "clean the fan and replace the thermal paste" in grade.to_fix
    assert tests["thermal"].outcome is TestOutcome.FAIL
    assert "peak 94 C" in (tests["thermal"].details or "")
    assert any(isinstance(e, Notice) and e.code == "notice.machine_checks" for e in events)


def test_the_memory_test_runs_with_the_policys_size_and_an_error_is_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def flip(buffer: bytearray) -> None:  # one stuck bit, as a faulty module has
        buffer[12345] ^= 0x10

    monkeypatch.setattr(
        machine_checks, "run_memtest", partial(memtest.run_memtest, after_write=flip)
    )
    pipeline, _events = _pipeline(tmp_path, "[checks]\nmemory_test_mib = 2\n")
    tests = _tests(pipeline)
    assert tests["memory_test"].outcome is TestOutcome.FAIL
    assert tests["memory_test"].details.startswith("2 MiB x 5 patterns")  # type: ignore[union-attr]
    assert "thermal" not in tests  # not asked for: not run


def test_memory_errors_block_lending_when_the_station_runs_the_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        machine_checks,
        "run_memtest",
        partial(memtest.run_memtest, after_write=lambda b: b.__setitem__(0, b[0] ^ 1)),
    )
    pipeline, _events = _pipeline(tmp_path, "[checks]\nmemory_test_mib = 1\n")
    pipeline.inspect(asset_tag="HD-2", mode=Mode.CHECK)
    report = pipeline.finish()
    intake = report.model_copy(update={"mode": Mode.INTAKE})
    grade = grade_report(intake, pipeline.policy)
    assert any(r.code == "grade.memory_errors" and r.severity == "error" for r in grade.reasons)
    assert grade.destination.value != "lend"


def test_nothing_runs_by_default(tmp_path: Path) -> None:
    pipeline, events = _pipeline(tmp_path, "")
    tests = _tests(pipeline)
    assert "memory_test" not in tests and "thermal" not in tests
    assert not any(isinstance(e, Notice) and e.code == "notice.machine_checks" for e in events)


def test_the_stress_replaces_the_single_reading_unless_the_operator_saw_a_fault() -> None:
    reading = TestResult(name="thermal", outcome=TestOutcome.PASS, details="hottest 52 C")
    stressed = TestResult(name="thermal", outcome=TestOutcome.FAIL, details="peak 95 C")
    assert merge([reading], [stressed]) == [stressed]
    seen = TestResult(name="thermal", outcome=TestOutcome.FAIL, details="fan rattles")
    (kept,) = merge([seen], [reading])
    assert kept.outcome is TestOutcome.FAIL and kept.details == "fan rattles; hottest 52 C"


def test_inspection_scans_for_wifi_and_reports_only_the_count(tmp_path: Path) -> None:
    pipeline, _events = _pipeline(tmp_path, "")
    runner = ReplayRunner(installed={"iw"})
    scan = (SYSROOTS.parent / "wireless" / "iw_scan_wlp2s0_5bss_excerpt.txt").read_text()
    runner.add(["iw", "dev", "wlp2s0", "scan"], scan)
    pipeline.runner = runner
    report = pipeline.inspect(asset_tag="HD-3", mode=Mode.CHECK)
    assert report.components.peripherals is not None
    assert report.components.peripherals.wifi_networks == 5
    assert "SSID" not in report.model_dump_json()  # the neighbours' names stay out


def test_an_unrecorded_scan_leaves_the_count_unknown_and_the_devices_found(
    tmp_path: Path,
) -> None:
    pipeline, _events = _pipeline(tmp_path, "")
    pipeline.runner = ReplayRunner(installed={"iw"})  # iw there, the scan not recorded
    report = pipeline.inspect(asset_tag="HD-4", mode=Mode.CHECK)
    assert report.components.peripherals is not None
    assert report.components.peripherals.wifi == ["wlp2s0"]
    assert report.components.peripherals.wifi_networks is None
