"""Device checks: proposed from the probes, graded by the policy's [checks]."""

from __future__ import annotations

from pathlib import Path

from agent.checks.devices import device_checks
from agent.grading import grade_report
from agent.policy import load_policy
from agent.probes.peripherals import probe_peripherals
from agent.report.samples import sample_report
from agent.report.schema import Peripherals, Report, TestOutcome, TestResult

SYSROOTS = Path(__file__).parent.parent / "fixtures" / "sysroots"


def _found() -> Peripherals:
    return probe_peripherals(SYSROOTS / "laptop-peripherals")


def test_a_complete_laptop_proposes_every_check_ok() -> None:
    checks = device_checks(_found(), load_policy().checks)
    assert [(c.name, c.state) for c in checks] == [
        ("camera", "ok"),
        ("audio", "ok"),
        ("wifi", "ok"),
        ("bluetooth", "ok"),
        ("charging", "ok"),
        ("thermal", "ok"),
    ]
    assert checks[5].detail == "hottest 52 C (coretemp), limit 90 C"
    assert checks[4].detail == "AC online, battery Charging"


def test_a_vm_finds_nothing_and_measures_no_temperature() -> None:
    found = probe_peripherals(SYSROOTS / "vm-virtio-loop")
    states = {c.name: c.state for c in device_checks(found, load_policy().checks)}
    assert states == {
        "camera": "fail",
        "audio": "fail",
        "wifi": "fail",
        "bluetooth": "fail",
        "charging": "unknown",
        "thermal": "unknown",
    }


def test_unplugged_adapter_and_hot_cpu_fail(tmp_path: Path) -> None:
    found = _found().model_copy(
        update={
            "ac_online": False,
            "battery_status": "Discharging",
            "temperatures_c": {"coretemp": 97.0},
        }
    )
    states = {c.name: c.state for c in device_checks(found, load_policy().checks)}
    assert states["charging"] == "fail" and states["thermal"] == "fail"


def test_policy_skip_leaves_a_check_out(tmp_path: Path) -> None:
    override = tmp_path / "p.toml"
    override.write_text('[checks]\nskip = ["bluetooth", "thermal"]\n')
    names = [c.name for c in device_checks(_found(), load_policy(override).checks)]
    assert names == ["camera", "audio", "wifi", "charging"]


def _graded(
    *tests: TestResult, override: Path | None = None
) -> tuple[str, dict[str, str], list[str]]:
    # a donated laptop (intake: erased and flashed), so the checks' effects decide its grade
    report: Report = sample_report(7).model_copy(deep=True)
    assert report.components.cpu is not None
    report.components.cpu.flags.append("lm")
    report.tests = [t for t in report.tests if t.name not in {x.name for x in tests}]
    report.tests.extend(tests)
    grade = grade_report(report, load_policy(override))
    assert grade.grade is not None
    return grade.grade, {r.code: r.severity for r in grade.reasons}, grade.to_fix


def test_dead_camera_must_be_repaired_and_a_hot_laptop_needs_paste() -> None:
    checks = {c.name: c for c in device_checks(_found(), load_policy().checks)}
    grade, severities, to_fix = _graded(
        checks["camera"].result(broken=True),
        TestResult(name="thermal", outcome=TestOutcome.FAIL, details="hottest 97 C (coretemp)"),
    )
    assert grade == "C"
    assert severities["grade.test_camera"] == "error"
    assert severities["grade.thermal_hot"] == "error"
    assert "repair the camera" in to_fix
    assert "clean the fan and replace the thermal paste" in to_fix


def test_missing_bluetooth_is_only_a_note_and_policy_can_ignore_it(tmp_path: Path) -> None:
    missing = TestResult(name="bluetooth", outcome=TestOutcome.FAIL, details="no adapter")
    _grade, severities, _ = _graded(missing)
    assert severities["grade.test_bluetooth"] == "warning"
    override = tmp_path / "p.toml"
    override.write_text('[checks]\nbluetooth = "ignore"\n')
    _grade, severities, _ = _graded(missing, override=override)
    assert severities["grade.test_bluetooth"] == "info"


def _wifi_and_bluetooth(found: Peripherals, policy_text: str = "") -> dict[str, TestResult]:
    policy = load_policy().checks
    if policy_text:
        policy = policy.model_copy(update={"wifi_no_networks": policy_text})
    return {c.name: c.result() for c in device_checks(found, policy)}


def test_a_failed_wifi_scan_is_not_measured_with_its_reason_never_a_pass() -> None:
    found = _found().model_copy(update={"wifi_scan_error": "command failed: Network is down"})
    wifi = _wifi_and_bluetooth(found)["wifi"]
    assert wifi.outcome is TestOutcome.SKIPPED and wifi.skipped_by == "not_available"
    assert wifi.details == "wlp2s0: scan failed (command failed: Network is down)"


def test_no_network_in_reach_warns_by_default_and_fails_where_the_policy_says() -> None:
    found = _found().model_copy(update={"wifi_networks": 0})
    warned = _wifi_and_bluetooth(found)["wifi"]
    assert warned.outcome is TestOutcome.SKIPPED and warned.details == "wlp2s0, 0 networks seen"
    # by default it does not block or go to repair: the bench may have no Wi-Fi around
    report = sample_report(7).model_copy(deep=True)
    assert report.components.cpu is not None
    report.components.cpu.flags.append("lm")
    report.tests = [t for t in report.tests if t.name != "wifi"] + [warned]
    grade = grade_report(report, load_policy())
    assert not any(r.code == "grade.test_wifi" and r.severity == "error" for r in grade.reasons)
    assert _wifi_and_bluetooth(found, "fail")["wifi"].outcome is TestOutcome.FAIL
    seen = _wifi_and_bluetooth(_found().model_copy(update={"wifi_networks": 3}))["wifi"]
    assert seen.outcome is TestOutcome.PASS and seen.details == "wlp2s0, 3 networks seen"


def test_bluetooth_without_its_driver_fails_and_a_switched_off_radio_is_not_measured() -> None:
    unbound = _found().model_copy(update={"bluetooth_driver_bound": False})
    bt = _wifi_and_bluetooth(unbound)["bluetooth"]
    assert bt.outcome is TestOutcome.FAIL and bt.details == "hci0: driver/firmware not loaded"
    off = _found().model_copy(update={"bluetooth_driver_bound": True, "bluetooth_blocked": True})
    bt = _wifi_and_bluetooth(off)["bluetooth"]
    assert bt.outcome is TestOutcome.SKIPPED
    assert bt.details == "hci0: radio switched off (rfkill hard block)"
    assert _wifi_and_bluetooth(_found())["bluetooth"].outcome is TestOutcome.PASS
