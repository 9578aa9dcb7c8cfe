"""Faults on real loop devices: a disk that vanishes, an interrupted wipe, bad sectors."""

from __future__ import annotations

import errno
import json
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.erase.device import BlockDevice
from agent.erase.engine import WipeOptions, wipe_one
from agent.erase.journal import Journal
from agent.erase.overwrite import Pattern, overwrite
from agent.erase.progress import Meter, WipeProgress, ignore_progress
from agent.erase.record import decide_result
from agent.erase.verify import verify
from agent.report.schema import ErasureResult

from .conftest import MARKER, Loop, MiB, aes_ctr_stream, needs_root, run
from .test_overwrite_loop import _seed

pytestmark = needs_root


def _stop_at(done: int) -> tuple[threading.Event, Callable[[WipeProgress], None]]:
    """A stop event and a progress callback that sets it once the wipe has written ``done``
    bytes: an interruption in the middle of the pass."""
    stop = threading.Event()

    def progress(ev: WipeProgress) -> None:
        if ev.phase == "wipe" and ev.done_bytes >= done:
            stop.set()

    return stop, progress


def test_loop_detached_mid_wipe_fails_with_reason(
    make_loop: Callable[..., Loop], options: Callable[..., WipeOptions], tmp_path: Path
) -> None:
    """Detach the loop while the engine writes, and take its medium away.

    ``losetup -d`` alone is lazy while the engine holds the device open (the
    kernel only sets autoclear); truncating the backing file and
    ``--set-capacity`` then makes the device report 0 bytes, as a pulled disk
    does, and writes fail with ENOSPC.
    """
    loop = make_loop(64 * MiB)
    loop.plant()
    target = loop.target()
    pulled = threading.Event()

    def progress(ev: WipeProgress) -> None:
        if ev.phase == "wipe" and ev.done_bytes > 0 and not pulled.is_set():
            pulled.set()
            run(["losetup", "-d", loop.dev], check=True)
            loop.image.write_bytes(b"")
            run(["losetup", "--set-capacity", loop.dev], check=True)

    out = wipe_one(target, options(target, pattern=Pattern.ZERO), progress)
    rec = out.record
    assert pulled.is_set()
    assert rec.result is ErasureResult.FAILED
    text = " ".join(rec.notes)
    assert "wipe stopped at byte" in text
    assert "changed size" in text or "disappeared" in text or "stopped accepting" in text
    assert rec.verification_passed is None
    assert rec.bytes_written < 64 * MiB
    # Every range that was not wiped is in the record, from the byte the note names.
    stopped_at = int(text.split("wipe stopped at byte ")[1].split(":")[0])
    assert stopped_at == rec.bytes_written
    assert [(e.start_byte, e.length_bytes) for e in rec.errors] == [
        (stopped_at, 64 * MiB - stopped_at)
    ]
    assert rec.errors[0].message.startswith("not written: ")
    # The journal stays, so a rerun (with the disk back) resumes.
    assert Journal(tmp_path / "state").path_for(target.identity).exists()


def test_interrupted_wipe_resumes_from_journal(
    make_loop: Callable[..., Loop], options: Callable[..., WipeOptions], tmp_path: Path
) -> None:
    loop = make_loop(64 * MiB)
    loop.plant()
    target = loop.target()
    stop, progress = _stop_at(24 * MiB)

    opts = options(target, pattern=Pattern.RANDOM, checkpoint_every_s=0.0)
    first = wipe_one(target, opts, progress, stop).record
    assert first.result is ErasureResult.FAILED
    assert "interrupted" in " ".join(first.notes)
    journal_path = Journal(tmp_path / "state").path_for(target.identity)
    saved = json.loads(journal_path.read_text())
    assert saved["phase"] == "wipe"
    assert 24 * MiB <= saved["offset"] < 64 * MiB
    assert saved["identity"] == target.identity
    assert "loop" not in journal_path.name  # named by identity hash, not /dev name
    half = loop.read_image()
    # Everything before the journal's offset is wiped. Chunks that were in flight
    # when the stop came may have been written beyond it: the resume rewrites them.
    assert MARKER not in half[: saved["offset"]]
    left = half.count(MARKER)
    assert 0 < left <= (64 * MiB - saved["offset"]) // MiB

    events: list[WipeProgress] = []
    second = wipe_one(target, opts, events.append).record
    assert second.result is ErasureResult.ERASED, second.notes
    assert second.resumed is True
    assert any(f"at byte {saved['offset']}" in n for n in second.notes)
    assert _seed(second.pattern) == bytes.fromhex(saved["seed_hex"])
    assert second.started_at == first.started_at
    # The resumed run started writing where the journal said.
    first_wipe = next(e for e in events if e.phase == "wipe")
    assert first_wipe.done_bytes > saved["offset"]
    data = loop.read_image()
    assert MARKER not in data
    assert data == aes_ctr_stream(_seed(second.pattern), len(data))
    assert not journal_path.exists()


def test_a_pass_an_older_agent_began_with_aes_256_resumes_and_verifies_with_it(
    make_loop: Callable[..., Loop],
    options: Callable[..., WipeOptions],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """New passes use AES-128; a journal saved with a 32-byte seed (AES-256, before
    that change) must continue its own stream, or the half written before the
    interruption would fail verification."""
    loop = make_loop(32 * MiB)
    loop.plant()
    target = loop.target()
    stop, progress = _stop_at(8 * MiB)

    old_seed = bytes(range(100, 132))
    monkeypatch.setattr("agent.erase.engine.new_seed", lambda: old_seed)
    opts = options(target, pattern=Pattern.RANDOM, checkpoint_every_s=0.0)
    assert wipe_one(target, opts, progress, stop).record.result is ErasureResult.FAILED
    monkeypatch.undo()

    rec = wipe_one(target, opts).record
    assert rec.result is ErasureResult.ERASED, rec.notes
    assert rec.resumed is True and rec.verification_passed is True
    assert (
        rec.pattern == f"AES-256-CTR keystream, counter = byte offset / 16, seed {old_seed.hex()}"
    )
    data = loop.read_image()
    assert data == aes_ctr_stream(old_seed, len(data))

    fresh = wipe_one(target, opts).record  # the next wipe of the disk starts a new pass
    assert fresh.result is ErasureResult.ERASED and fresh.resumed is False
    assert fresh.pattern is not None and fresh.pattern.startswith("AES-128-CTR")
    assert loop.read_image() == aes_ctr_stream(_seed(fresh.pattern), len(data))


def test_journal_for_another_method_restarts(
    make_loop: Callable[..., Loop], options: Callable[..., WipeOptions]
) -> None:
    loop = make_loop(32 * MiB)
    loop.plant()
    target = loop.target()
    stop, progress = _stop_at(8 * MiB)

    wipe_one(
        target, options(target, pattern=Pattern.RANDOM, checkpoint_every_s=0.0), progress, stop
    )
    rec = wipe_one(target, options(target, pattern=Pattern.ZERO)).record
    assert rec.result is ErasureResult.ERASED
    assert rec.resumed is False
    assert any("restarted from the beginning" in n for n in rec.notes)
    assert loop.read_image().count(0) == 32 * MiB


def test_damaged_journal_is_kept_aside_and_wipe_restarts(
    make_loop: Callable[..., Loop], options: Callable[..., WipeOptions], tmp_path: Path
) -> None:
    loop = make_loop(8 * MiB)
    target = loop.target()
    journal = Journal(tmp_path / "state")
    journal.path_for(target.identity).write_text("{not json")
    rec = wipe_one(target, options(target)).record
    assert rec.result is ErasureResult.ERASED
    assert any("damaged" in n for n in rec.notes)
    assert journal.path_for(target.identity).with_suffix(".bad").read_text() == "{not json"


class FlakyDevice(BlockDevice):
    """A real loop device whose given sectors refuse every write with EIO.

    Device-mapper's error target does not exist on this kernel, so the bad
    sectors are injected at the one place the engine talks to the disk.
    """

    def __init__(self, path: str, bad: range, transient: int = 0) -> None:
        super().__init__(path)
        self.bad = bad
        self.transient = transient  # first N failures of any write, then fine

    def pwrite(self, view: memoryview, offset: int) -> None:
        if self.transient > 0:
            self.transient -= 1
            raise OSError(errno.EIO, "Input/output error")
        if offset < self.bad.stop and self.bad.start < offset + len(view):
            raise OSError(errno.EIO, "Input/output error")
        super().pwrite(view, offset)


def test_bad_sectors_are_recorded_and_the_wipe_goes_on(make_loop: Callable[..., Loop]) -> None:
    loop = make_loop(16 * MiB)
    loop.plant()
    marker_at = 5 * MiB + (5 * 4099) % (MiB - 64)  # where Loop.plant put MiB 5's marker
    first = marker_at // 512 * 512
    bad = range(first, first + 3 * 512)  # the marker's sector and the two after it
    with FlakyDevice(loop.dev, bad) as dev:
        meter = Meter(ignore_progress, "t", "wipe", dev.size)
        out = overwrite(dev, None, meter=meter, chunk=4 * MiB)
        assert out.completed
        assert [(e.start_byte, e.length_bytes) for e in out.errors] == [(bad.start, 3 * 512)]
        assert "Input/output error" in out.errors[0].message
        check = verify(dev, None, [(0, dev.size)], meter=meter, method="full")
    data = loop.read_image()
    # Everything but the refused sectors is zero; they still hold the old bytes.
    assert data[: bad.start].count(0) == bad.start
    assert data[bad.stop :].count(0) == len(data) - bad.stop
    assert MARKER in data[bad.start : bad.stop]
    assert [(m.start_byte, m.length_bytes) for m in check.mismatches] == [(bad.start, 512)]
    result, notes = decide_result(
        failure=None, write_errors=out.errors, verify_problems=check.problems, verified=True
    )
    assert result is ErasureResult.ERASED_WITH_EXCEPTIONS
    assert "refused every write" in notes[0]


def test_too_many_bad_ranges_stop_the_pass_and_keep_every_range(
    make_loop: Callable[..., Loop], monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent.erase import overwrite as overwrite_mod

    monkeypatch.setattr(overwrite_mod, "MAX_ERROR_RANGES", 1)
    loop = make_loop(16 * MiB)

    class TwoBadSpots(FlakyDevice):
        def pwrite(self, view: memoryview, offset: int) -> None:
            end = offset + len(view)
            if offset <= 1024 < end or offset <= 4 * MiB < end:
                raise OSError(errno.EIO, "Input/output error")
            super().pwrite(view, offset)

    with TwoBadSpots(loop.dev, range(0)) as dev:
        out = overwrite(dev, None, meter=Meter(ignore_progress, "t", "wipe", dev.size), chunk=MiB)
    assert not out.completed
    assert out.failure is not None and "the disk is failing" in out.failure
    assert [(e.start_byte, e.length_bytes) for e in out.errors] == [(1024, 512), (4 * MiB, 512)]
    assert out.end_offset == 5 * MiB  # the chunk with the second bad range was written


def test_transient_error_is_retried_without_a_trace(make_loop: Callable[..., Loop]) -> None:
    loop = make_loop(8 * MiB)
    loop.plant()
    with FlakyDevice(loop.dev, range(0), transient=2) as dev:
        out = overwrite(dev, None, meter=Meter(ignore_progress, "t", "wipe", dev.size))
    assert out.completed and out.errors == []
    assert loop.read_image().count(0) == 8 * MiB


def test_unexplained_verify_problem_fails() -> None:
    from agent.report.schema import ErrorRange

    bad = ErrorRange(start_byte=0, length_bytes=512, message="x")
    other = ErrorRange(start_byte=4096, length_bytes=512, message="y")
    assert (
        decide_result(failure=None, write_errors=[bad], verify_problems=[other], verified=True)[0]
        is ErasureResult.FAILED
    )
    assert (
        decide_result(failure=None, write_errors=[], verify_problems=[], verified=False)[0]
        is ErasureResult.FAILED
    )
    assert (
        decide_result(failure=None, write_errors=[], verify_problems=[], verified=True)[0]
        is ErasureResult.ERASED
    )


class UnreadableDevice(BlockDevice):
    """A real loop device whose given sectors fail every read with EIO."""

    def __init__(self, path: str, bad: range) -> None:
        super().__init__(path)
        self.bad = bad

    def pread(self, view: memoryview, offset: int) -> None:
        if offset < self.bad.stop and self.bad.start < offset + len(view):
            raise OSError(errno.EIO, "Input/output error")
        super().pread(view, offset)


def test_unreadable_sectors_are_narrowed_to_sector_ranges(make_loop: Callable[..., Loop]) -> None:
    loop = make_loop(16 * MiB)
    bad = range(9 * MiB + 70 * 1024, 9 * MiB + 70 * 1024 + 1024)  # two sectors
    with UnreadableDevice(loop.dev, bad) as dev:
        meter = Meter(ignore_progress, "t", "verify", dev.size)
        out = verify(dev, None, [(0, dev.size)], meter=meter, method="full")
    assert out.completed and out.mismatches == []
    assert [(e.start_byte, e.length_bytes) for e in out.read_errors] == [(bad.start, 1024)]
    assert "read failed" in out.read_errors[0].message
    result, _ = decide_result(
        failure=None, write_errors=[], verify_problems=out.problems, verified=True
    )
    assert result is ErasureResult.FAILED  # unreadable and not explained by a write error
