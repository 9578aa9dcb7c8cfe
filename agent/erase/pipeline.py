"""Two-stage pipeline: one thread prepares buffers while the caller consumes them.

The writer must never wait for the PRNG, and the checker never for the disk:
a producer thread fills a small pool of aligned buffers (keystream for a
write pass, disk reads for verification) and hands them over in order.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from agent.erase.device import AlignedBuffer

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class Filled(Generic[T, R]):
    """A buffer the producer prepared for ``item``; ``outcome`` is what it reported."""

    item: T
    buffer: AlignedBuffer
    outcome: R


_END = object()


class Pipeline(Generic[T, R]):
    """Iterate over ``Filled`` items; always use as a context manager."""

    def __init__(
        self,
        items: Iterable[T],
        produce: Callable[[T, AlignedBuffer], R],
        *,
        buffer_size: int,
        depth: int = 3,
    ) -> None:
        self._items = items
        self._produce = produce
        self._free: queue.Queue[AlignedBuffer] = queue.Queue()
        self._ready: queue.Queue[object] = queue.Queue()
        for _ in range(depth):
            self._free.put(AlignedBuffer(buffer_size))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="erase-producer", daemon=True)

    def _run(self) -> None:
        try:
            for item in self._items:
                buf: AlignedBuffer | None = None
                while buf is None:
                    if self._stop.is_set():
                        return
                    try:
                        buf = self._free.get(timeout=0.1)
                    except queue.Empty:
                        continue
                self._ready.put(Filled(item, buf, self._produce(item, buf)))
        except BaseException as exc:  # handed to the consumer, re-raised there
            self._ready.put(exc)
            return
        self._ready.put(_END)

    def __enter__(self) -> Pipeline[T, R]:
        self._thread.start()
        return self

    def __iter__(self) -> Iterator[Filled[T, R]]:
        while True:
            got = self._ready.get()
            if got is _END:
                return
            if isinstance(got, BaseException):
                raise got
            assert isinstance(got, Filled)
            yield got

    def release(self, filled: Filled[T, R]) -> None:
        """Give a consumed buffer back to the producer."""
        self._free.put(filled.buffer)

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
