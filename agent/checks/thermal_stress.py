"""A bounded CPU stress on every core while temperatures, clocks and throttling are sampled.

A laptop whose fan is clogged or whose thermal paste has dried out reaches its
limit within a minute of full load, and the CPU throttles (Intel counts it in
``thermal_throttle/*_throttle_count``). Either means "clean the fan, replace
the thermal paste" on the repair list. So does a fan that stands still: every
fan the hwmon chips report at 0 rpm through the whole load while the hottest
sensor climbs (a fan may rest at idle, never under full load on all cores).
The load is plain Python busy loops in child processes, each ending by itself
at the deadline: nothing outlives the check.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from agent.probes.sysfs import list_dir, read_int, under
from agent.probes.thermal import probe_temperatures
from agent.report.schema import SkipCause, TestOutcome, TestResult

CPU = "/sys/devices/system/cpu"
#: degrees C the hottest sensor must climb under load before a fan at 0 rpm is judged
#: stopped (a laptop that stays cool may keep its fan off)
FAN_CLIMB_C = 10.0


@dataclass(frozen=True)
class Sample:
    temperatures_c: dict[str, float]
    max_mhz: float | None
    throttle_events: int
    fan_rpm: dict[str, int] = field(default_factory=dict)


def _cpus(root: Path) -> list[Path]:
    base = under(root, CPU)
    return [base / n for n in list_dir(base) if n.startswith("cpu") and n[3:].isdigit()]


def read_sample(root: Path) -> Sample:
    """One reading of every sensor the check judges."""
    mhz: list[float] = []
    throttles = 0
    for cpu in _cpus(root):
        khz = read_int(cpu / "cpufreq" / "scaling_cur_freq")
        if khz:
            mhz.append(khz / 1000)
        for counter in ("core_throttle_count", "package_throttle_count"):
            throttles += read_int(cpu / "thermal_throttle" / counter) or 0
    fans: dict[str, int] = {}
    hwmon = under(root, "/sys/class/hwmon")
    for chip in list_dir(hwmon):
        for entry in list_dir(hwmon / chip):
            if entry.startswith("fan") and entry.endswith("_input"):
                rpm = read_int(hwmon / chip / entry)
                if rpm is not None and 0 <= rpm < 30_000:
                    fans[f"{chip}/{entry}"] = rpm
    return Sample(probe_temperatures(root), max(mhz) if mhz else None, throttles, fans)


def _spin(deadline: float) -> None:
    """Busy loop until ``deadline`` (time.monotonic, shared across processes on Linux)."""
    x = 0
    while time.monotonic() < deadline:
        x = (x * 31 + 7) % 1_000_003


def stress(
    root: Path,
    seconds: float,
    *,
    workers: int | None = None,
    every: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Sample]:
    """Load ``workers`` cores (all by default) for ``seconds`` and sample meanwhile."""
    count = workers or os.cpu_count() or 1
    deadline = time.monotonic() + seconds
    context = multiprocessing.get_context("fork")
    procs = [context.Process(target=_spin, args=(deadline,), daemon=True) for _ in range(count)]
    samples = [read_sample(root)]
    for proc in procs:
        proc.start()
    try:
        while True:  # at least one reading under load, however slow the start was
            sleep(min(every, max(0.0, deadline - time.monotonic())))
            samples.append(read_sample(root))
            if time.monotonic() >= deadline:
                break
    finally:
        for proc in procs:
            proc.join(timeout=seconds + 5)
            if proc.is_alive():
                proc.kill()
                proc.join()
    return samples


def judge_thermal(samples: list[Sample], limit_c: float) -> TestResult:
    """Fail when any sensor reaches ``limit_c`` or the CPU throttled during the load."""
    if not samples or not any(s.temperatures_c for s in samples):
        return TestResult(
            name="thermal",
            outcome=TestOutcome.SKIPPED,
            details="no temperature sensors",
            skipped_by=SkipCause.NOT_AVAILABLE,
        )
    peak_chip, peak = max(
        ((chip, t) for s in samples for chip, t in s.temperatures_c.items()),
        key=lambda item: item[1],
    )
    throttled = samples[-1].throttle_events - samples[0].throttle_events
    clocks = [s.max_mhz for s in samples if s.max_mhz is not None]
    detail = f"peak {peak:.0f} C ({peak_chip}), limit {limit_c:.0f} C, throttled {throttled} times"
    if clocks:
        detail += f", clock {min(clocks):.0f}-{max(clocks):.0f} MHz"
    fails = peak >= limit_c or throttled > 0
    stopped = fan_stopped(samples)
    if stopped is not None:
        detail += f", fan 0 rpm under load while the temperature rose {stopped:.0f} C"
        fails = True
    elif any(s.fan_rpm for s in samples[1:]):
        top = max(rpm for s in samples[1:] for rpm in s.fan_rpm.values())
        detail += f", fan up to {top} rpm"
    return TestResult(
        name="thermal", outcome=TestOutcome.FAIL if fails else TestOutcome.PASS, details=detail
    )


def fan_stopped(samples: list[Sample]) -> float | None:
    """How far the hottest sensor climbed while every fan read 0 rpm under load; None
    when a fan turned, no fan is reported, or the temperature did not climb enough."""
    loaded = samples[1:]
    if not loaded or not any(s.fan_rpm for s in loaded):
        return None
    if any(rpm > 0 for s in loaded for rpm in s.fan_rpm.values()):
        return None
    start = max(samples[0].temperatures_c.values(), default=None)
    peak = max((t for s in loaded for t in s.temperatures_c.values()), default=None)
    if start is None or peak is None or peak - start < FAN_CLIMB_C:
        return None
    return peak - start
