"""Read the disk back and prove the pattern is there.

``full`` reads every byte. A sampled check reads 1 MiB windows: the first and
last MiB always (MBR, primary and backup GPT live there), plus one window at
a random position inside each of N equal slices of the disk, N chosen so the
windows cover the requested percentage. A random pass is checked by
XOR-ing what was read with the keystream regenerated from the seed: the
result must be all zeros, so no copy of the expected data is kept.
"""

from __future__ import annotations

import hashlib
import math
import random
import threading
import time
from dataclasses import dataclass, field

from agent.erase.device import AlignedBuffer, BlockDevice
from agent.erase.inflight import WORKERS, InFlight
from agent.erase.overwrite import DEFAULT_CHUNK, chunks, merge_ranges, raise_if_gone
from agent.erase.prng import KeyStream, zeros
from agent.erase.progress import Meter
from agent.report.schema import ErrorRange
from agent.zerocheck import is_zero

MiB = 1 << 20
SAMPLE = MiB
MISMATCH = "data left that is not the wipe pattern"


@dataclass
class VerifyOutcome:
    method: str  # full | sampled
    checked_bytes: int = 0
    coverage_percent: float = 0.0
    mismatches: list[ErrorRange] = field(default_factory=list)
    read_errors: list[ErrorRange] = field(default_factory=list)
    completed: bool = False
    seconds: float = 0.0

    @property
    def problems(self) -> list[ErrorRange]:
        return merge_ranges(self.mismatches + self.read_errors)


def sample_regions(
    size: int, percent: float, *, sector: int = 512, rng: random.Random | None = None
) -> list[tuple[int, int]]:
    """Sorted, non-overlapping (offset, length) windows covering about ``percent`` of ``size``."""
    if not 0 < percent <= 100:
        raise ValueError(f"verification percentage must be in (0, 100], got {percent}")
    if percent >= 100 or size <= 2 * SAMPLE:
        return [(0, size)]
    rng = rng or random.Random()  # noqa: S311 - positions need spread, not secrecy
    align = max(sector, 4096)
    wanted = max(2, math.ceil(size * percent / 100 / SAMPLE))
    windows = [(0, SAMPLE), (size - SAMPLE, SAMPLE)]
    inner_start, inner_end = SAMPLE, size - SAMPLE
    slices = max(0, wanted - 2)
    if slices:
        width = (inner_end - inner_start) / slices
        for i in range(slices):
            lo = inner_start + int(i * width)
            hi = inner_start + int((i + 1) * width)
            top = max(lo, hi - SAMPLE)
            pos = rng.randrange(lo, top + 1) // align * align
            pos = max(inner_start, min(pos, inner_end - SAMPLE))
            windows.append((pos, min(SAMPLE, inner_end - pos)))
    return merge_windows(windows)


def _first_last_nonzero(data: bytes) -> tuple[int, int]:
    first = len(data) - len(data.lstrip(b"\0"))
    last = len(data.rstrip(b"\0"))
    return first, last


def _mismatch(
    buf: AlignedBuffer, scratch: AlignedBuffer, stream: KeyStream | None, offset: int, n: int
) -> tuple[int, int] | None:
    """The (start, end) byte range of this piece that differs from the pattern, if any."""
    if stream is None:
        checked = buf
    else:
        stream.xor_into(offset, buf.view[:n], scratch.view)
        checked = scratch
    if is_zero(checked.view[:n]):
        return None
    return _first_last_nonzero(checked.bytes(n))


def verify(
    dev: BlockDevice,
    stream: KeyStream | None,
    regions: list[tuple[int, int]],
    *,
    meter: Meter,
    method: str,
    chunk: int = DEFAULT_CHUNK,
    stop: threading.Event | None = None,
    workers: int = WORKERS,
) -> VerifyOutcome:
    """Check ``regions`` hold zeros (``stream`` None) or the keystream."""
    out = VerifyOutcome(method=method)
    total = sum(n for _, n in regions)
    t0 = time.monotonic()
    pieces = [p for off, n in regions for p in chunks(off, off + n, chunk)]
    Slot = tuple[AlignedBuffer, AlignedBuffer]

    def job(piece: tuple[int, int], slot: Slot) -> OSError | tuple[int, int] | None:
        """The read error, or the differing (start, end) within the piece, or None."""
        offset, n = piece
        buf, scratch = slot
        try:
            dev.pread(buf.view[:n], offset)
        except OSError as exc:
            return exc
        return _mismatch(buf, scratch, stream, offset, n)

    def make_slot() -> Slot:
        return AlignedBuffer(chunk), AlignedBuffer(chunk)

    spare = make_slot()  # for narrowing a failed read down, in this thread
    with InFlight(pieces, job, make_slot=make_slot, workers=workers) as run:
        for (offset, n), found in run:
            if isinstance(found, OSError):
                raise_if_gone(dev, found)
                _narrow_read(dev, spare[0], spare[1], stream, offset, n, out)
            elif found is not None:
                lo = found[0] // dev.sector * dev.sector
                hi = -(-found[1] // dev.sector) * dev.sector
                out.mismatches.append(
                    ErrorRange(start_byte=offset + lo, length_bytes=hi - lo, message=MISMATCH)
                )
            out.checked_bytes += n
            meter.update(out.checked_bytes)
            if stop is not None and stop.is_set():
                break
    out.mismatches = merge_ranges(out.mismatches)
    out.read_errors = merge_ranges(out.read_errors)
    out.completed = out.checked_bytes >= total
    out.coverage_percent = round(100.0 * out.checked_bytes / dev.size, 3) if dev.size else 100.0
    out.seconds = time.monotonic() - t0
    meter.update(out.checked_bytes, force=True)
    return out


def _narrow_read(
    dev: BlockDevice,
    buf: AlignedBuffer,
    scratch: AlignedBuffer,
    stream: KeyStream | None,
    offset: int,
    n: int,
    out: VerifyOutcome,
) -> None:
    """A piece failed to read: find which sectors are unreadable, check the rest.

    64 KiB sub-blocks first, then sector by sector only inside failing ones.
    """
    for sub, n_sub in chunks(0, n, 64 * 1024):
        try:
            dev.pread(buf.view[:n_sub], offset + sub)
        except OSError as exc:
            raise_if_gone(dev, exc)
        else:
            bad = _mismatch(buf, scratch, stream, offset + sub, n_sub)
            if bad is not None:
                lo = bad[0] // dev.sector * dev.sector
                hi = -(-bad[1] // dev.sector) * dev.sector
                out.mismatches.append(
                    ErrorRange(start_byte=offset + sub + lo, length_bytes=hi - lo, message=MISMATCH)
                )
            continue
        for sec, m in chunks(sub, sub + n_sub, dev.sector):
            try:
                dev.pread(buf.view[:m], offset + sec)
            except OSError as exc:
                raise_if_gone(dev, exc)
                out.read_errors.append(
                    ErrorRange(
                        start_byte=offset + sec,
                        length_bytes=m,
                        message=f"read failed: {exc.strerror or exc}",
                    )
                )
                continue
            if _mismatch(buf, scratch, stream, offset + sec, m) is not None:
                out.mismatches.append(
                    ErrorRange(start_byte=offset + sec, length_bytes=m, message=MISMATCH)
                )


#: Block size for before/after fingerprints of a firmware erase.
FP_BLOCK = 4096


def fingerprint(
    dev: BlockDevice, regions: list[tuple[int, int]], *, chunk: int = DEFAULT_CHUNK
) -> dict[int, bytes]:
    """A short digest of every 4 KiB block in ``regions`` that holds data (not all zeros).

    Taken before a firmware erase and compared after it: a crypto erase leaves
    random-looking data that no pattern check can recognise, but any block that
    reads back exactly as before was not erased.
    """
    digests: dict[int, bytes] = {}
    buf = AlignedBuffer(chunk)
    empty = zeros(FP_BLOCK)
    for off, n in regions:
        for piece, m in chunks(off, off + n, chunk):
            try:
                dev.pread(buf.view[:m], piece)
            except OSError as exc:
                raise_if_gone(dev, exc)
                continue  # unreadable before the erase: nothing to compare later
            data = buf.bytes(m)
            for i in range(0, m - FP_BLOCK + 1, FP_BLOCK):
                block = data[i : i + FP_BLOCK]
                if block != empty:
                    digests[piece + i] = hashlib.blake2b(block, digest_size=16).digest()
    return digests


def unchanged_blocks(
    dev: BlockDevice, before: dict[int, bytes], *, chunk: int = DEFAULT_CHUNK
) -> list[ErrorRange]:
    """The blocks that still hold exactly what they held before the erase."""
    regions = merge_windows([(off, FP_BLOCK) for off in sorted(before)])
    after = fingerprint(dev, regions, chunk=chunk)
    same = [
        ErrorRange(start_byte=off, length_bytes=FP_BLOCK, message=UNCHANGED)
        for off, digest in before.items()
        if after.get(off) == digest
    ]
    return merge_ranges(same)


UNCHANGED = "still holds its content from before the firmware erase"


def merge_windows(windows: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for off, n in sorted(windows):
        if merged and merged[-1][0] + merged[-1][1] >= off:
            start = merged[-1][0]
            merged[-1] = (start, max(merged[-1][0] + merged[-1][1], off + n) - start)
        else:
            merged.append((off, n))
    return merged
