"""The demo a newcomer runs: the real station on loop devices with a local server."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="the demo needs root (loop devices)"),
]


def test_headless_demo_wipes_flashes_and_reports() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "agent.cli", "demo", "--headless"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 pieces of donor data left" in result.stdout
    assert "server has DEMO-0001" in result.stdout
    assert "cleaned up" in result.stdout


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
def test_tui_demo_reaches_its_result_screen_under_tmux(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    from demo_tmux import drive

    out = tmp_path / "result.txt"
    code = drive(f"{sys.executable} -m agent.cli demo", out)
    shown = out.read_text()
    assert "beoordeling" in shown  # the result screen (Dutch by default)
    assert "/devices/DEMO-0001/" in shown.replace("\n", "").replace(" ", "")  # the QR's address
    assert code == 0


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
