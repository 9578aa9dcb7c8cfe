"""The demo a newcomer runs: the real station on loop devices with a local server."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).parent.parent
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="the demo needs root (loop devices)"),
]


def _demo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent.cli", "demo", "--headless", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_headless_demo_wipes_flashes_and_reports_the_tag_it_ran() -> None:
    result = _demo("--asset-tag", "DEMO-0042")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(" 0 pieces of donor data left") == 2, result.stdout
    assert "server has DEMO-0042 (intake run " in result.stdout
    assert "DEMO-0001" not in result.stdout
    assert "every check passed" in result.stdout
    assert "cleaned up" in result.stdout


def test_a_helpdesk_check_in_the_demo_leaves_every_byte_of_donor_data() -> None:
    result = _demo("--mode", "check", "--asset-tag", "HELP-7")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "257 of 257 pieces of donor data in place (nothing wiped)" in result.stdout
    assert "129 of 129 pieces of donor data in place (nothing wiped)" in result.stdout
    assert "server has HELP-7 (check run " in result.stdout
    assert "a helpdesk visit)" in result.stdout  # apart from the donated laptops (issue #19)


def test_the_demo_fails_when_the_server_lacks_the_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The station's upload goes to a port where nothing listens: the report stays in the
    outbox, and the demo's own check of the server must say so and fail."""
    from agent.demo import run as demo_run

    real_config = demo_run.station_config

    def unreachable_server(*args: Any, **kwargs: Any) -> Any:
        config = real_config(*args, **kwargs)
        with socket.socket() as sock:  # a port nobody listens on once closed
            sock.bind(("127.0.0.1", 0))
            dead = sock.getsockname()[1]
        server = config.server.model_copy(update={"url": f"http://127.0.0.1:{dead}"})
        return config.model_copy(update={"server": server})

    monkeypatch.setattr(demo_run, "station_config", unreachable_server)
    code = demo_run.run_demo(headless=True, asset_tag="DEMO-0099")
    out = capsys.readouterr().out
    assert code == 1, out
    assert "FAILED: the server lacks the intake run of DEMO-0099" in out
    assert "every check passed" not in out
    assert "cleaned up" in out


def test_leftovers_finds_a_loop_device_the_demo_made(tmp_path: Path) -> None:
    from agent.demo.run import leftovers

    backing = tmp_path / "disk0.raw"
    backing.write_bytes(b"\0" * (1 << 20))
    dev = subprocess.run(
        ["losetup", "--find", "--show", str(backing)], capture_output=True, text=True, check=True
    ).stdout.strip()
    try:
        assert leftovers(tmp_path) == [f"loop device {dev}"]
    finally:
        subprocess.run(["losetup", "-d", dev], check=True)
    assert leftovers(tmp_path) == []


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
def test_tui_demo_reaches_its_result_screen_under_tmux(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    from demo_tmux import drive

    out = tmp_path / "result.txt"
    code, log = drive(f"{sys.executable} -m agent.cli demo", out, asset_tag="DEMO-0042")
    shown = out.read_text()
    assert "beoordeling" in shown  # the result screen (Dutch by default)
    # the QR's address under it, read down its own column (the reasons share its rows)
    lines = shown.splitlines()
    (first,) = [i for i, line in enumerate(lines) if "http://" in line]
    column = lines[first].index("http://")
    address = "".join(line[column:].strip() for line in lines[first : first + 3])
    assert "/devices/DEMO-0042/" in address
    assert "server has DEMO-0042 (intake run " in log, log
    assert "every check passed" in log, log
    assert code == 0, log


def test_a_failed_demo_still_cleans_up(monkeypatch: pytest.MonkeyPatch) -> None:
    from agent.demo import run as demo_run
    from agent.errors import DigibenchError

    def broken(*args: object, **kwargs: object) -> None:
        raise DigibenchError("image build failed (injected)")

    before = set(Path("/var/tmp").glob("digibench-demo-*"))
    monkeypatch.setattr(demo_run, "build_image", broken)
    with pytest.raises(DigibenchError, match="injected"):
        demo_run.run_demo(headless=True)
    assert set(Path("/var/tmp").glob("digibench-demo-*")) == before


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_stopped_demo_still_cleans_up(sig: signal.Signals) -> None:
    """Killing the demo (or closing its terminal) mid-run leaves no loop device or folder."""
    before = set(Path("/var/tmp").glob("digibench-demo-*"))
    proc = subprocess.Popen(
        [sys.executable, "-u", "-m", "agent.cli", "demo", "--headless"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    workdir = ""
    try:
        for line in proc.stdout:
            if "working in " in line:
                workdir = line.split("working in ", 1)[1].strip()
            if "donor data planted" in line:
                proc.send_signal(sig)
                break
        rest = proc.communicate(timeout=120)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert workdir, "the demo never said where it works"
    assert "cleaned up" in rest, rest
    assert not Path(workdir).exists()
    loops = subprocess.run(["losetup", "-a"], capture_output=True, text=True, check=True).stdout
    assert workdir not in loops, loops
    assert set(Path("/var/tmp").glob("digibench-demo-*")) == before
