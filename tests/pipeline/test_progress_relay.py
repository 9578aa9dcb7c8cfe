"""Headless progress says 100 % exactly when a phase completed, and never before."""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import pytest

from agent.erase.progress import WipeProgress
from agent.pipeline.events import Event, Notice
from agent.pipeline.headless import LinePrinter
from agent.pipeline.hotplug import DiskWatcher, block_devices
from agent.pipeline.progress import WipeRelay

MiB = 1 << 20


def _lines(progress: list[WipeProgress]) -> list[str]:
    out = io.StringIO()
    relay = WipeRelay(LinePrinter(out, every_s=3600), {"id-1": "Disk A (S1)"})
    for p in progress:
        relay(p)
    return out.getvalue().splitlines()


def test_a_finished_wipe_ends_at_100_percent() -> None:
    # a firmware erase reports a fraction, then verification: the erase completed
    lines = _lines(
        [
            WipeProgress("id-1", "firmware", 8 * MiB, 64 * MiB, 0.0, None),
            WipeProgress("id-1", "verify", 0, 64 * MiB, 0.0, None),
            WipeProgress("id-1", "verify", 8 * MiB, 64 * MiB, 0.0, None),
            WipeProgress("id-1", "done", 64 * MiB, 64 * MiB, 0.0, 0.0, message="erased"),
        ]
    )
    firmware = [line for line in lines if "firmware" in line]
    verify = [line for line in lines if "verify" in line]
    assert "100.0 %" in firmware[-1], lines
    assert "100.0 %" in verify[-1], lines


def test_an_interrupted_wipe_never_says_100_percent() -> None:
    lines = _lines(
        [
            WipeProgress("id-1", "wipe", 8 * MiB, 64 * MiB, 0.0, None),
            WipeProgress("id-1", "done", 8 * MiB, 64 * MiB, 0.0, 0.0, message="failed"),
        ]
    )
    assert not any("100.0 %" in line for line in lines), lines
    assert any("12.5 %" in line for line in lines)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root for a loop device")
def test_a_disk_plugged_in_and_pulled_is_noticed_without_udev(tmp_path: Path) -> None:
    events: list[Event] = []
    (tmp_path / "data").mkdir()
    watcher = DiskWatcher(Path("/"), events.append, tmp_path / "data")
    backing = tmp_path / "new.raw"
    backing.write_bytes(b"\0" * MiB)
    dev = subprocess.run(
        ["losetup", "--find", "--show", str(backing)], capture_output=True, check=True, text=True
    ).stdout.strip()
    try:
        appeared, _ = watcher.poll()
        assert Path(dev).name in appeared and Path(dev).name in block_devices(Path("/"))
    finally:
        subprocess.run(["losetup", "-d", dev], check=True)
    _, vanished = watcher.poll()
    assert Path(dev).name in vanished
    (tmp_path / "data").rmdir()  # the stick's data partition is pulled
    watcher.poll()
    said = [(e.code, e.params.get("disk")) for e in events if isinstance(e, Notice)]
    name = Path(dev).name  # other loops of a busy machine may come and go too
    assert ("notice.disk_appeared", name) in said and ("notice.disk_vanished", name) in said
    assert said[-1] == ("notice.stick_gone", None)


def test_the_stick_coming_back_writes_what_was_kept(tmp_path: Path) -> None:
    from agent.pipeline.storage import Keeper

    events: list[Event] = []
    data = tmp_path / "data"
    data.mkdir()
    keeper = Keeper(events.append, None)
    watcher = DiskWatcher(tmp_path, events.append, data, on_stick_back=keeper.retry)
    data.rmdir()  # pulled
    watcher.poll()
    blocker = tmp_path / "data"
    blocker.write_text("")  # the mount point is not a folder now: nothing can be saved
    assert not keeper.write("the report", data / "outbox" / "r.json", b"{}")
    blocker.unlink()
    data.mkdir()  # back
    watcher.poll()
    assert (data / "outbox" / "r.json").read_bytes() == b"{}"
    codes = [e.code for e in events if isinstance(e, Notice)]
    assert codes == [
        "notice.stick_gone",
        "notice.storage_failed",
        "notice.stick_back",
        "notice.storage_saved",
    ]
