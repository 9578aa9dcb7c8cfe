"""Two disks wiped at once while one of them fails: nothing crosses over to the other.

A laptop's disks are wiped in parallel (``wipe_all``, one thread per disk). When
one disk has bad sectors or stops taking writes, its errors, its progress and its
journal must stay with it: the healthy disk's record is clean and its bytes are
its own pattern. Device-mapper (dm-error, dm-flakey) does not exist on this
kernel, so the faults come from a real kernel error (the second disk's backing
file lives on a tmpfs too small to hold it: the loop device fails the writes
past that with ENOSPC, as a disk that stops accepting I/O does) and from bad
sectors injected where the engine opens the disk (``FlakyDevice``).
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agent.erase import engine
from agent.erase.device import BlockDevice
from agent.erase.engine import WipeOptions, WipeOutcome, wipe_all
from agent.erase.journal import Journal
from agent.erase.overwrite import Pattern
from agent.erase.progress import WipeProgress
from agent.report.schema import ErasureResult

from .conftest import MARKER, Loop, MiB, aes_ctr_stream, needs_root, run
from .test_faults_loop import FlakyDevice
from .test_overwrite_loop import _seed

pytestmark = needs_root


class Recorder:
    """Every progress event, with the thread that sent it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: list[tuple[str, WipeProgress]] = []

    def __call__(self, ev: WipeProgress) -> None:
        with self.lock:
            self.events.append((threading.current_thread().name, ev))

    def of(self, identity: str, phase: str) -> list[WipeProgress]:
        return [ev for _t, ev in self.events if ev.disk == identity and ev.phase == phase]

    def threads_of(self, identity: str) -> set[str]:
        return {t for t, ev in self.events if ev.disk == identity}


def _progress_is_its_own(rec: Recorder, identity: str, size: int, *, ends_at: int | None) -> None:
    """Never backwards, never past this disk's size, always this disk's total. A disk that
    fails (``ends_at=None``) may fail before its first progress report is due."""
    wipe = rec.of(identity, "wipe")
    done = [ev.done_bytes for ev in wipe]
    assert done == sorted(done)
    assert all(ev.total_bytes == size for ev in wipe)
    assert all(d <= size for d in done)
    if ends_at is not None:
        assert done and done[-1] == ends_at


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 12 MiB tmpfs: a bigger sparse file on it cannot be filled."""
    mount = tmp_path / "small"
    mount.mkdir()
    run(["mount", "-t", "tmpfs", "-o", "size=12m", "digibench-test", str(mount)], check=True)
    try:
        yield mount
    finally:
        run(["umount", str(mount)])


def test_disk_that_stops_taking_writes_fails_alone(
    make_loop: Callable[..., Loop],
    options: Callable[..., WipeOptions],
    small_tmpfs: Path,
    tmp_path: Path,
) -> None:
    good = make_loop(32 * MiB, "good")
    image = small_tmpfs / "bad.img"
    with image.open("wb") as fh:
        fh.truncate(40 * MiB)
    dev = run(["losetup", "--find", "--show", str(image)], check=True).text.strip()
    bad = Loop(dev, image)
    try:
        for loop in (good, bad):
            loop.plant()
        targets = [good.target(), bad.target()]
        rec = Recorder()
        outs = wipe_all(targets, options(*targets, pattern=Pattern.RANDOM), rec)
        _check_good(outs[0], good, targets[0].identity, rec)
        failed = outs[1].record
        assert failed.disk_identity == targets[1].identity
        assert failed.disk_size_bytes == 40 * MiB
        assert failed.result is ErasureResult.FAILED
        notes = " ".join(failed.notes)
        assert f"{bad.name} stopped accepting I/O" in notes
        assert re.search(rf"\b{good.name}\b", notes) is None  # loop1 is not in loop10
        # the unwritten rest of the failing disk is in its record, from where it stopped
        stopped = failed.errors[-1]
        assert stopped.start_byte + stopped.length_bytes == 40 * MiB
        assert stopped.start_byte < 20 * MiB  # the 12 MiB tmpfs is full about there
        assert failed.bytes_written == stopped.start_byte
        _progress_is_its_own(rec, targets[1].identity, 40 * MiB, ends_at=None)
        assert rec.of(targets[1].identity, "verify") == []
        assert rec.threads_of(targets[0].identity).isdisjoint(rec.threads_of(targets[1].identity))
        # the failing disk keeps its journal (a rerun resumes it); the good one's is gone
        journal = Journal(tmp_path / "state")
        assert journal.path_for(targets[1].identity).exists()
        assert not journal.path_for(targets[0].identity).exists()
    finally:
        run(["losetup", "-d", dev])


def test_bad_sectors_on_one_disk_stay_on_its_record(
    make_loop: Callable[..., Loop],
    options: Callable[..., WipeOptions],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    good = make_loop(32 * MiB, "good")
    flaky = make_loop(40 * MiB, "flaky")
    for loop in (good, flaky):
        loop.plant()
    marker_at = 21 * MiB + (21 * 4099) % (MiB - 64)  # where Loop.plant put MiB 21's marker
    first = marker_at // 512 * 512
    sectors = range(first, first + 2 * 512)

    def open_disk(path: str) -> BlockDevice:
        if os.path.realpath(path) == os.path.realpath(flaky.dev):
            return FlakyDevice(path, sectors)
        return BlockDevice(path)

    monkeypatch.setattr(engine, "BlockDevice", open_disk)
    targets = [good.target(), flaky.target()]
    rec = Recorder()
    outs = wipe_all(targets, options(*targets, pattern=Pattern.RANDOM), rec)
    _check_good(outs[0], good, targets[0].identity, rec)
    record = outs[1].record
    assert record.disk_identity == targets[1].identity
    assert record.result is ErasureResult.ERASED_WITH_EXCEPTIONS, record.notes
    # the refused write and the read-back that found the old bytes there, nothing else
    assert [(e.start_byte, e.length_bytes, e.message) for e in record.errors] == [
        (sectors.start, 1024, "write failed: Input/output error"),
        (sectors.start, 1024, "data left that is not the wipe pattern"),
    ]
    _progress_is_its_own(rec, targets[1].identity, 40 * MiB, ends_at=40 * MiB)
    verify = [ev.done_bytes for ev in rec.of(targets[1].identity, "verify")]
    assert verify and verify == sorted(verify) and verify[-1] == 40 * MiB
    # every byte but the refused sectors holds the flaky disk's own stream
    data = flaky.read_image()
    stream = aes_ctr_stream(_seed(record.pattern), len(data))
    assert data[: sectors.start] == stream[: sectors.start]
    assert data[sectors.stop :] == stream[sectors.stop :]
    assert MARKER in data[sectors.start : sectors.stop]


def _check_good(out: WipeOutcome, loop: Loop, identity: str, rec: Recorder) -> None:
    """The healthy disk: clean record, its own progress, its own seed's bytes on it."""
    record = out.record
    assert record.disk_identity == identity
    assert record.disk_size_bytes == loop.size
    assert record.result is ErasureResult.ERASED, record.notes
    assert record.errors == [] and record.verification_passed
    assert not any("I/O" in n or "failed" in n for n in record.notes), record.notes
    _progress_is_its_own(rec, identity, loop.size, ends_at=loop.size)
    verify = [ev.done_bytes for ev in rec.of(identity, "verify")]
    assert verify and verify == sorted(verify) and verify[-1] == loop.size
    data = loop.read_image()
    assert MARKER not in data
    assert data == aes_ctr_stream(_seed(record.pattern), len(data))
