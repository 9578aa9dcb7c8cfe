"""Is this buffer all zeros, or equal to that one? Exactly, fast, and without holding the GIL.

Verification (of a wipe, of a flash) compares every byte read back with the pattern or with
the bytes that were written. Python's own
ways (``bytes(view) == zeros``) copy the buffer and compare while holding the
GIL, which serialises several checking threads. libc's ``memcmp`` through
ctypes compares in place and releases the GIL for the call; an untouched
anonymous mapping serves as the zeros (the kernel backs it with its one
shared zero page, so it costs no memory and stays in cache).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import mmap
import threading

_LIBC = ctypes.util.find_library("c")
_memcmp = ctypes.CDLL(_LIBC).memcmp if _LIBC else None
if _memcmp is not None:
    _memcmp.argtypes = (ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)
    _memcmp.restype = ctypes.c_int


class _ZeroMap:
    """``n`` zero bytes at a fixed address, kept for the life of the process."""

    def __init__(self, n: int) -> None:
        self._mm = mmap.mmap(-1, n)  # never written: every page is the shared zero page
        self._anchor = ctypes.c_char.from_buffer(self._mm)
        self.address = ctypes.addressof(self._anchor)


_maps: dict[int, _ZeroMap] = {}
_lock = threading.Lock()


def _zeros(n: int) -> _ZeroMap:
    """One mapping per size, made once (under a lock: two threads asking at once must
    not each get their own, one of which could be unmapped while still compared), and
    never dropped."""
    with _lock:
        zero = _maps.get(n)
        if zero is None:
            zero = _maps[n] = _ZeroMap(n)
        return zero


def is_zero(view: memoryview) -> bool:
    """True when every byte of ``view`` is zero."""
    n = len(view)
    if n == 0:
        return True
    if _memcmp is None or view.readonly or not view.c_contiguous:
        return bytes(view) == bytes(n)
    zero = _zeros(n)
    anchor = ctypes.c_char.from_buffer(view)  # holds the buffer while memcmp reads it
    return int(_memcmp(ctypes.addressof(anchor), zero.address, n)) == 0


def same(a: memoryview, b: memoryview) -> bool:
    """True when ``a`` and ``b`` hold the same bytes (memcmp in place, the GIL released).

    A memoryview's own ``==`` compares item by item (about 0.4 GB/s); this runs at memory speed.
    """
    n = len(a)
    if n != len(b):
        return False
    if n == 0:
        return True
    if _memcmp is None or a.readonly or b.readonly or not (a.c_contiguous and b.c_contiguous):
        return bytes(a) == bytes(b)
    left, right = ctypes.c_char.from_buffer(a), ctypes.c_char.from_buffer(b)
    return int(_memcmp(ctypes.addressof(left), ctypes.addressof(right), n)) == 0
