"""Our multi-frame zstd images (agent/flash/seekable.py): other tools read them, the flash
decompresses them in parallel, and damage is an error before or during the flash, never a
success."""

from __future__ import annotations

import hashlib
import json
import os
import random
import struct
import subprocess
import time
from pathlib import Path

import pytest

from agent.errors import InputError
from agent.flash import engine as engine_mod
from agent.flash import seekable as seekable_mod
from agent.flash import writer as writer_mod
from agent.flash.bmap import parse_bmap
from agent.flash.engine import FlashFailedError, FlashOptions, flash
from agent.flash.seekable import (
    FramedImage,
    SeekTableError,
    compress_image,
    read_seek_table,
)
from agent.flash.source import ImageStream, check_local_image
from agent.flash.writer import Extent, WriteResult, needed_frames, write_image
from agent.runner import SystemRunner
from tests.flash.conftest import ImageKit, needs_loops
from tests.flash.images import loop_device, o_direct_file, run, sha256_file

MiB = 1 << 20


def _raw(path: Path) -> bytes:
    """A sparse 6 MiB + 300 bytes file: random data, a hole, text, an unaligned tail."""
    rng = random.Random(7)
    with path.open("wb") as fh:
        fh.write(rng.randbytes(MiB + 5000))
        fh.seek(3 * MiB + 123)
        fh.write(b"some text " * 20_000)
        fh.truncate(6 * MiB + 300)
    return path.read_bytes()


def test_our_file_is_plain_zstd_to_other_tools(tmp_path: Path) -> None:
    data = _raw(tmp_path / "d.img")
    out = tmp_path / "d.img.zst"
    table = compress_image(tmp_path / "d.img", out, level=1, frame_size=MiB, threads=2)
    assert [f.size for f in table.frames] == [MiB] * 6 + [300]
    assert table.raw_size == len(data)
    assert read_seek_table(out, len(data)) == table
    assert check_local_image(out, "zst", len(data)) == table
    # the zstd CLI skips the seek table (a skippable frame)
    assert run("zstd", "-dc", str(out)).stdout == data
    run("zstd", "-tq", str(out))
    # and so does our own streaming path (HTTP, no seek table use)
    stream = ImageStream(out.open("rb"), "zst", str(out))
    buf = bytearray(len(data) + 10)
    assert stream.readinto(memoryview(buf)) == len(data)
    assert bytes(buf[: len(data)]) == data
    stream.close()
    assert not (tmp_path / "d.img.zst.part").exists()


def test_bmaptool_copies_our_file(kit: ImageKit, tmp_path: Path) -> None:
    dest = tmp_path / "copy.img"
    run("bmaptool", "copy", "--bmap", str(kit.image.bmap), str(kit.file("seekable")), str(dest))
    raw = kit.image.raw.read_bytes()
    copied = dest.read_bytes()
    for r in parse_bmap(kit.image.bmap.read_bytes()).ranges:
        assert copied[r.start : r.end] == raw[r.start : r.end]


def _damaged(src: Path, dest: Path, offset_from_end: int, value: bytes) -> Path:
    data = bytearray(src.read_bytes())
    pos = len(data) - offset_from_end
    data[pos : pos + len(value)] = value
    dest.write_bytes(bytes(data))
    return dest


def test_damaged_seek_tables_are_clear_errors(tmp_path: Path) -> None:
    data = _raw(tmp_path / "d.img")
    good = tmp_path / "d.img.zst"
    table = compress_image(tmp_path / "d.img", good, level=1, frame_size=MiB)
    count = len(table.frames)
    entries_end = 9  # the footer follows the entries
    last_entry = entries_end + 8
    cases = [
        # (offset from the end, new bytes, expected message)
        (last_entry, struct.pack("<I", table.frames[-1].length + 1), "accounts for"),
        (last_entry - 4, struct.pack("<I", 301), "by its seek table"),
        (table.table_size, b"\x50\x2a\x4d\x18", "frame header is damaged"),
        (5, b"\x04", "reserved"),
        (9, struct.pack("<I", 0), "lists 0 frames"),
        (9, struct.pack("<I", count + 1000), "frame header is damaged"),
    ]
    for i, (where, value, message) in enumerate(cases):
        bad = _damaged(good, tmp_path / f"bad{i}.img.zst", where, value)
        with pytest.raises(SeekTableError, match=message):
            read_seek_table(bad, len(data))
        with pytest.raises(InputError, match=message):
            check_local_image(bad, "zst", len(data))
    # no seek table magic: a plain multi-frame zstd file, whose first frame is not the image
    plain = _damaged(good, tmp_path / "plain.img.zst", 4, b"\0\0\0\0")
    assert read_seek_table(plain) is None
    with pytest.raises(InputError, match="decompresses to 1048576 bytes"):
        check_local_image(plain, "zst", len(data))
    # the manifest's size must match the table's
    with pytest.raises(SeekTableError, match="the manifest says"):
        check_local_image(good, "zst", len(data) + 1)


def _write(source: FramedImage | ImageStream, path: Path, size: int, extents: list[Extent],
           *, full_hash: bool) -> tuple[bytes, WriteResult]:  # fmt: skip
    fd = o_direct_file(path, size + 8192)  # whole sectors around the unaligned tail
    try:
        result = write_image(source, fd, size, extents, full_hash=full_hash, workers=2)
    finally:
        os.close(fd)
    return path.read_bytes()[:size], result


@pytest.mark.parametrize("full_hash", [False, True])
def test_parallel_frames_and_streaming_write_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, full_hash: bool
) -> None:
    data = _raw(tmp_path / "d.img")
    zst = tmp_path / "d.img.zst"
    table = compress_image(tmp_path / "d.img", zst, level=1, frame_size=MiB)
    spans = [(0, 8192), (4096 * 3, MiB + 8192), (3 * MiB, 3 * MiB + 200_000)]
    spans.append((6 * MiB, len(data)))  # the unaligned tail
    extents = [Extent(a, b, hashlib.sha256(data[a:b]).hexdigest()) for a, b in spans]
    decompressed: list[int] = []
    real = FramedImage.decompress_into

    def counting(self: FramedImage, frame: seekable_mod.Frame, out: memoryview) -> int:
        decompressed.append(frame.index)
        return real(self, frame, out)

    monkeypatch.setattr(FramedImage, "decompress_into", counting)
    framed = FramedImage(zst, table)
    try:
        parallel, r1 = _write(framed, tmp_path / "a", len(data), extents, full_hash=full_hash)
    finally:
        framed.close()
    stream = ImageStream(zst.open("rb"), "zst", str(zst))
    try:
        streamed, r2 = _write(stream, tmp_path / "b", len(data), extents, full_hash=full_hash)
    finally:
        stream.close()
    assert parallel == streamed
    for a, b in spans:
        assert parallel[a:b] == data[a:b]
    assert parallel[MiB + 8192 : 3 * MiB] == bytes(2 * MiB - 8192)  # holes not written
    assert r1.digests == r2.digests and not r1.mismatches
    if full_hash:  # every frame, for the whole image's sha256
        assert r1.image_sha256 == hashlib.sha256(data).hexdigest()
        assert sorted(decompressed) == list(range(len(table.frames)))
    else:  # frames 2, 4 and 5 hold no extent: never decompressed
        assert sorted(decompressed) == [0, 1, 3, 6]
        assert [f.index for f in needed_frames(table.frames, extents)] == [0, 1, 3, 6]


def test_a_corrupt_frame_ends_the_write(tmp_path: Path) -> None:
    data = _raw(tmp_path / "d.img")
    zst = tmp_path / "d.img.zst"
    table = compress_image(tmp_path / "d.img", zst, level=1, frame_size=MiB)
    frame = table.frames[1]  # random data: its bytes are the compressed bytes
    bad = bytearray(zst.read_bytes())
    bad[frame.offset + frame.length // 2] ^= 0x55
    zst.write_bytes(bytes(bad))
    extents = [Extent(0, len(data), hashlib.sha256(data).hexdigest())]
    framed = FramedImage(zst, table)
    try:
        with pytest.raises(InputError, match="corrupt: frame 1"):
            _write(framed, tmp_path / "a", len(data), extents, full_hash=False)
    finally:
        framed.close()


def test_image_compress_command(tmp_path: Path) -> None:
    from agent.cli import main

    data = _raw(tmp_path / "d.img")
    assert main(["image-compress", "-l", "1", "--frame-mib", "2", str(tmp_path / "d.img")]) == 0
    table = read_seek_table(tmp_path / "d.img.zst", len(data))
    assert table is not None and len(table.frames) == 4
    assert main(["image-compress", str(tmp_path / "missing.img")]) == 2


# --------------------------------------------------------------------------- on loop devices


def _device_bytes(dev: str, size: int) -> bytes:
    with open(dev, "rb", buffering=0) as fh:
        return fh.read(size)


@needs_loops
@pytest.mark.root
def test_flash_of_our_image_checks_the_bmap_and_the_file(kit: ImageKit, loop: str) -> None:
    manifest = kit.image.full_manifest(kit.file("seekable"))
    rec = flash(FlashOptions(str(manifest), loop, asset_tag="DB 1"), SystemRunner()).record
    assert rec.verified and rec.provisioned and rec.fitted
    method = rec.verification_method or ""
    assert "read back" in method and "vouches" in method and "compressed file sha256" in method
    full = flash(
        FlashOptions(str(manifest), loop, provision=False, fit=False, full_check=True),
        SystemRunner(),
    ).record
    assert full.verified and "checked in full" in (full.verification_method or "")


@needs_loops
@pytest.mark.root
def test_a_repeat_flash_hashes_nothing_a_stamp_proved_and_still_reads_everything_back(
    kit: ImageKit, loop: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first flash of our image checks every range against the bmap and keeps a stamp of
    that; the next flash of the same compressed file hashes no range (its sha256, checked
    before the disk is touched, stands in) but still compares every byte on the disk. The
    stamp vouches only for that bmap, and a disk that lies is caught without any hash."""
    stamps = tmp_path / "stamps"
    manifest = kit.image.full_manifest(kit.file("seekable"))
    hashed: list[int] = []
    real_stage = writer_mod._Pipeline.hash_stage

    def counting(self: writer_mod._Pipeline) -> None:
        hashed.append(1)
        real_stage(self)

    monkeypatch.setattr(writer_mod._Pipeline, "hash_stage", counting)
    opts = FlashOptions(str(manifest), loop, provision=False, fit=False, stamp_dir=stamps)
    first = flash(opts, SystemRunner()).record
    assert "checked against the bmap" in (first.verification_method or "") and hashed
    (stamp,) = stamps.iterdir()
    assert (
        json.loads(stamp.read_text())["bmap_sha256"]
        == json.loads(manifest.read_text())["bmap_sha256"]
    )
    hashed.clear()
    with open(loop, "r+b", buffering=0) as fh:  # the next laptop's disk: other bytes
        fh.write(b"\xa5" * kit.image.size)
    second = flash(opts, SystemRunner()).record
    method = second.verification_method or ""
    assert second.verified and not hashed
    assert "range sha256s vouched by an earlier check" in method and "read back" in method
    disk, raw = _device_bytes(loop, kit.image.size), kit.image.raw.read_bytes()
    for r in parse_bmap(kit.image.bmap.read_bytes(), "bmap").ranges:  # what was written
        assert disk[r.start : r.end] == raw[r.start : r.end]

    # a disk that keeps other bytes than it was given: the byte compare catches it
    real = writer_mod.pwrite_all

    def lying(fd: int, data: memoryview, offset: int) -> None:
        real(fd, data, offset)
        if offset == 0:
            with open(loop, "r+b", buffering=0) as fh:
                fh.write(b"X" * 512)
                os.fsync(fh.fileno())

    monkeypatch.setattr(writer_mod, "pwrite_all", lying)
    with pytest.raises(FlashFailedError, match="read-back found 1 range"):
        flash(opts, SystemRunner())
    monkeypatch.setattr(writer_mod, "pwrite_all", real)

    # a stamp of another bmap's ranges (the manifest now names another): hashed again
    hashed.clear()
    data = json.loads(stamp.read_text())
    stamp.write_text(json.dumps({**data, "bmap_sha256": "0" * 64}))
    third = flash(opts, SystemRunner()).record
    assert "checked against the bmap" in (third.verification_method or "") and hashed


@needs_loops
@pytest.mark.root
def test_a_repeat_flash_checks_each_frame_as_it_reads_it(
    kit: ImageKit, loop: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stamp of our multi-frame image keeps each frame's sha256, so the next flash hashes
    each frame as it reads it for decompressing (no hash of the whole file first): a file
    changed after the check is refused at the frame that changed, before that frame is
    used, however the change was timed against any earlier hash."""
    image = tmp_path / "ours.img.zst"
    image.write_bytes(kit.file("seekable").read_bytes())
    manifest = kit.image.full_manifest(image)
    stamps = tmp_path / "stamps"
    opts = FlashOptions(str(manifest), loop, provision=False, fit=False, stamp_dir=stamps)
    whole: list[str] = []
    real_sha = engine_mod.sha256_file

    def counting(path: Path) -> str:
        whole.append(str(path))
        return real_sha(path)

    monkeypatch.setattr(engine_mod, "sha256_file", counting)
    first = flash(opts, SystemRunner()).record
    assert first.verified and whole == [str(image)]  # checked against the manifest, in full
    (stamp,) = stamps.iterdir()
    table = read_seek_table(image)
    assert table is not None
    ranges = parse_bmap(kit.image.bmap.read_bytes(), "bmap").ranges
    needed = needed_frames(table.frames, [Extent(r.start, r.end) for r in ranges])
    frames = json.loads(stamp.read_text())["frames"]
    data = image.read_bytes()
    assert frames == {
        str(f.start): hashlib.sha256(data[f.offset : f.offset + f.length]).hexdigest()
        for f in needed
    }

    whole.clear()
    second = flash(opts, SystemRunner()).record
    method = second.verification_method or ""
    assert second.verified and whole == []
    assert "vouched by an earlier check" in method and "each frame matched" in method

    # one byte of the last frame written changes after the check (the manifest stays)
    last = needed[-1]
    with image.open("r+b") as fh:
        fh.seek(last.offset + last.length // 2)
        fh.write(bytes([data[last.offset + last.length // 2] ^ 0xFF]))
    with pytest.raises(FlashFailedError, match=f"frame {last.index} .* not the one checked"):
        flash(opts, SystemRunner())
    assert list(stamps.iterdir()) == []  # the next flash checks the whole file again
    with pytest.raises(FlashFailedError, match="not the file its manifest names"):
        flash(opts, SystemRunner())


@needs_loops
@pytest.mark.root
def test_parallel_and_streaming_flashes_give_identical_disks(
    kit: ImageKit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    size = kit.image.size
    seekable = kit.image.full_manifest(kit.file("seekable"))
    single = kit.image.full_manifest(kit.file("zst"))
    frames: list[int] = []
    real = FramedImage.decompress_into

    def counting(self: FramedImage, frame: seekable_mod.Frame, out: memoryview) -> int:
        frames.append(frame.index)
        return real(self, frame, out)

    monkeypatch.setattr(FramedImage, "decompress_into", counting)
    contents = []
    for name, manifest, framed in [
        ("parallel", seekable, True),
        ("streamed", seekable, False),
        ("single-frame", single, False),
    ]:
        monkeypatch.setattr(engine_mod, "MAX_FRAME_SIZE", MiB if framed else 0)
        with loop_device(tmp_path, size, f"{name}.raw") as dev:
            opts = FlashOptions(str(manifest), dev, provision=False, fit=False)
            assert flash(opts, SystemRunner()).record.verified
            contents.append(hashlib.sha256(_device_bytes(dev, size)).hexdigest())
        assert bool(frames) == framed  # the parallel path was (not) taken
        frames.clear()
    assert contents[0] == contents[1] == contents[2]


@needs_loops
@pytest.mark.root
def test_damaged_files_fail_without_a_success_claim(
    kit: ImageKit, tmp_path: Path, loop: str
) -> None:
    src = kit.file("seekable")
    table = read_seek_table(src)
    assert table is not None
    bmap = parse_bmap(kit.image.bmap.read_bytes())
    extents = [Extent(r.start, r.end, r.checksum) for r in bmap.ranges]
    frame = needed_frames(table.frames, extents)[-1]
    data = bytearray(src.read_bytes())
    data[frame.offset + frame.length // 2 : frame.offset + frame.length // 2 + 16] = bytes(16)
    bad = tmp_path / "bad.img.zst"
    bad.write_bytes(bytes(data))
    bmap_rel = os.path.relpath(kit.image.bmap, tmp_path)
    zeros = bytes(kit.image.size)

    # the manifest names the good file's sha256: refused before the disk is touched
    named = kit.image.manifest(bad, **_checksums(kit, src), bmap=bmap_rel)
    with pytest.raises(FlashFailedError) as info:
        flash(FlashOptions(str(named), loop), SystemRunner())
    assert "not the file its manifest names" in info.value.message
    assert info.value.record is not None and not info.value.record.verified
    assert _device_bytes(loop, kit.image.size) == zeros

    # without the file's sha256 the damaged frame is found while flashing
    unnamed = kit.image.manifest(bad, bmap_sha256=sha256_file(kit.image.bmap), bmap=bmap_rel)
    with pytest.raises(FlashFailedError) as info:
        flash(FlashOptions(str(unnamed), loop), SystemRunner())
    assert f"corrupt: frame {frame.index}" in info.value.message
    rec = info.value.record
    assert rec is not None and not rec.verified and rec.errors and not rec.provisioned

    # a seek table that does not add up: refused before the disk is touched
    with loop_device(tmp_path, 96 << 20, "other.raw") as dev:
        wrong = _damaged(src, tmp_path / "table.img.zst", 9 + 8, struct.pack("<I", 1))
        manifest = kit.image.manifest(wrong, bmap=bmap_rel)
        with pytest.raises(FlashFailedError) as info:
            flash(FlashOptions(str(manifest), dev), SystemRunner())
        assert "seek table" in info.value.message
        assert info.value.record is not None and not info.value.record.verified
        assert _device_bytes(dev, kit.image.size) == zeros


def _checksums(kit: ImageKit, image: Path) -> dict[str, object]:
    return {
        "bmap_sha256": sha256_file(kit.image.bmap),
        "compressed_size": image.stat().st_size,
        "compressed_sha256": sha256_file(image),
    }


def test_streams_have_no_seek_table(tmp_path: Path) -> None:
    """A single-frame file (the zstd CLI) is streamed: no seek table is found in it."""
    data = _raw(tmp_path / "d.img")
    out = tmp_path / "d.img.zst"
    subprocess.run(["zstd", "-q", "-1", str(tmp_path / "d.img"), "-o", str(out)], check=True)
    assert read_seek_table(out) is None
    assert check_local_image(out, "zst", len(data)) is None


def test_nothing_is_written_before_the_source_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _raw(tmp_path / "d.img")
    zst = tmp_path / "d.img.zst"
    table = compress_image(tmp_path / "d.img", zst, level=1, frame_size=MiB)
    extents = [Extent(0, len(data), hashlib.sha256(data).hexdigest())]
    passed: list[bool] = []
    real = writer_mod.pwrite_all

    def checked_first(fd: int, piece: memoryview, offset: int) -> None:
        assert passed, "a write before the source check passed"
        real(fd, piece, offset)

    def slow_check() -> None:
        time.sleep(0.3)  # the pipeline decompresses and hashes meanwhile
        passed.append(True)

    monkeypatch.setattr(writer_mod, "pwrite_all", checked_first)
    fd = o_direct_file(tmp_path / "a", len(data) + 8192)
    framed = FramedImage(zst, table)
    try:
        write_image(framed, fd, len(data), extents, full_hash=False, before_write=slow_check)
        assert (tmp_path / "a").read_bytes()[: len(data)] == data

        os.ftruncate(fd, 0)
        os.ftruncate(fd, len(data) + 8192)

        def failing() -> None:
            time.sleep(0.3)
            raise InputError("the source is not the one the manifest names")

        # a damaged stream fails meanwhile: the source check's error is the one reported
        bad = [Extent(0, len(data), "0" * 64)]
        with pytest.raises(InputError, match="not the one the manifest names"):
            write_image(framed, fd, len(data), bad, full_hash=False, before_write=failing)
        assert (tmp_path / "a").read_bytes() == bytes(len(data) + 8192)
    finally:
        framed.close()
        os.close(fd)
