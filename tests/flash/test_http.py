"""HTTP(S) sources: streaming with resume, the download cache, truncated downloads."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from agent.flash import source as source_mod
from agent.flash.engine import FlashFailedError, FlashOptions, flash
from agent.flash.source import DownloadError, HttpReader, download
from agent.runner import SystemRunner
from tests.flash.conftest import ImageKit, needs_loops
from tests.flash.httpserver import Faults, serve


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(source_mod, "HTTP_BACKOFF_S", 0.01)


def test_reader_resumes_after_drops() -> None:
    data = bytes(range(256)) * 4096  # 1 MiB
    faults = Faults(drop_after=100_000, drops=3)
    with serve({"/f": data}, faults) as base:
        reader = HttpReader(base + "/f")
        got = b"".join(iter(lambda: reader.read(65536), b""))
    assert got == data
    assert reader.resumes == 3
    assert [r for _, r in faults.log] == [None, "bytes=100000-", "bytes=200000-", "bytes=300000-"]


def test_reader_skips_when_the_server_ignores_ranges() -> None:
    data = bytes(range(256)) * 1024
    faults = Faults(drop_after=50_000, drops=1, ignore_range=True)
    with serve({"/f": data}, faults) as base:
        reader = HttpReader(base + "/f")
        got = b"".join(iter(lambda: reader.read(10_000), b""))
    assert got == data


def test_reader_gives_up_on_a_download_that_keeps_dropping() -> None:
    data = bytes(500_000)
    with serve({"/f": data}, Faults(drop_at=1000)) as base:
        reader = HttpReader(base + "/f", retries=2)
        with pytest.raises(DownloadError, match="stopped at 1000 of 500000 bytes"):
            while reader.read(65536):
                pass


def test_download_resumes_a_partial_file_across_runs(tmp_path: Path) -> None:
    data = bytes(range(256)) * 2048
    sha = hashlib.sha256(data).hexdigest()
    dest = tmp_path / "img.zst"
    with serve({"/f": data}, Faults(drop_at=200_000)) as base, pytest.raises(DownloadError):
        download(base + "/f", dest, expected_size=len(data), expected_sha256=sha)
    part = tmp_path / "img.zst.part"
    assert part.exists() and 0 < part.stat().st_size < len(data)
    faults = Faults()
    with serve({"/f": data}, faults) as base:
        assert download(base + "/f", dest, expected_size=len(data), expected_sha256=sha) == dest
    assert dest.read_bytes() == data and not part.exists()
    assert faults.log[0][1] is not None and faults.log[0][1].startswith("bytes=")


def test_download_with_wrong_checksum_is_discarded(tmp_path: Path) -> None:
    data = b"x" * 1000
    with (
        serve({"/f": data}, Faults()) as base,
        pytest.raises(DownloadError, match="does not match"),
    ):
        download(base + "/f", tmp_path / "f", expected_size=1000, expected_sha256="0" * 64)
    assert not (tmp_path / "f").exists() and not (tmp_path / "f.part").exists()


def _files(kit: ImageKit, **extra: object) -> dict[str, bytes]:
    zst = kit.file("zst").read_bytes()
    manifest = {
        "name": "net-image",
        "version": "2",
        "size": kit.image.size,
        "sha256": kit.image.sha256,
        "image": "img/test.img.zst",
        "bmap": "img/test.img.bmap",
        "compressed_size": len(zst),
        "compressed_sha256": hashlib.sha256(zst).hexdigest(),
    }
    manifest.update(extra)
    return {
        "/m.json": json.dumps(manifest).encode(),
        "/img/test.img.zst": zst,
        "/img/test.img.bmap": kit.image.bmap.read_bytes(),
    }


@needs_loops
def test_flash_streams_from_a_url_through_drops(kit: ImageKit, loop: str) -> None:
    faults = Faults(drop_after=400_000, drops=2)
    with serve(_files(kit), faults) as base:
        rec = flash(FlashOptions(base + "/m.json", loop, provision=False), SystemRunner()).record
    assert rec.verified and rec.source and rec.source.endswith("/img/test.img.zst")
    assert sum(1 for p, r in faults.log if p.endswith(".zst") and r) == 2


@needs_loops
def test_flash_from_url_with_cache(kit: ImageKit, loop: str, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    faults = Faults(drop_after=300_000, drops=1)
    with serve(_files(kit), faults) as base:
        opts = FlashOptions(base + "/m.json", loop, provision=False, fit=False, cache_dir=cache)
        assert flash(opts, SystemRunner()).record.verified
        cached = list(cache.iterdir())
        assert len(cached) == 1 and cached[0].read_bytes() == kit.file("zst").read_bytes()
        gets = len(faults.log)
        assert flash(opts, SystemRunner()).record.verified
        # the second run fetched only the manifest and bmap, not the image
        assert [p for p, _ in faults.log[gets:]] == ["/m.json", "/img/test.img.bmap"]


@needs_loops
def test_a_cache_too_small_for_the_image_streams_it_instead(
    kit: ImageKit, loop: str, tmp_path: Path
) -> None:
    """A stick written from the released image has a 64 MiB data partition: the OS image
    is streamed rather than filling the partition its reports are kept on."""
    small = tmp_path / "small"
    small.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(small)], check=True)
    try:
        with serve(_files(kit), Faults()) as base:
            opts = FlashOptions(
                base + "/m.json", loop, provision=False, fit=False, cache_dir=small / "cache"
            )
            rec = flash(opts, SystemRunner()).record
        assert rec.verified and rec.source and rec.source.startswith("http")
        assert not (small / "cache").exists() or not any((small / "cache").iterdir())
    finally:
        subprocess.run(["umount", str(small)], check=True)


@needs_loops
def test_truncated_download_fails_without_success_claim(kit: ImageKit, loop: str) -> None:
    with (
        serve(_files(kit), Faults(drop_at=500_000)) as base,
        pytest.raises(FlashFailedError) as info,
    ):
        flash(FlashOptions(base + "/m.json", loop), SystemRunner())
    assert "stopped at 500000" in info.value.message
    assert info.value.record is not None and not info.value.record.verified
    assert info.value.record.errors


@needs_loops
def test_server_copy_of_the_wrong_size_is_refused_before_writing(kit: ImageKit, loop: str) -> None:
    with (
        serve(_files(kit, compressed_size=12345), Faults()) as base,
        pytest.raises(FlashFailedError, match="the manifest says 12345"),
    ):
        flash(FlashOptions(base + "/m.json", loop), SystemRunner())
    with open(loop, "rb") as fh:
        assert fh.read(1 << 20) == bytes(1 << 20)
