"""Thermal check: a real (short, one-core) stress while a sysfs tree is sampled."""

from __future__ import annotations

import multiprocessing
import shutil
from pathlib import Path

from agent.checks.thermal_stress import Sample, judge_thermal, read_sample, stress
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
