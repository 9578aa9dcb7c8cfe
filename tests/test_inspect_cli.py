"""`digibench inspect`, `disk-health` and `battery-health` as a user runs them."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from agent.errors import InputError
from agent.report.schema import Report, json_schema

ROOT = Path(__file__).parent.parent
FIX = ROOT / "tests" / "fixtures"
DIGIBENCH = [sys.executable, "-m", "agent.cli"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*DIGIBENCH, *args], capture_output=True, text=True, cwd=ROOT)


@pytest.fixture
def loop_device(tmp_path: Path) -> Iterator[str]:
    if os.geteuid() != 0:
        pytest.skip("loop devices need root")
    backing = tmp_path / "disk.img"
    with backing.open("wb") as fh:
        fh.truncate(8 << 20)
    dev = subprocess.run(
        ["losetup", "--find", "--show", str(backing)], capture_output=True, text=True, check=True
    ).stdout.strip()
    try:
        yield dev
    finally:
        subprocess.run(["losetup", "-d", dev], check=False)


def test_inspect_json_validates_and_flags_loop_devices(loop_device: str) -> None:
    result = _run("inspect", "--json", "--asset-tag", "DB-TEST-1")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    jsonschema.validate(data, json_schema())  # the published JSON Schema
    report = Report.model_validate(data)  # and the pydantic model the server uses
    assert report.mode == "check"
    assert report.asset_tag == "DB-TEST-1"
    loops = [d for d in report.components.disks if d.path == loop_device]
    assert len(loops) == 1, [d.path for d in report.components.disks]
    loop = loops[0]
    assert loop.is_loop and loop.transport == "loop" and not loop.internal
    assert loop.health is not None and loop.health.verdict == "unknown"
    root_disks = [d for d in report.components.disks if d.holds_root]
    assert root_disks and all(d.in_use_reason for d in root_disks)


def test_inspect_text_says_what_is_missing() -> None:
    result = _run("inspect")
    assert result.returncode == 0, result.stderr
    assert "Disks (" in result.stdout
    # this VM has no battery and no DMI; a real laptop has both
    if not list(Path("/sys/class/power_supply").glob("BAT*")):
        assert "No battery found" in result.stdout


def test_disk_health_json_over_all_fixtures() -> None:
    files = sorted(str(p) for p in (FIX / "smart").glob("*.json")) + sorted(
        str(p) for p in (FIX / "smart").glob("*.txt")
    )
    assert len(files) >= 30
    result = _run("disk-health", "--json", *files)
    assert result.returncode == 0, result.stderr
    entries = json.loads(result.stdout)
    assert len(entries) == len(files)
    for entry in entries:
        assert {"file", "verdict", "reasons", "model", "serial", "protocol"} <= entry.keys()
    verdicts = {Path(e["file"]).name: e["verdict"] for e in entries}
    assert verdicts["nvme_samsung_970evo_500g_media_errors7_failing.json"] == "failing"
    assert verdicts["sata_ssd_intel_s3500_240g_mwi22_worn.json"] == "worn"
    assert verdicts["nvme_crucial_p2_250g_healthy.json"] == "healthy"
    assert verdicts["edge_virtualbox_virtual_disk_no_smart.json"] == "unknown"


def test_disk_health_bad_file_is_one_line_and_others_still_judged(tmp_path: Path) -> None:
    bad = tmp_path / "garbage.json"
    bad.write_text('{"json_format_version": [1, 0], "smartctl": ')
    good = FIX / "smart" / "nvme_crucial_p2_250g_healthy.json"
    result = _run("disk-health", "--json", str(bad), str(good), str(tmp_path / "missing.json"))
    assert result.returncode == 2
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 2
    assert str(bad) in errors[0] and "missing.json" in errors[1]
    assert [e["verdict"] for e in json.loads(result.stdout)] == ["healthy"]


def test_disk_health_policy_override_changes_verdict(tmp_path: Path) -> None:
    policy = tmp_path / "p.toml"
    policy.write_text("[disk]\nnvme_percentage_used_worn = 10\n")
    fixture = str(FIX / "smart" / "nvme_samsung_pm9a1_1t_oem_laptop_16pct.json")
    assert json.loads(_run("disk-health", "--json", fixture).stdout)[0]["verdict"] == "healthy"
    out = _run("disk-health", "--json", "--policy", str(policy), fixture).stdout
    assert json.loads(out)[0]["verdict"] == "worn"


def test_battery_health_json_over_all_fixtures(tmp_path: Path) -> None:
    files = sorted(str(p) for p in (FIX / "battery").glob("*.txt"))
    assert len(files) >= 10
    bad = tmp_path / "noise.txt"
    bad.write_bytes(b"\x00\x01 definitely not a battery")
    result = _run("battery-health", "--json", *files, str(bad))
    assert result.returncode == 2
    assert "noise.txt" in result.stderr
    entries = json.loads(result.stdout)
    assert {e["file"] for e in entries} == set(files)
    for entry in entries:
        assert {"file", "health_percent", "cycle_count", "verdict"} <= entry.keys()
    by_file = {Path(e["file"]).name: e for e in entries}
    worn = by_file["thinkpad_smp_42T4977_uevent_worn_66pct_i3status186.txt"]
    assert worn["verdict"] == "worn" and worn["health_percent"] == pytest.approx(65.5, abs=0.1)


def test_schema_command_prints_the_published_schema() -> None:
    result = _run("schema")
    assert result.returncode == 0
    assert json.loads(result.stdout)["title"] == "Digibench report v1"


# ----------------------------------------------------------------------- bounded input


@pytest.mark.parametrize("command", ["disk-health", "battery-health"])
def test_health_commands_refuse_a_fifo_instead_of_waiting(command: str, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    result = subprocess.run(
        [*DIGIBENCH, command, str(fifo)], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"digibench: error: {fifo}: a FIFO (named pipe), not a saved file of "
        + ("smartctl output" if command == "disk-health" else "a battery dump")
    ]


@pytest.mark.parametrize("command", ["disk-health", "battery-health"])
def test_health_commands_refuse_a_character_device(command: str) -> None:
    def bounded_memory() -> None:  # a regression fails with MemoryError, not a full machine
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    result = subprocess.run(
        [*DIGIBENCH, command, "/dev/zero"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        preexec_fn=bounded_memory,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "/dev/zero: a character device, not a saved file" in lines[0]
    assert "Traceback" not in result.stderr


def test_disk_health_checks_the_size_before_reading(tmp_path: Path) -> None:
    from agent.health.smart_parse import MAX_INPUT_BYTES, read_smartctl_file

    huge = tmp_path / "huge.txt"
    with huge.open("wb") as fh:
        fh.truncate(MAX_INPUT_BYTES + 1)  # sparse: nothing is written
    with pytest.raises(InputError, match=f"{MAX_INPUT_BYTES + 1} bytes, too large"):
        read_smartctl_file(huge)
