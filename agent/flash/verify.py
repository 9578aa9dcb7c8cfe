"""Read back written extents from a target and compare them with the source digests.

bmaptool trusts the write; we do not. The flash itself reads every extent back
as it goes (``write_image(verify=True)``); this module checks a disk again
afterwards from the digests a flash returned. Reads use O_DIRECT so they come
from the device, not from the page cache, and a reader thread keeps the device
busy while the calling thread hashes.
"""

from __future__ import annotations

import hashlib
import mmap
import queue
import threading
from collections.abc import Callable, Sequence

from agent.flash.writer import (
    CHUNK_SIZE,
    Extent,
    Mismatch,
    Progress,
    logical_block_size,
    pread_exact,
    wait_for,
)


def _reads(
    extents: Sequence[tuple[Extent, str]], chunk: int, align: int
) -> list[tuple[int, int, int, int]]:
    """(extent index, aligned read offset, read length, skip) tuples covering each extent."""
    plan = []
    for i, (ext, _digest) in enumerate(extents):
        pos = ext.start
        while pos < ext.end:
            lo = pos - pos % align
            hi = min(ext.end, lo + chunk)
            length = -(-(hi - lo) // align) * align
            plan.append((i, lo, length, pos - lo))
            pos = hi
    return plan


def read_back(
    fd: int,
    extents: Sequence[tuple[Extent, str]],
    algorithm: str,
    *,
    chunk_size: int = CHUNK_SIZE,
    progress: Progress | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    workers: int = 2,
) -> list[Mismatch]:
    """Hash each extent as read from ``fd`` (opened O_DIRECT); return those that differ.

    Extents are shared out over ``workers`` threads (each hashes whole extents, so
    a digest still covers one extent), balanced by size; hashlib and preadv release
    the GIL, so two workers use both cores of a small machine.
    """
    groups: list[list[tuple[Extent, str]]] = [[] for _ in range(max(1, workers))]
    loads = [0] * len(groups)
    for item in sorted(extents, key=lambda e: e[0].length, reverse=True):
        k = loads.index(min(loads))
        groups[k].append(item)
        loads[k] += item[0].length
    groups = [sorted(g, key=lambda e: e[0].start) for g in groups if g]
    if len(groups) <= 1:
        return _read_back_one(fd, extents, algorithm, chunk_size, progress, on_progress)
    results: list[list[Mismatch] | BaseException] = [[] for _ in groups]

    def work(k: int) -> None:
        try:
            # only the calling thread reports progress: UIs are not thread-safe
            results[k] = _read_back_one(fd, groups[k], algorithm, chunk_size, progress, None)
        except BaseException as exc:
            results[k] = exc

    threads = [threading.Thread(target=work, args=(k,), daemon=True) for k in range(len(groups))]
    for t in threads:
        t.start()

    def tick() -> None:
        if on_progress is not None and progress is not None:
            on_progress(progress)

    wait_for(threads, 0.5, tick)
    mismatches: list[Mismatch] = []
    for result in results:
        if isinstance(result, BaseException):
            raise result
        mismatches.extend(result)
    return sorted(mismatches, key=lambda m: m.start)


def _read_back_one(
    fd: int,
    extents: Sequence[tuple[Extent, str]],
    algorithm: str,
    chunk_size: int,
    progress: Progress | None,
    on_progress: Callable[[Progress], None] | None,
) -> list[Mismatch]:
    align = logical_block_size(fd)
    plan = _reads(extents, chunk_size, align)
    buffers = [mmap.mmap(-1, chunk_size + align) for _ in range(3)]
    views = [memoryview(b) for b in buffers]
    free: queue.Queue[int] = queue.Queue()
    for k in range(len(views)):
        free.put(k)
    filled: queue.Queue[tuple[int, int, int, int, int] | BaseException | None] = queue.Queue()
    stop = threading.Event()

    def reader() -> None:
        try:
            for i, lo, length, skip in plan:
                k = free.get()
                if stop.is_set():
                    return
                got = pread_exact(fd, views[k][:length], lo)
                ext = extents[i][0]
                want = min(ext.end - lo, length) - skip
                if got < skip + want:
                    raise OSError(f"the target ends before offset {lo + skip + want}")
                filled.put((k, i, lo, skip, want))
            filled.put(None)
        except BaseException as exc:
            filled.put(exc)

    thread = threading.Thread(target=reader, name="flash-readback", daemon=True)
    thread.start()
    mismatches: list[Mismatch] = []
    hasher: hashlib._Hash | None = None
    current = -1
    try:
        while True:
            item = filled.get()
            if item is None:
                break
            if isinstance(item, BaseException):
                raise item
            k, i, lo, skip, want = item
            if i != current:
                hasher, current = hashlib.new(algorithm), i
            assert hasher is not None
            hasher.update(views[k][skip : skip + want])
            free.put(k)
            ext, expected = extents[i]
            if progress is not None:
                progress.verified += want
                if on_progress is not None:
                    on_progress(progress)
            # the extent is done when its last read has been hashed
            if lo + skip + want == ext.end:
                found = hasher.hexdigest()
                if found != expected:
                    mismatches.append(Mismatch(ext.start, ext.end, expected, found))
                hasher, current = None, -1
    finally:
        stop.set()
        for k in range(len(views)):
            free.put(k)
        thread.join()
        for v in views:
            v.release()
        for b in buffers:
            b.close()
    return mismatches
