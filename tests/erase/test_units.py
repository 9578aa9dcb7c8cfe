"""Pure logic: keystream addressing, sample placement, journal files, the pipeline."""

from __future__ import annotations

import itertools
import json
import random
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.erase.device import AlignedBuffer
from agent.erase.inflight import AHEAD, InFlight
from agent.erase.journal import Journal, JournalEntry
from agent.erase.prng import KeyStream, new_seed
from agent.erase.verify import SAMPLE, sample_regions

from .conftest import MiB, aes_ctr_stream


@pytest.mark.parametrize("key_bytes", [16, 32])
def test_keystream_is_addressable_by_offset(key_bytes: int) -> None:
    seed = bytes(range(key_bytes))
    whole = aes_ctr_stream(seed, 3 * 4096)
    ks = KeyStream(seed)
    assert ks.block(0, len(whole)) == whole
    assert ks.block(4096 + 16, 100) == whole[4096 + 16 : 4096 + 116]
    buf = AlignedBuffer(8192)
    ks.fill(4096, buf.view, 8192)
    assert buf.bytes(8192) == whole[4096:]
    with pytest.raises(ValueError, match="multiple of 16"):
        ks.block(5, 10)
    with pytest.raises(ValueError, match="16 or 32 bytes"):
        KeyStream(b"short")
    with pytest.raises(ValueError, match="16 or 32 bytes"):
        KeyStream(bytes(24))  # a valid AES-192 key, but no agent ever made one
    assert ks.name.startswith(f"AES-{key_bytes * 8}-CTR keystream")
    assert ks.name.endswith(f"seed {seed.hex()}")


def test_keystream_xor_is_zero_exactly_where_the_pattern_is() -> None:
    """Verification XORs what it read with the keystream: the result is zero exactly
    where the disk holds the pattern, at any offset."""
    ks = KeyStream(bytes(range(16)))
    n = 2 * MiB
    read, checked = AlignedBuffer(n), AlignedBuffer(n)
    ks.fill(MiB, read.view, n)
    read.view[n - 5] ^= 0x40  # one flipped bit near the end
    ks.xor_into(MiB, read.view[:n], checked.view)
    assert checked.view[: n - 5] == bytes(n - 5)
    assert checked.view[n - 5] == 0x40 and checked.view[n - 4 : n] == bytes(4)


def test_new_passes_use_aes_128() -> None:
    """AES-128 makes ~35 % more keystream per core than AES-256: a random pass and its
    read-back at NVMe speed spend their CPU on it."""
    stream = KeyStream(new_seed())
    assert len(stream.seed) == 16
    assert stream.name.startswith("AES-128-CTR")


@settings(max_examples=60, deadline=None)
@given(
    size_mib=st.integers(min_value=1, max_value=4096),
    percent=st.floats(min_value=0.01, max_value=100.0),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_sample_regions_properties(size_mib: int, percent: float, seed: int) -> None:
    size = size_mib * MiB + 512 * (seed % 7)
    regions = sample_regions(size, percent, rng=random.Random(seed))
    assert regions[0][0] == 0
    assert regions[-1][0] + regions[-1][1] == size  # last MiB always read
    covered = sum(n for _, n in regions)
    assert covered >= min(size, 2 * SAMPLE)
    assert covered >= min(size, size * percent / 100) - SAMPLE
    for (a, n), (b, _) in itertools.pairwise(regions):
        assert a + n < b  # sorted, not touching (merged)
    assert all(off % 4096 == 0 or off == size - SAMPLE for off, _ in regions)


def test_sample_regions_spread_over_slices() -> None:
    size = 1000 * MiB
    regions = sample_regions(size, 2, rng=random.Random(1))
    inner = [off for off, _ in regions if 0 < off < size - SAMPLE]
    assert len(inner) == 18  # 20 windows: first, last, one in each of 18 slices
    width = (size - 2 * SAMPLE) / 18
    for i, off in enumerate(sorted(inner)):
        assert SAMPLE + i * width <= off < SAMPLE + (i + 1) * width
    assert sample_regions(size, 100) == [(0, size)]
    with pytest.raises(ValueError):
        sample_regions(size, 0)


def test_journal_roundtrip_and_atomic_write(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "state")
    now = datetime.now(UTC)
    entry = JournalEntry(
        identity="serial:X|9",
        size_bytes=9,
        method="overwrite-zero",
        pattern="zero",
        offset=4096,
        started_at=now,
        updated_at=now,
    )
    journal.save(entry)
    assert journal.load("serial:X|9") == (entry, None)
    assert [p.name for p in (tmp_path / "state").iterdir()] == [journal.path_for("serial:X|9").name]
    assert journal.load("serial:Y|9") == (None, None)
    journal.remove("serial:X|9")
    assert journal.load("serial:X|9") == (None, None)


@pytest.mark.parametrize("seed_hex", ["zz" * 16, "ab" * 24, "ab" * 15, ""])
def test_a_journal_whose_seed_is_no_key_is_damaged_not_a_crash(
    tmp_path: Path, seed_hex: str
) -> None:
    journal = Journal(tmp_path / "state")
    now = datetime.now(UTC).isoformat()
    entry = {"identity": "serial:X|9", "size_bytes": 9, "method": "overwrite-random"}
    entry |= {"pattern": "random", "seed_hex": seed_hex, "started_at": now, "updated_at": now}
    journal.path_for("serial:X|9").write_text(json.dumps(entry))
    assert journal.load("serial:X|9") == (
        None,
        f"journal {journal.path_for('serial:X|9').name}"
        " was damaged (kept as "
        f"{journal.path_for('serial:X|9').with_suffix('.bad').name}); starting over",
    )
    entry["seed_hex"] = "ab" * 32  # an older agent's AES-256 seed resumes
    journal.path_for("serial:X|9").write_text(json.dumps(entry))
    loaded, problem = journal.load("serial:X|9")
    assert problem is None and loaded is not None and loaded.seed_hex == "ab" * 32


def test_journal_dir_that_cannot_exist_is_a_clear_error(tmp_path: Path) -> None:
    from agent.errors import InputError

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InputError, match="cannot create state directory"):
        Journal(blocker / "state")


def test_in_flight_results_come_in_order_though_jobs_finish_out_of_order() -> None:
    """Item 0 is held until item 3 has finished: the caller still sees 0, 1, 2, 3, ..."""
    third_done = threading.Event()

    def job(i: int, slot: list[int]) -> int:
        if i == 0:
            assert third_done.wait(10), "jobs did not run concurrently"
        if i == 3:
            third_done.set()
        return i * 2

    with InFlight(range(8), job, make_slot=list, workers=4) as run:
        assert list(run) == [(i, 2 * i) for i in range(8)]


def test_in_flight_reraises_in_order_and_waits_for_running_jobs() -> None:
    running: set[int] = set()
    peak = 0
    slots_in_use: set[int] = set()
    lock = threading.Lock()
    finished: list[int] = []

    def job(i: int, slot: list[int]) -> int:
        nonlocal peak
        with lock:
            assert id(slot) not in slots_in_use, "two jobs shared a buffer"
            slots_in_use.add(id(slot))
            running.add(i)
            peak = max(peak, len(running))
        try:
            if i == 5:
                raise RuntimeError("disk on fire")
            return i
        finally:
            with lock:
                running.discard(i)
                slots_in_use.discard(id(slot))
                finished.append(i)

    seen = []
    with (
        pytest.raises(RuntimeError, match="disk on fire"),
        InFlight(range(100), job, make_slot=list, workers=3) as run,
    ):
        for i, result in run:
            seen.append((i, result))
    assert seen == [(i, i) for i in range(5)]
    assert not running, "a job was still running after the block was left"
    assert peak <= 3
    assert max(finished) < 5 + 3 * AHEAD + 1, "jobs were started far beyond the failure"


def test_in_flight_workers_go_on_while_the_head_job_is_slow() -> None:
    """Results come back in order, but a worker that is done must not wait for the
    caller to consume the slow head job before it takes the next: the disk would
    sit idle. Job 0 finishes only after job 3 has run on the other worker."""
    third_done = threading.Event()

    def job(i: int, slot: list[int]) -> int:
        if i == 0:
            assert third_done.wait(10), "the other worker waited for the head job"
        if i == 3:
            third_done.set()
        return i

    with InFlight(range(6), job, make_slot=list, workers=2) as run:
        assert [i for i, _ in run] == list(range(6))


def test_meter_events_carry_rate_eta_and_phase() -> None:
    from agent.erase.progress import Meter, WipeProgress

    events: list[WipeProgress] = []
    meter = Meter(events.append, "serial:S|1", "verify", 1000, start_done=100, interval_s=3600)
    meter.update(200)  # first event always goes out
    meter.update(300)  # rate-limited
    meter.update(1000, force=True)
    assert [e.done_bytes for e in events] == [200, 1000]
    last = events[-1]
    assert last.phase == "verify" and last.disk == "serial:S|1"
    assert last.percent == 100.0 and last.eta_s == 0.0
    assert last.rate_bytes_s > 0  # counts only the 900 bytes done in this run
