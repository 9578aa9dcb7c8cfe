"""The live SMART probe: exact commands, the -d sat retry, and a real loop device."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.errors import ToolMissingError
from agent.health.smart import probe_disk_health, smartctl_argv
from agent.policy import load_policy
from agent.report.schema import DiskVerdict
from agent.runner import ReplayRunner, SystemRunner

SMART = Path(__file__).parent.parent / "fixtures" / "smart"
POLICY = load_policy().disk


def fixture(name: str) -> str:
    return (SMART / name).read_text()


def test_the_command_is_smartctl_x_json() -> None:
    assert smartctl_argv("/dev/sda") == ["smartctl", "-x", "--json=c", "/dev/sda"]
    assert smartctl_argv("/dev/sda", device_type="sat") == [
        "smartctl",
        "-x",
        "--json=c",
        "-d",
        "sat",
        "/dev/sda",
    ]


def test_probe_runs_one_command_and_judges_it() -> None:
    runner = ReplayRunner()
    argv = ["smartctl", "-x", "--json=c", "/dev/nvme0n1"]
    runner.add(argv, fixture("nvme_samsung_970evo_500g_media_errors7_failing.json"))
    health = probe_disk_health(runner, "/dev/nvme0n1", POLICY, transport="nvme")
    assert runner.calls == [tuple(argv)]
    assert health.verdict is DiskVerdict.FAILING
    assert "nvme.media_errors" in {r.code for r in health.reasons}
    assert health.raw_smartctl_json is not None


def test_exit_status_bits_with_good_data_still_judge() -> None:
    # exit 192 = error log + self-test log entries; the data is complete
    runner = ReplayRunner()
    runner.add(
        smartctl_argv("/dev/sdb"),
        fixture("sata_hdd_seagate_st3000dm001_pending1640_passed_but_failing.json"),
        returncode=192,
    )
    health = probe_disk_health(runner, "/dev/sdb", POLICY, transport="sata")
    assert health.verdict is DiskVerdict.FAILING
    assert health.smartctl_exit_status == 192


def test_unknown_usb_bridge_is_retried_with_sat() -> None:
    # Recorded outputs: the SanDisk bridge smartctl did not know (exit 1), then a
    # real SATA disk read through a USB JMicron bridge (exit 216).
    runner = ReplayRunner()
    runner.add(
        smartctl_argv("/dev/sdc"),
        fixture("edge_usb_unknown_bridge_sandisk_no_data.json"),
        returncode=1,
    )
    runner.add(
        smartctl_argv("/dev/sdc", device_type="sat"),
        fixture("sata_hdd_hitachi_hds721050_usbjmicron_realloc1975_failed.json"),
        returncode=216,
    )
    health = probe_disk_health(runner, "/dev/sdc", POLICY, transport="usb")
    assert runner.calls == [
        ("smartctl", "-x", "--json=c", "/dev/sdc"),
        ("smartctl", "-x", "--json=c", "-d", "sat", "/dev/sdc"),
    ]
    assert health.verdict is DiskVerdict.FAILING
    assert health.smartctl_exit_status == 216
    assert "usb.sat_retry" in {r.code for r in health.reasons}


def test_failed_sat_retry_gives_unknown_with_both_reasons() -> None:
    runner = ReplayRunner()
    runner.add(
        smartctl_argv("/dev/sdc"),
        fixture("edge_usb_unknown_bridge_sandisk_no_data.json"),
        returncode=1,
    )
    # Real smartctl 7.3 answer to '-d sat' on a device that is not SAT (exit 2)
    recorded = ReplayRunner.from_file(SMART / "replay" / "loop_device_no_smart.replay.json")
    sat = next(r for r in recorded.recordings if "sat" in r.argv)
    runner.add(smartctl_argv("/dev/sdc", device_type="sat"), sat.stdout, sat.returncode)
    health = probe_disk_health(runner, "/dev/sdc", POLICY)
    assert len(runner.calls) == 2
    assert health.verdict is DiskVerdict.UNKNOWN
    codes = {r.code: r for r in health.reasons}
    assert {"smart.unavailable", "usb.unknown_bridge", "usb.sat_retry_failed"} <= set(codes)
    assert "exit status 2" in codes["usb.sat_retry_failed"].message
    assert health.smartctl_exit_status == 1


def test_no_retry_when_transport_is_not_usb() -> None:
    runner = ReplayRunner()
    runner.add(
        smartctl_argv("/dev/sdc"),
        fixture("edge_usb_unknown_bridge_sandisk_no_data.json"),
        returncode=1,
    )
    health = probe_disk_health(runner, "/dev/sdc", POLICY, transport="sata")
    assert len(runner.calls) == 1
    assert health.verdict is DiskVerdict.UNKNOWN


def test_replayed_loop_device_is_unknown_with_the_reason() -> None:
    runner = ReplayRunner.from_file(SMART / "replay" / "loop_device_no_smart.replay.json")
    health = probe_disk_health(runner, "/dev/loop0", POLICY, transport="loop")
    assert runner.calls == [("smartctl", "-x", "--json=c", "/dev/loop0")]
    assert health.verdict is DiskVerdict.UNKNOWN
    message = next(r.message for r in health.reasons if r.code == "smart.unavailable")
    assert "Unable to detect device type" in message
    assert health.smartctl_exit_status == 1


def test_unreadable_smartctl_output_is_unknown_not_a_crash() -> None:
    runner = ReplayRunner()
    runner.add(smartctl_argv("/dev/sdd"), "", returncode=2, stderr="Smartctl open device failed")
    health = probe_disk_health(runner, "/dev/sdd", POLICY)
    assert health.verdict is DiskVerdict.UNKNOWN
    message = next(r.message for r in health.reasons if r.code == "smart.unavailable")
    assert "could not be read" in message and "could not be opened" in message


def test_missing_smartctl_names_the_package() -> None:
    runner = ReplayRunner(installed=set())
    with pytest.raises(ToolMissingError, match="smartmontools"):
        probe_disk_health(runner, "/dev/sda", POLICY)


# --------------------------------------------------------------------------- real smartctl


@pytest.fixture
def loop_device(tmp_path: Path) -> Iterator[str]:
    """A 16 MiB loop device over a file this test created; detached afterwards."""
    if os.geteuid() != 0 or shutil.which("losetup", path="/usr/sbin:/sbin:/usr/bin") is None:
        pytest.skip("needs root and losetup")
    runner = SystemRunner()
    image = tmp_path / "disk.img"
    with image.open("wb") as fh:
        fh.truncate(16 * 1024 * 1024)
    device = runner.run(["losetup", "--find", "--show", str(image)], check=True).text.strip()
    assert device.startswith("/dev/loop")
    try:
        yield device
    finally:
        runner.run(["partx", "-d", device])  # no partitions here; harmless, per the rules
        runner.run(["losetup", "-d", device], check=True)


@pytest.mark.root
def test_real_smartctl_on_a_loop_device_is_unknown(loop_device: str) -> None:
    runner = SystemRunner()
    if runner.which("smartctl") is None:
        pytest.skip("smartmontools not installed")
    health = probe_disk_health(runner, loop_device, POLICY, transport="loop")
    assert health.verdict is DiskVerdict.UNKNOWN
    assert health.raw_smartctl_json is not None
    assert health.raw_smartctl_json["smartctl"]["argv"] == smartctl_argv(loop_device)
    assert health.smartctl_exit_status is not None and health.smartctl_exit_status & 0b11
    unavailable = [r for r in health.reasons if r.code == "smart.unavailable"]
    assert len(unavailable) == 1
    assert "could not read this device" in unavailable[0].message
