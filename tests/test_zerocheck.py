"""``agent.zerocheck``: exact (every byte counts) and safe from many threads."""

from __future__ import annotations

import mmap
import threading

from hypothesis import given
from hypothesis import strategies as st

from agent.zerocheck import is_zero, same


def _buffer(n: int) -> memoryview:
    return memoryview(mmap.mmap(-1, max(n, 1)))[:n]


@given(st.integers(1, 70_000), st.data())
def test_one_nonzero_byte_anywhere_is_found(n: int, data: st.DataObject) -> None:
    view = _buffer(n)
    assert is_zero(view)
    at = data.draw(st.integers(0, n - 1))
    view[at] = data.draw(st.integers(1, 255))
    assert not is_zero(view)
    assert is_zero(view[:at])
    assert is_zero(view[at + 1 :])


@given(st.binary(min_size=1, max_size=70_000), st.data())
def test_two_buffers_are_the_same_until_one_byte_differs(
    content: bytes, data: st.DataObject
) -> None:
    a, b = _buffer(len(content)), _buffer(len(content))
    a[:] = content
    b[:] = content
    assert same(a, b)
    at = data.draw(st.integers(0, len(content) - 1))
    b[at] = (b[at] + data.draw(st.integers(1, 255))) % 256
    assert not same(a, b)
    assert same(a[:at], b[:at])
    assert same(a[at + 1 :], b[at + 1 :])
    assert not same(a, b[:-1])  # lengths differ


def test_same_on_read_only_and_empty_buffers() -> None:
    assert same(memoryview(b""), memoryview(b""))
    assert same(memoryview(b"abc"), memoryview(bytearray(b"abc")))
    assert not same(memoryview(b"abc"), memoryview(b"abd"))


def test_read_only_and_empty_buffers() -> None:
    assert is_zero(memoryview(b""))
    assert is_zero(memoryview(bytes(4096)))
    assert not is_zero(memoryview(b"\0" * 4095 + b"\1"))


def test_threads_asking_for_new_sizes_at_once_all_get_right_answers() -> None:
    """Many threads meeting sizes nobody used before, at the same moment: each comparison
    must stay valid. (A zero mapping made twice and dropped under a thread's feet crashed
    the process: the resumed-wipe test in tests/pipeline caught it.)"""
    errors: list[str] = []
    start = threading.Barrier(8)
    sizes = [(8 << 20) + j * 4096 for j in range(64)]  # mapped apart from the heap
    buffers = [_buffer(sizes[-1]) for _ in range(8)]

    def work(k: int) -> None:
        view = buffers[k]
        start.wait()
        for n in sizes:
            if not is_zero(view[:n]):
                errors.append(f"{n}: zeros not seen as zero")

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
