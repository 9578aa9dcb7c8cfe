from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from agent.errors import CommandFailedError, ToolMissingError, UnexpectedCommandError
from agent.runner import DryRunRunner, ReplayRunner, SystemRunner, is_read_only


def test_system_runner_runs_argv_without_shell() -> None:
    result = SystemRunner().run([sys.executable, "-c", "import sys; print(sys.argv[1])", "a b;c"])
    assert result.ok
    assert result.text.strip() == "a b;c"  # a shell would have split or run ';c'


def test_system_runner_missing_tool_names_debian_package() -> None:
    runner = SystemRunner(env={"PATH": "/nonexistent"})
    runner.which = lambda tool: None  # type: ignore[method-assign]
    with pytest.raises(ToolMissingError) as exc:
        runner.run(["smartctl", "-x", "/dev/sda"])
    assert "smartctl" in str(exc.value)
    assert "apt-get install smartmontools" in str(exc.value)


def test_system_runner_check_raises_with_stderr_line() -> None:
    with pytest.raises(CommandFailedError) as exc:
        SystemRunner().run(
            [sys.executable, "-c", "import sys; sys.stderr.write('boom\\n'); sys.exit(3)"],
            check=True,
        )
    assert "exit status 3" in str(exc.value)
    assert "boom" in str(exc.value)


def test_system_runner_timeout_is_a_clear_error() -> None:
    with pytest.raises(CommandFailedError, match="did not finish"):
        SystemRunner().run([sys.executable, "-c", "import time; time.sleep(5)"], timeout=0.2)


def test_replay_runner_serves_recordings_and_logs_calls(tmp_path: Path) -> None:
    tape = tmp_path / "tape.json"
    tape.write_text(
        json.dumps(
            [
                {
                    "argv": ["smartctl", "-x", "--json=c", "/dev/sda"],
                    "stdout": "{}",
                    "returncode": 4,
                },
            ]
        )
    )
    runner = ReplayRunner.from_file(tape)
    result = runner.run(["smartctl", "-x", "--json=c", "/dev/sda"])
    assert result.returncode == 4
    assert result.text == "{}"
    assert runner.calls == [("smartctl", "-x", "--json=c", "/dev/sda")]
    with pytest.raises(UnexpectedCommandError):
        runner.run(["hdparm", "-I", "/dev/sda"])


def test_replay_runner_can_simulate_missing_tool() -> None:
    runner = ReplayRunner(installed={"lsblk"})
    with pytest.raises(ToolMissingError, match="nvme-cli"):
        runner.run(["nvme", "list"])


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["smartctl", "-x", "/dev/sda"], True),
        (["hdparm", "-I", "/dev/sda"], True),
        (["hdparm", "-N", "/dev/sda"], True),
        (["hdparm", "-N", "p976773168", "/dev/sda"], False),
        (["hdparm", "--security-erase", "x", "/dev/sda"], False),
        (["nvme", "id-ctrl", "/dev/nvme0"], True),
        (["nvme", "sanitize", "/dev/nvme0", "-a", "4"], False),
        (["dd", "if=/dev/zero", "of=/dev/sda"], False),
        ([], False),
    ],
)
def test_is_read_only(argv: list[str], expected: bool) -> None:
    assert is_read_only(argv) is expected


def test_dry_run_lists_destructive_commands_and_runs_none() -> None:
    inner = ReplayRunner()
    inner.add(["hdparm", "-I", "/dev/sda"], "ATA device")
    dry = DryRunRunner(inner)
    assert dry.run(["hdparm", "-I", "/dev/sda"]).text == "ATA device"
    assert dry.run(["nvme", "format", "/dev/nvme0n1", "--ses=2"]).ok
    assert dry.planned == [("nvme", "format", "/dev/nvme0n1", "--ses=2")]
    assert inner.calls == [("hdparm", "-I", "/dev/sda")]
