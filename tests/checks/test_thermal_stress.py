"""Thermal check: a real (short, one-core) stress while a sysfs tree is sampled."""

from __future__ import annotations

import multiprocessing
import shutil
from pathlib import Path

from agent.checks.thermal_stress import Sample, judge_thermal, read_sample, stress
from agent.grading import grade_report
from agent.policy import load_policy
from agent.report.samples import sample_report
from agent.report.schema import TestOutcome

SYSROOTS = Path(__file__).parent.parent / "fixtures" / "sysroots"


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    shutil.copytree(SYSROOTS / "laptop-peripherals", root, symlinks=True)
    for n in range(2):
        cpu = root / f"sys/devices/system/cpu/cpu{n}"
        (cpu / "cpufreq").mkdir(parents=True)
        (cpu / "cpufreq/scaling_cur_freq").write_text("3400000\n")
        (cpu / "thermal_throttle").mkdir()
        (cpu / "thermal_throttle/core_throttle_count").write_text("2\n")
        (cpu / "thermal_throttle/package_throttle_count").write_text("0\n")
    return root


def test_reads_temperatures_clocks_throttling_and_fans(tmp_path: Path) -> None:
    sample = read_sample(_tree(tmp_path))
    assert sample.temperatures_c == {"coretemp": 52.0, "acpitz": 45.0}
    assert sample.max_mhz == 3400.0
    assert sample.throttle_events == 4
    assert sample.fan_rpm == {"hwmon2/fan1_input": 2900}


def test_reads_a_real_thinkpad_t420_hwmon_tree() -> None:
    # values a ThinkPad T420 reported (sysroots/SOURCES.md); no cpufreq/throttle files recorded
    sample = read_sample(SYSROOTS / "hwmon-thinkpad-t420-smartfan3")
    assert sample.temperatures_c == {"acpitz": 49.0, "coretemp": 69.0}
    assert sample.fan_rpm == {"hwmon1/fan1_input": 3855}
    assert (sample.max_mhz, sample.throttle_events) == (None, 0)


def test_a_clogged_fan_heats_up_and_throttles_under_load(tmp_path: Path) -> None:
    root = _tree(tmp_path)

    def heat_up(_seconds: float) -> None:  # stands in for the wait: the load heats the CPU
        temp, throttles = "94000", "9"
        (root / "sys/class/hwmon/hwmon0/temp1_input").write_text(temp + "\n")
        (root / "sys/devices/system/cpu/cpu0/thermal_throttle/core_throttle_count").write_text(
            throttles + "\n"
        )

    samples = stress(root, 0.3, workers=1, every=0.1, sleep=heat_up)
    assert multiprocessing.active_children() == []  # the load ended with the check
    assert len(samples) >= 2
    result = judge_thermal(samples, 90)
    assert result.outcome is TestOutcome.FAIL
    assert result.details is not None and result.details.startswith(
        "peak 94 C (coretemp), limit 90 C"
    )
    assert "throttled 7 times" in result.details


def test_a_cool_laptop_passes_and_no_sensor_is_not_measured() -> None:
    cool = [Sample({"coretemp": 48.0}, 2600.0, 0), Sample({"coretemp": 77.0}, 3100.0, 0)]
    result = judge_thermal(cool, 90)
    assert result.outcome is TestOutcome.PASS
    assert (
        result.details == "peak 77 C (coretemp), limit 90 C, throttled 0 times, clock 2600-3100 MHz"
    )
    assert judge_thermal([Sample({}, None, 0)], 90).outcome is TestOutcome.SKIPPED


def test_a_fan_that_stands_still_under_load_while_it_heats_goes_to_repair(tmp_path: Path) -> None:
    """Below the limit, no throttling, but the fan never turned: clean (or replace) it."""
    root = _tree(tmp_path)
    fan = root / "sys/class/hwmon/hwmon2/fan1_input"

    def stuck_fan(_seconds: float) -> None:  # the load heats the CPU; the fan reads 0
        (root / "sys/class/hwmon/hwmon0/temp1_input").write_text("81000\n")
        fan.write_text("0\n")

    samples = stress(root, 0.3, workers=1, every=0.1, sleep=stuck_fan)
    result = judge_thermal(samples, 90)
    assert result.outcome is TestOutcome.FAIL
    assert "fan 0 rpm under load while the temperature rose 29 C" in (result.details or "")
    # graded: the fan on the repair list
    report = sample_report(7).model_copy(deep=True)
    assert report.components.cpu is not None
    report.components.cpu.flags.append("lm")
    report.tests = [t for t in report.tests if t.name != "thermal"] + [result]
    grade = grade_report(report, load_policy())
    assert "clean the fan and replace the thermal paste" in grade.to_fix


def test_a_resting_fan_on_a_cool_laptop_or_a_turning_fan_is_fine() -> None:
    idle = Sample({"coretemp": 45.0}, 2600.0, 0, {"hwmon2/fan1_input": 0})
    cool = Sample({"coretemp": 52.0}, 3100.0, 0, {"hwmon2/fan1_input": 0})  # +7 C: may rest
    assert judge_thermal([idle, cool], 90).outcome is TestOutcome.PASS
    hot_turning = Sample(
        {"coretemp": 80.0}, 3100.0, 0, {"hwmon2/fan1_input": 4100, "hwmon2/fan2_input": 0}
    )
    turning = judge_thermal([idle, hot_turning], 90)
    assert turning.outcome is TestOutcome.PASS
    assert (turning.details or "").endswith("fan up to 4100 rpm")
    no_fan = Sample({"coretemp": 80.0}, 3100.0, 0)
    assert judge_thermal([idle, no_fan], 90).outcome is TestOutcome.PASS  # nothing to judge
