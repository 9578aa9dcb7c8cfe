"""Overwrite + verification on real loop devices, checked by independent reads."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.erase.engine import WipeOptions, all_erased, wipe_all, wipe_one
from agent.erase.overwrite import Pattern
from agent.erase.progress import WipeProgress
from agent.erase.record import check_record
from agent.report.schema import ErasureResult, SanitizeLevel
from agent.signing import PUBLIC_KEY_NAME

from .conftest import MARKER, Loop, MiB, aes_ctr_stream, needs_root

pytestmark = needs_root


def _seed(record_pattern: str | None) -> bytes:
    assert record_pattern is not None
    m = re.search(r"seed ([0-9a-f]{32}(?:[0-9a-f]{32})?)$", record_pattern)
    assert m, record_pattern
    return bytes.fromhex(m.group(1))


def _pub(tmp_path: Path) -> str:
    return (tmp_path / "keys" / PUBLIC_KEY_NAME).read_text().strip()


def test_zero_full_verify_erases_every_marker(
    make_loop: Callable[..., Loop], options: Callable[..., WipeOptions], tmp_path: Path
) -> None:
    loop = make_loop(48 * MiB)
    loop.plant()
    assert loop.read_image().count(MARKER) == 48
    target = loop.target()
    events: list[WipeProgress] = []
    out = wipe_one(target, options(target, pattern=Pattern.ZERO), events.append)

    data = loop.read_image()
    assert MARKER not in data
    assert data.count(0) == len(data)
    rec = out.record
    assert rec.result is ErasureResult.ERASED, rec.notes
    assert rec.level is SanitizeLevel.CLEAR
    assert rec.method == "overwrite-zero"
    assert rec.verification_method == "full"
    assert rec.verification_coverage_percent == 100.0
    assert rec.verification_passed is True
    assert rec.bytes_written == 48 * MiB
    assert rec.errors == []
    assert {e.phase for e in events} >= {"wipe", "verify", "done"}
    assert events[-1].phase == "done"
    assert all(e.disk == target.identity for e in events)
    # The signed file on disk verifies with the station's public key.
    assert out.path is not None and out.path.parent == tmp_path / "records"
    assert check_record(out.path, _pub(tmp_path)).record_id == rec.record_id


def test_random_sampled_verify_erases_every_marker(
    make_loop: Callable[..., Loop], options: Callable[..., WipeOptions]
) -> None:
    loop = make_loop(64 * MiB)
    loop.plant()
    target = loop.target()
    out = wipe_one(target, options(target, pattern=Pattern.RANDOM, verify_percent=10))
    rec = out.record
    assert rec.result is ErasureResult.ERASED, rec.notes
    assert rec.verification_method == "sampled"
    # 10 % of 64 MiB = 7 windows of 1 MiB (first, last, 5 inside): about 11 %.
    assert rec.verification_coverage_percent is not None
    assert 9 <= rec.verification_coverage_percent <= 15
    data = loop.read_image()
    assert MARKER not in data
    # Every byte on the disk is the AES-256-CTR stream of the seed in the record.
    assert data == aes_ctr_stream(_seed(rec.pattern), len(data))


def test_two_disks_wiped_in_parallel(
    make_loop: Callable[..., Loop], options: Callable[..., WipeOptions]
) -> None:
    loops = [make_loop(32 * MiB, "a"), make_loop(40 * MiB, "b")]
    for loop in loops:
        loop.plant()
    targets = [loop.target() for loop in loops]
    threads: set[str] = set()
    lock = threading.Lock()
    events: list[WipeProgress] = []

    def progress(ev: WipeProgress) -> None:
        with lock:
            threads.add(threading.current_thread().name)
            events.append(ev)

    outs = wipe_all(targets, options(*targets, pattern=Pattern.RANDOM), progress)
    assert all_erased(outs), [o.record.notes for o in outs]
    assert len({t for t in threads if t.startswith("wipe")}) == 2  # one worker per disk
    # Records and progress stay with their own disk (the two sizes differ, so a
    # mix-up shows): each record names its target, each disk's progress never goes
    # backwards within a phase, never exceeds that disk's size, and ends at it.
    for target, out, loop in zip(targets, outs, loops, strict=True):
        assert out.record.disk_identity == target.identity
        assert out.record.disk_size_bytes == loop.size
        mine = [e for e in events if e.disk == target.identity]
        for phase in ("wipe", "verify"):
            done = [e.done_bytes for e in mine if e.phase == phase]
            assert done and done == sorted(done), phase
            assert done[-1] == loop.size, phase
            assert all(e.total_bytes == loop.size for e in mine if e.phase == phase)
    assert {e.disk for e in events} == {t.identity for t in targets}
    seeds = [_seed(o.record.pattern) for o in outs]
    assert seeds[0] != seeds[1]
    for loop, seed in zip(loops, seeds, strict=True):
        data = loop.read_image()
        assert MARKER not in data
        assert data == aes_ctr_stream(seed, len(data))


def test_unconfirmed_disk_is_not_touched(
    make_loop: Callable[..., Loop], options: Callable[..., WipeOptions]
) -> None:
    loop = make_loop(16 * MiB)
    loop.plant()
    target = loop.target()
    out = wipe_one(target, options())  # nothing confirmed
    assert out.record.result is ErasureResult.FAILED
    assert "not confirmed" in " ".join(out.record.notes)
    assert loop.read_image().count(MARKER) == 16


def test_leftover_data_fails_verification(
    make_loop: Callable[..., Loop], options: Callable[..., WipeOptions]
) -> None:
    """Verification really reads: data planted behind the writer's back is found."""
    from agent.erase.device import BlockDevice
    from agent.erase.progress import Meter, ignore_progress
    from agent.erase.verify import MISMATCH, verify

    loop = make_loop(16 * MiB)
    with open(loop.dev, "r+b", buffering=0) as fh:
        fh.seek(5 * MiB + 1000)
        fh.write(b"x")
    with BlockDevice(loop.dev) as dev:
        meter = Meter(ignore_progress, "t", "verify", dev.size)
        out = verify(dev, None, [(0, dev.size)], meter=meter, method="full")
    assert out.completed
    assert [(m.start_byte, m.length_bytes, m.message) for m in out.mismatches] == [
        (5 * MiB + 512, 512, MISMATCH)
    ]


def test_record_file_is_plain_erasure_record_json(
    make_loop: Callable[..., Loop], options: Callable[..., WipeOptions]
) -> None:
    loop = make_loop(8 * MiB)
    target = loop.target()
    out = wipe_one(target, options(target))
    assert out.path is not None
    data = json.loads(out.path.read_text())
    assert data["result"] == "erased"
    assert data["signature"]
    assert data["disk_size_bytes"] == 8 * MiB


@pytest.mark.parametrize("size", [8 * MiB + 512 * 3])
def test_size_not_multiple_of_chunk(
    size: int, make_loop: Callable[..., Loop], options: Callable[..., WipeOptions]
) -> None:
    loop = make_loop(size)
    loop.plant()
    target = loop.target()
    out = wipe_one(target, options(target, pattern=Pattern.RANDOM))
    assert out.record.result is ErasureResult.ERASED, out.record.notes
    data = loop.read_image()
    assert data == aes_ctr_stream(_seed(out.record.pattern), size)
