"""Manifest, local image checks, writer and provisioning logic, without loop devices."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import mmap
import os
import random
from pathlib import Path

import pytest
import zstandard

from agent.errors import InputError
from agent.flash.engine import FlashOptions, flash, join_ref
from agent.flash.manifest import compression_of, dump_manifest, parse_manifest, raw_name
from agent.flash.provision import apply, hostname_for, load_settings
from agent.flash.source import ImageStream, check_local_image
from agent.flash.verify import read_back
from agent.flash.writer import Extent, wait_for, whole_image_extents, write_image
from tests.flash.images import o_direct_file

SHA = "ab" * 32


def _manifest(**kw: object) -> bytes:
    import json

    data: dict[str, object] = {"name": "n", "version": "1", "size": 10, "sha256": SHA, "image": "x"}
    data.update(kw)
    return json.dumps({k: v for k, v in data.items() if v is not None}).encode()


def test_manifest_parsing() -> None:
    m = parse_manifest(_manifest(image="a.img.zst", bmap="a.img.bmap"), "t")
    assert m.image_compression == "zst" and m.bmap == "a.img.bmap"
    for bad, word in [
        (_manifest(sha256="xyz"), "sha256"),
        (_manifest(size=0), "size"),
        (_manifest(name=None), "name"),
        (_manifest(extra=1), "extra"),
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "should be a JSON object"),
        (_manifest(size=True), "size: should be a whole number"),
        (_manifest(size="10"), "size: should be a whole number"),
        (_manifest(compression="lz4"), "compression: should be one of raw, zst, xz, gz"),
        (_manifest(bmap_sha256="AB" * 32), "bmap_sha256: should be 64 lowercase hex"),
        (_manifest(image=""), "image: should be 1 to 2048 characters"),
        (_manifest(version="v" * 129), "version: should be 1 to 128 characters"),
        (_manifest(compressed_size=-1), "compressed_size: should be greater than 0"),
        (_manifest(name=7, other=1), "name: should be a string; other: extra field"),
    ]:
        with pytest.raises(InputError, match=word):
            parse_manifest(bad, "t")
    # what dump_manifest writes reads back as the same manifest
    assert parse_manifest(dump_manifest(m).encode(), "t") == m
    assert dump_manifest(m).startswith('{\n  "name": "n",\n  "version": "1",')
    assert "bmap_sha256" not in dump_manifest(m)  # unset fields are left out
    assert compression_of("https://h/x.img.xz?sig=1") == "xz"
    assert raw_name("x.img.gz") == "x.img" and compression_of("x.img") == "raw"
    assert join_ref("/a/b/m.json", "c.img") == "/a/b/c.img"
    assert join_ref("http://h/a/m.json", "img/c.img") == "http://h/a/img/c.img"


def test_a_device_path_too_long_for_the_record_is_refused_before_anything(
    tmp_path: Path,
) -> None:
    """The image record is made after the write; what it could not hold is refused first."""
    from agent.runner import ReplayRunner

    opts = FlashOptions(image=str(tmp_path / "missing.json"), device="/dev/" + "x" * 300)
    with pytest.raises(InputError, match="longer than 256"):
        flash(opts, ReplayRunner([]))


def test_local_image_checks(tmp_path: Path) -> None:
    raw = os.urandom(5000)
    (tmp_path / "r.img").write_bytes(raw)
    check_local_image(tmp_path / "r.img", "raw", 5000)
    with pytest.raises(InputError, match="5000 bytes"):
        check_local_image(tmp_path / "r.img", "raw", 4096)
    (tmp_path / "z.img.zst").write_bytes(zstandard.ZstdCompressor().compress(raw))
    check_local_image(tmp_path / "z.img.zst", "zst", 5000)
    with pytest.raises(InputError, match="decompresses to 5000"):
        check_local_image(tmp_path / "z.img.zst", "zst", 6000)
    with pytest.raises(InputError, match="looks like zst"):
        check_local_image(tmp_path / "z.img.zst", "xz", 5000)
    (tmp_path / "g.img.gz").write_bytes(gzip.compress(raw))
    with pytest.raises(InputError, match="records a size"):
        check_local_image(tmp_path / "g.img.gz", "gz", 5001)
    with pytest.raises(InputError, match="cannot read"):
        check_local_image(tmp_path / "missing", "raw", 1)


@pytest.mark.parametrize("size", [3 * (1 << 20), 3 * (1 << 20) + 1000])
def test_writer_handles_unaligned_tails_and_small_chunks(tmp_path: Path, size: int) -> None:
    data = random.Random(size).randbytes(size)
    fd = o_direct_file(tmp_path / "target", size + 8192)
    try:
        # extents that are not sector-aligned go through read-modify-write
        extents = [Extent(0, 4096), Extent(5000, 70_000), Extent(1 << 20, size)]
        sums = [hashlib.sha256(data[e.start : e.end]).hexdigest() for e in extents]
        extents = [Extent(e.start, e.end, s) for e, s in zip(extents, sums, strict=True)]
        result = write_image(io.BytesIO(data), fd, size, extents, chunk_size=64 << 10, pool=3)
        assert result.image_sha256 == hashlib.sha256(data).hexdigest()
        assert result.bytes_written == sum(e.length for e in extents)
        assert read_back(fd, result.digests, "sha256", chunk_size=64 << 10) == []
        target = (tmp_path / "target").read_bytes()
        for e in extents:
            assert target[e.start : e.end] == data[e.start : e.end]
        assert target[4096:5000] == bytes(904)  # a hole stays untouched
        # the read-back notices a change
        with mmap.mmap(-1, 4096) as junk:  # O_DIRECT wants an aligned buffer
            junk.write(b"\x01" * 4096)
            os.pwrite(fd, junk, 1 << 20)
        bad = read_back(fd, result.digests, "sha256", chunk_size=64 << 10)
        assert [(m.start, m.end) for m in bad] == [(1 << 20, size)]
    finally:
        os.close(fd)


def test_writer_errors_end_the_pipeline(tmp_path: Path) -> None:
    data = bytes(1 << 20)
    fd = o_direct_file(tmp_path / "t", 1 << 20)
    try:
        with pytest.raises(InputError, match="ends early"):
            write_image(io.BytesIO(data[:1000]), fd, len(data), whole_image_extents(len(data)))
        with pytest.raises(InputError, match="larger than"):
            write_image(io.BytesIO(data + b"x"), fd, len(data), whole_image_extents(len(data)))
        with pytest.raises(InputError, match="do not match the bmap"):
            write_image(io.BytesIO(data), fd, len(data), [Extent(0, 4096, "0" * 64)])
        stream = ImageStream(io.BytesIO(b"\x28\xb5\x2f\xfd garbage" * 10), "zst", "bad")
        with pytest.raises(InputError, match="corrupt"):
            write_image(stream, fd, len(data), whole_image_extents(len(data)))
    finally:
        os.close(fd)


class _Stage:
    """A stand-in for a pipeline thread: ends after a number of waits on it; a wait on it
    once it has ended is the spin the waiting loop must not do."""

    def __init__(self, waits: int) -> None:
        self.waits_left = waits

    def is_alive(self) -> bool:
        return self.waits_left > 0

    def join(self, timeout: float | None = None) -> None:
        if self.waits_left <= 0:
            raise AssertionError("waited on a thread that had ended: the loop spins")
        self.waits_left -= 1


def test_waiting_for_the_pipeline_never_spins_on_an_ended_thread() -> None:
    # the read stage (first) ends long before the write and the read-back (last)
    stages = [_Stage(1), _Stage(2), _Stage(5)]
    ticks: list[int] = []
    wait_for(stages, 0.5, lambda: ticks.append(1))  # type: ignore[arg-type]
    assert not any(s.is_alive() for s in stages)
    assert len(ticks) == 8  # one progress tick per wait, no more


def test_hostname_from_asset_tag() -> None:
    assert hostname_for("DB 00123/A") == "db-00123-a"
    assert hostname_for("  --Lab_7--  ") == "lab-7"
    assert len(hostname_for("x" * 100)) == 63
    with pytest.raises(InputError):
        hostname_for("///")


def test_apply_never_writes_through_symlinks(tmp_path: Path) -> None:
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    (root / "etc").mkdir(parents=True)
    outside.mkdir()
    (outside / "hostname").write_text("host's own\n")
    # an image whose /etc/hostname points outside its filesystem
    (root / "etc" / "hostname").symlink_to(outside / "hostname")
    (root / "etc" / "ssh").symlink_to(outside)
    with pytest.raises(InputError, match="not a directory"):
        apply(root, "lap-1", load_settings())
    assert (outside / "hostname").read_text() == "host's own\n"
    (root / "etc" / "ssh").unlink()
    changed = apply(root, "lap-1", load_settings())
    assert (root / "etc" / "hostname").read_text() == "lap-1\n"
    assert not (root / "etc" / "hostname").is_symlink()
    assert (outside / "hostname").read_text() == "host's own\n"
    assert "etc/machine-id" in changed and (root / "etc/machine-id").read_bytes() == b""
    assert os.readlink(root / "etc/localtime") == "/usr/share/zoneinfo/Europe/Brussels"


def test_module_entry_point_has_the_flash_options(capsys: pytest.CaptureFixture[str]) -> None:
    from agent.flash.__main__ import main

    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    assert "--asset-tag" in capsys.readouterr().out


def test_what_vouches_for_the_image() -> None:
    """The bmap's range checksums stand in for the raw image's sha256 only when the
    manifest binds the bmap and the checksums are strong."""
    from dataclasses import replace

    from agent.flash.bmap import BlockMap, BmapRange
    from agent.flash.engine import bmap_vouches

    manifest = parse_manifest(_manifest(bmap="b.bmap", bmap_sha256=SHA), "t")
    block_map = BlockMap("2.0", 4096, 10, 1, 1, "sha256", (BmapRange(0, 10, SHA),))
    assert bmap_vouches(manifest, block_map)
    assert not bmap_vouches(dataclasses.replace(manifest, bmap_sha256=None), block_map)
    assert not bmap_vouches(manifest, replace(block_map, checksum_type="sha1"))
    assert not bmap_vouches(manifest, replace(block_map, checksum_type=None))
    assert not bmap_vouches(manifest, None)
