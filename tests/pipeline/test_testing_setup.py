"""Test setups name their disks by serial or model (VM kernel names change between boots)
and may load kernel modules (scsi_debug with media errors) before inspection."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest

from agent.config import StationConfig
from agent.errors import CommandFailedError, InputError
from agent.pipeline.events import DiskProgress
from agent.pipeline.headless import LinePrinter
from agent.pipeline.kmod import load_modules
from agent.pipeline.station import Pipeline
from agent.report.schema import Disk
from agent.runner import ReplayRunner


def _disk(name: str, serial: str | None, model: str | None) -> Disk:
    return Disk(name=name, path=f"/dev/{name}", serial=serial, model=model, size_bytes=1 << 30)


def _pipeline(tmp_path: Path, allowed: list[str]) -> Pipeline:
    config = StationConfig.model_validate(
        {"station": {"data_dir": tmp_path}, "testing": {"allowed_devices": allowed}}
    )
    return Pipeline(config, runner=ReplayRunner())


def test_allowed_devices_by_serial_model_or_path(tmp_path: Path) -> None:
    pipeline = _pipeline(tmp_path, ["serial:E2ENVME0001", "model:scsi_debug", "/dev/sdz"])
    assert pipeline._allowed(_disk("nvme0n1", "E2ENVME0001", "QEMU NVMe Ctrl"))
    assert pipeline._allowed(_disk("sdc", "2000", "scsi_debug      "))  # sysfs pads models
    assert pipeline._allowed(_disk("sdz", None, None))
    # the stick, a disk with a serial that merely starts alike, one without serial
    assert not pipeline._allowed(_disk("sda", "DIGIBENCH-STICK", "QEMU HARDDISK"))
    assert not pipeline._allowed(_disk("nvme1n1", "E2ENVME00010", "QEMU NVMe Ctrl"))
    assert not pipeline._allowed(_disk("sdb", None, None))


def test_empty_serial_or_model_entry_allows_nothing(tmp_path: Path) -> None:
    pipeline = _pipeline(tmp_path, ["serial:", "model:"])
    assert not pipeline._allowed(_disk("sda", "", ""))
    assert not pipeline._allowed(_disk("sdb", None, None))


def _sys_root(tmp_path: Path, block: list[str], modules: list[str]) -> Path:
    for name in block:
        (tmp_path / "sys" / "block" / name).mkdir(parents=True)
    for name in modules:
        (tmp_path / "sys" / "module" / name).mkdir(parents=True)
    return tmp_path


def test_modprobe_then_waits_for_the_new_disk(tmp_path: Path) -> None:
    root = _sys_root(tmp_path, ["vda"], [])
    args = ["scsi_debug", "dev_size_mb=64", "opts=2"]
    runner = ReplayRunner()
    runner.add(["modprobe", *args])
    runner.add(["udevadm", "settle", "--timeout=10"])
    # the SCSI scan finishes a moment after modprobe returned
    timer = threading.Timer(0.3, lambda: (root / "sys/block/sdc").mkdir())
    timer.start()
    try:
        new = load_modules(runner, [args], sys_root=root, wait_s=10)
    finally:
        timer.cancel()
    assert new == ["sdc"]
    assert runner.calls[0] == ("modprobe", *args)


def test_loaded_module_is_not_loaded_again(tmp_path: Path) -> None:
    root = _sys_root(tmp_path, ["vda"], ["scsi_debug"])
    runner = ReplayRunner()
    assert load_modules(runner, [["scsi-debug", "opts=2"]], sys_root=root) == []
    assert runner.calls == []


def test_modprobe_failure_is_a_clear_error(tmp_path: Path) -> None:
    runner = ReplayRunner()
    runner.add(
        ["modprobe", "nosuchmod"],
        returncode=1,
        stderr="modprobe: FATAL: Module nosuchmod not found",
    )
    with pytest.raises(CommandFailedError, match="Module nosuchmod not found"):
        load_modules(runner, [["nosuchmod"]], sys_root=tmp_path)


@pytest.mark.parametrize("entry", [[], ["-r", "loop"]])
def test_modprobe_entry_must_name_a_module(tmp_path: Path, entry: list[str]) -> None:
    with pytest.raises(InputError, match="not a module"):
        load_modules(ReplayRunner(), [entry], sys_root=tmp_path)


def test_progress_lines_say_a_finished_phase_once() -> None:
    """A phase that reports "complete" many times (flash read-back polls) prints one line."""
    out = io.StringIO()
    printer = LinePrinter(out, every_s=3600)
    printer(DiskProgress("disk A", "flash", 0, 100, 0.0, None))
    for _ in range(50):
        printer(DiskProgress("disk A", "flash", 50, 100, 1.0, 50.0))  # rate-limited
    for _ in range(50):
        printer(DiskProgress("disk A", "flash-verify", 100, 100, 1.0, 0.0))
    printer(DiskProgress("disk B", "flash-verify", 100, 100, 1.0, 0.0))
    lines = out.getvalue().splitlines()
    assert len(lines) == 3, lines
    assert "disk A" in lines[1] and "100.0 %" in lines[1] and "disk B" in lines[2]
