"""The bmap parser against bmaptool's own output (2.0) and the older 1.x layouts."""

from __future__ import annotations

import hashlib
import re

import pytest

from agent.errors import InputError
from agent.flash.bmap import parse_bmap
from tests.flash.conftest import ImageKit


def _reseal(text: str, tag: str, algo: str) -> bytes:
    """Recompute the bmap's own checksum the way bmaptool defines it (field zeroed)."""
    n = hashlib.new(algo).digest_size * 2
    text = re.sub(rf"<{tag}>\s*[0-9a-f]+\s*</{tag}>", f"<{tag}> {'0' * n} </{tag}>", text)
    digest = hashlib.new(algo, text.encode()).hexdigest()
    return text.replace("0" * n, digest, 1).encode()


def _as_v13(bmap_text: str, raw: bytes) -> bytes:
    """The same map in format 1.3: sha1 per range in a 'sha1' attribute, BmapFileSHA1."""
    text = bmap_text.replace('version="2.0"', 'version="1.3"')
    text = re.sub(r"\s*<ChecksumType>.*?</ChecksumType>", "", text)
    text = text.replace("BmapFileChecksum", "BmapFileSHA1")
    block = int(re.search(r"<BlockSize>\s*(\d+)", text)[1])  # type: ignore[index]

    def sha1_range(m: re.Match[str]) -> str:
        first, _, last = m[2].strip().partition("-")
        lo, hi = int(first) * block, (int(last or first) + 1) * block
        return f'<Range sha1="{hashlib.sha1(raw[lo:hi]).hexdigest()}">{m[2]}</Range>'

    text = re.sub(r'<Range chksum="([0-9a-f]+)">([^<]+)</Range>', sha1_range, text)
    text = re.sub(r"<BmapFileSHA1>\s*[0-9a-f]+", "<BmapFileSHA1> " + "0" * 64, text)
    return _reseal(text.replace("0" * 64, "0" * 40, 1), "BmapFileSHA1", "sha1")


def test_bmaptool_v2_ranges_match_the_image(kit: ImageKit) -> None:
    raw = kit.image.raw.read_bytes()
    bmap = parse_bmap(kit.image.bmap.read_bytes(), "test")
    assert bmap.version == "2.0"
    assert bmap.checksum_type == "sha256"
    assert bmap.image_size == len(raw)
    assert bmap.mapped_bytes == bmap.mapped_blocks * bmap.block_size
    assert len(bmap.ranges) >= 3 and bmap.mapped_bytes < len(raw) // 2
    for r in bmap.ranges:
        assert hashlib.sha256(raw[r.start : r.end]).hexdigest() == r.checksum
    # the GPT header (LBA 1) and the backup GPT at the end are mapped
    assert bmap.ranges[0].start == 0
    assert bmap.ranges[-1].end == len(raw)


def test_v13_sha1_and_v12_without_checksums(kit: ImageKit) -> None:
    raw = kit.image.raw.read_bytes()
    text = kit.image.bmap.read_text()
    v2 = parse_bmap(text.encode())
    v13 = parse_bmap(_as_v13(text, raw), "v1.3")
    assert v13.checksum_type == "sha1"
    assert [(r.start, r.end) for r in v13.ranges] == [(r.start, r.end) for r in v2.ranges]
    for r in v13.ranges:
        assert hashlib.sha1(raw[r.start : r.end]).hexdigest() == r.checksum
    v12 = re.sub(r' chksum="[0-9a-f]+"', "", text.replace('version="2.0"', 'version="1.2"'))
    v12 = re.sub(r"\s*<(ChecksumType|BmapFileChecksum)>.*?</\1>", "", v12)
    old = parse_bmap(v12.encode(), "v1.2")
    assert old.checksum_type is None
    assert all(r.checksum is None for r in old.ranges)
    assert old.mapped_bytes == v2.mapped_bytes
    # 1.4 is 2.0 under another name
    assert parse_bmap(_reseal(text.replace('"2.0"', '"1.4"'), "BmapFileChecksum", "sha256"))


def test_damaged_bmap_fails_its_own_checksum(kit: ImageKit) -> None:
    text = kit.image.bmap.read_text()
    damaged = re.sub(r'chksum="[0-9a-f]', 'chksum="f', text, count=1)
    if damaged == text:
        damaged = re.sub(r'chksum="f', 'chksum="e', text, count=1)
    with pytest.raises(InputError, match="damaged"):
        parse_bmap(damaged.encode(), "x")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda t: t.replace('version="2.0"', 'version="3.0"'), "newer"),
        (lambda t: t[: len(t) // 2], "not valid XML"),
        (lambda t: re.sub(r"<MappedBlocksCount>\s*\d+", "<MappedBlocksCount> 1", t), "mapped"),
        (lambda t: re.sub(r"<BlocksCount>\s*\d+", "<BlocksCount> 7", t), "does not match"),
        (lambda t: re.sub(r"<BlockSize>\s*\d+", "<BlockSize> 1000", t), "multiple of 512"),
        (lambda t: t.replace("sha256", "nosuchhash", 1), "unknown checksum"),
    ],
)
def test_inconsistent_bmaps_are_refused(kit: ImageKit, mutate: object, message: str) -> None:
    text = kit.image.bmap.read_text()
    changed = mutate(text)  # type: ignore[operator]
    if "nosuchhash" not in changed and "XML" not in message:
        changed = _reseal(changed, "BmapFileChecksum", "sha256").decode()
    with pytest.raises(InputError, match=message):
        parse_bmap(changed.encode(), "x")


def test_overlapping_ranges_are_refused() -> None:
    doc = (
        '<bmap version="1.2"><ImageSize>40960</ImageSize><BlockSize>4096</BlockSize>'
        "<BlocksCount>10</BlocksCount><MappedBlocksCount>5</MappedBlocksCount>"
        "<BlockMap><Range>0-3</Range><Range>3</Range></BlockMap></bmap>"
    )
    with pytest.raises(InputError, match="overlaps"):
        parse_bmap(doc.encode())
    with pytest.raises(InputError, match="outside"):
        parse_bmap(doc.replace("<Range>3</Range>", "<Range>10</Range>").encode())
