"""CPU probe on recorded cpuinfo (this VM; jc's cpuinfo2 fixture) and on the live machine."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from agent.probes.cpu import probe_cpu

from .conftest import SYSROOTS


def test_jc_cpuinfo2_two_sockets_one_core_each() -> None:
    cpu = probe_cpu(SYSROOTS / "cpu-jc-cpuinfo2")
    assert cpu.model == "Intel(R) Core(TM) i5-8279U CPU @ 2.40GHz"
    assert cpu.vendor == "Intel"
    assert cpu.architecture == "x86_64"  # inferred from the 'lm' flag: no /proc/sys here
    assert (cpu.cores, cpu.threads) == (2, 2)
    assert "avx2" in cpu.flags and "hypervisor" in cpu.flags
    assert cpu.max_mhz is None


def test_recorded_vm_epyc() -> None:
    cpu = probe_cpu(SYSROOTS / "vm-virtio-loop")
    assert (cpu.model, cpu.vendor, cpu.architecture) == ("AMD EPYC", "AMD", "x86_64")
    assert (cpu.cores, cpu.threads) == (2, 2)


def test_max_freq_from_cpufreq(tmp_path: Path) -> None:
    """cpufreq files added to a copy of the recorded tree (kHz, as the kernel writes them)."""
    root = tmp_path / "root"
    shutil.copytree(SYSROOTS / "vm-virtio-loop", root, symlinks=True)
    for n, khz in ((0, "4000000"), (1, "4600000")):
        freq = root / f"sys/devices/system/cpu/cpu{n}/cpufreq"
        freq.mkdir(parents=True)
        (freq / "cpuinfo_max_freq").write_text(khz + "\n")
    assert probe_cpu(root).max_mhz == 4600.0


def test_live_machine_matches_os() -> None:
    cpu = probe_cpu()
    assert cpu.threads == os.cpu_count()
    assert cpu.architecture == os.uname().machine
    assert cpu.cores is not None and 1 <= cpu.cores <= cpu.threads


def test_missing_or_garbage_cpuinfo(tmp_path: Path) -> None:
    assert probe_cpu(tmp_path).model is None
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc/cpuinfo").write_bytes(b"\x00\xff garbage\n::::\n")
    cpu = probe_cpu(tmp_path)
    assert cpu.cores is None and cpu.threads is None
