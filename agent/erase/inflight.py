"""Several chunk jobs in flight, their results handed back in order.

One Python thread issuing one ``pwrite`` at a time leaves a fast disk idle
between calls, and keystream generation in the same thread adds to that. Here
``workers`` threads each run a whole job (fill a buffer, write or read it,
compare) while the caller consumes results in item order: a NVMe disk sees
several requests queued, the AES keystream is generated on several cores, and
the caller's bookkeeping (progress, checkpoints, error ranges) stays
sequential. Every call that moves bytes (``pwrite``, ``pread``, AES,
``memcmp``) releases the GIL, so the threads really overlap.
"""

from __future__ import annotations

import queue
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")
S = TypeVar("S")

#: Jobs in flight per disk: enough to keep an NVMe queue busy, few enough to
#: keep memory small and in cache (4 x 1 MiB buffers per disk).
WORKERS = 4
#: Jobs queued per worker. A worker that finishes takes the next queued job at
#: once: were jobs only submitted as the caller consumes results in order, one
#: slow job at the head would leave the other workers, and the disk, idle.
#: Buffers stay one per worker (a queued job holds none), so memory does not grow.
AHEAD = 2


class InFlight(Generic[T, S, R]):
    """Run ``job(item, slot)`` for each item on a thread pool; iterate ``(item, result)``
    in item order. ``slot`` is one of ``workers`` reusable buffers (``make_slot()``), owned
    by the job until it returns. Always use as a context manager: leaving it waits for
    the jobs still running, so no write is left going on behind the caller's back."""

    def __init__(
        self,
        items: Iterable[T],
        job: Callable[[T, S], R],
        *,
        make_slot: Callable[[], S],
        workers: int = WORKERS,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self._items = iter(items)
        self._job = job
        self._workers = workers
        self._slots: queue.SimpleQueue[S] = queue.SimpleQueue()
        for _ in range(workers):
            self._slots.put(make_slot())
        self._queued = workers * AHEAD
        self._pending: deque[tuple[T, Future[R]]] = deque()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="chunk")

    def _run(self, item: T) -> R:
        slot = self._slots.get()
        try:
            return self._job(item, slot)
        finally:
            self._slots.put(slot)

    def _submit_next(self) -> bool:
        item = next(self._items, None)
        if item is None:
            return False
        self._pending.append((item, self._pool.submit(self._run, item)))
        return True

    def __enter__(self) -> InFlight[T, S, R]:
        return self

    def __iter__(self) -> Iterator[tuple[T, R]]:
        while len(self._pending) < self._queued and self._submit_next():
            pass
        while self._pending:
            item, future = self._pending.popleft()
            result = future.result()  # a job's exception surfaces here, in order
            self._submit_next()
            yield item, result

    def __exit__(self, *_: object) -> None:
        futures = [future for _item, future in self._pending]
        for future in futures:
            future.cancel()
        self._pool.shutdown(wait=True)
        for future in futures:  # finished ones may hold errors nobody wants now
            if not future.cancelled():
                future.exception()
        self._pending.clear()
