"""One cached copy per file: a bench of laptops reading at once means one backing read."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from agent.netboot.cache import (
    ByteRange,
    FileCache,
    NotServed,
    RangeNotSatisfiable,
    parse_range,
)


def test_concurrent_readers_share_one_fill(tmp_path: Path) -> None:
    backing = tmp_path / "store"
    backing.mkdir()
    (backing / "os.img.zst").write_bytes(os.urandom(3 << 20))
    cache = FileCache(backing, tmp_path / "cache")
    got: list[bytes] = []
    start = threading.Barrier(5)

    def reader() -> None:
        start.wait()
        got.append(cache.path("os.img.zst").read_bytes())

    threads = [threading.Thread(target=reader) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert cache.fills == {"os.img.zst": 1}
    assert len(got) == 5 and all(g == (backing / "os.img.zst").read_bytes() for g in got)


def test_a_changed_backing_file_is_read_again(tmp_path: Path) -> None:
    backing = tmp_path / "store"
    backing.mkdir()
    (backing / "vmlinuz").write_bytes(b"old kernel")
    cache = FileCache(backing, tmp_path / "cache")
    assert cache.path("vmlinuz").read_bytes() == b"old kernel"
    (backing / "vmlinuz").write_bytes(b"a new kernel")
    os.utime(backing / "vmlinuz", (1, 1))
    assert cache.path("vmlinuz").read_bytes() == b"a new kernel"
    assert cache.fills == {"vmlinuz": 2}


@pytest.mark.parametrize("name", ["../secret", ".hidden", "/etc/passwd", "missing", ""])
def test_only_files_of_the_backing_folder_are_served(tmp_path: Path, name: str) -> None:
    (tmp_path / "store").mkdir()
    (tmp_path / "secret").write_text("no")
    with pytest.raises(NotServed):
        FileCache(tmp_path / "store", tmp_path / "cache").path(name)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-99", ByteRange(0, 99)),
        ("bytes=100-", ByteRange(100, 999)),
        ("bytes=-10", ByteRange(990, 999)),
        ("bytes=900-5000", ByteRange(900, 999)),
        ("bytes=0-1,5-6", None),  # several ranges: the whole file
        ("items=0-1", None),
    ],
)
def test_ranges(header: str | None, expected: ByteRange | None) -> None:
    assert parse_range(header, 1000) == expected


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=5-2", "bytes=-0"])
def test_unsatisfiable_ranges(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, 1000)
