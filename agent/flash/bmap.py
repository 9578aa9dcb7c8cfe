"""bmaptool's block map (XML, format 1.0-1.4 and 2.0): which byte ranges of an image hold data.

Only mapped ranges are written; each range may carry a checksum of the source
bytes (sha1 in 1.3, any hashlib name given by ``ChecksumType`` in 1.4/2.0,
sha256 in practice), which is checked while streaming. The bmap file carries a
checksum of itself (computed with that field set to ASCII zeros), checked on load.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from xml.etree.ElementTree import Element

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from agent.errors import InputError

#: The newest major format version understood (bmaptool's own limit too).
SUPPORTED_MAJOR = 2
#: Refuse absurd maps before allocating for them (a 4 TiB image in 4 KiB blocks fits).
MAX_RANGES = 4_000_000
_HEX = re.compile(r"^[0-9a-f]+$")


@dataclass(frozen=True)
class BmapRange:
    """One mapped run of blocks, as byte offsets into the raw image."""

    start: int
    end: int  # exclusive; clipped to the image size for the last block
    checksum: str | None

    @property
    def length(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class BlockMap:
    version: str
    block_size: int
    image_size: int
    blocks_count: int
    mapped_blocks: int
    checksum_type: str | None
    ranges: tuple[BmapRange, ...]

    @property
    def mapped_bytes(self) -> int:
        return sum(r.length for r in self.ranges)


def _text(root: Element, tag: str, source: str, *, required: bool = True) -> str | None:
    node = root.find(tag)
    if node is None or node.text is None or not node.text.strip():
        if required:
            raise InputError(f"bmap {source}: <{tag}> is missing")
        return None
    return node.text.strip()


def _int(root: Element, tag: str, source: str) -> int:
    value = _text(root, tag, source)
    assert value is not None
    try:
        number = int(value)
    except ValueError:
        raise InputError(f"bmap {source}: <{tag}> is not a number: {value!r}") from None
    if number < 0:
        raise InputError(f"bmap {source}: <{tag}> is negative")
    return number


def _check_self_checksum(data: bytes, value: str, cs_type: str, source: str) -> None:
    digest_len = hashlib.new(cs_type).digest_size * 2
    if len(value) != digest_len or not _HEX.match(value):
        raise InputError(f"bmap {source}: its own {cs_type} checksum is malformed")
    pos = data.find(value.encode())
    if pos < 0:
        raise InputError(f"bmap {source}: cannot locate its own checksum")
    zeroed = data[:pos] + b"0" * digest_len + data[pos + digest_len :]
    actual = hashlib.new(cs_type, zeroed).hexdigest()
    if actual != value:
        raise InputError(
            f"bmap {source} is damaged: its {cs_type} is {actual}, it says {value}",
            hint="fetch the bmap file again",
        )


def parse_bmap(data: bytes, source: str = "file") -> BlockMap:
    """Parse and check a bmap document; every inconsistency is an :class:`InputError`."""
    try:
        root = ElementTree.fromstring(data)
    except (ElementTree.ParseError, DefusedXmlException) as exc:
        raise InputError(f"bmap {source} is not valid XML: {exc}") from None
    if root.tag != "bmap":
        raise InputError(f"bmap {source}: root element is <{root.tag}>, expected <bmap>")
    version = str(root.attrib.get("version", "")).strip()
    match = re.fullmatch(r"(\d+)\.(\d+)", version)
    if not match:
        raise InputError(f"bmap {source}: unreadable format version {version!r}")
    major, minor = int(match[1]), int(match[2])
    if major > SUPPORTED_MAJOR:
        raise InputError(
            f"bmap {source}: format version {version} is newer than this program knows "
            f"(up to {SUPPORTED_MAJOR}.x)"
        )

    block_size = _int(root, "BlockSize", source)
    blocks_count = _int(root, "BlocksCount", source)
    mapped_blocks = _int(root, "MappedBlocksCount", source)
    image_size = _int(root, "ImageSize", source)
    if block_size == 0 or block_size % 512:
        raise InputError(f"bmap {source}: block size {block_size} is not a multiple of 512")
    if blocks_count != (image_size + block_size - 1) // block_size:
        raise InputError(
            f"bmap {source}: image size {image_size} does not match "
            f"{blocks_count} blocks of {block_size} bytes"
        )

    # 1.0-1.2: no checksums; 1.3: sha1; 1.4 (a mistaken name for 2.0) and 2.0: ChecksumType.
    cs_type: str | None = None
    cs_attr: str | None = None
    self_tag: str | None = None
    if major >= 2 or (major == 1 and minor >= 4):
        cs_type = (_text(root, "ChecksumType", source) or "").lower()
        cs_attr, self_tag = "chksum", "BmapFileChecksum"
    elif major == 1 and minor == 3:
        cs_type, cs_attr, self_tag = "sha1", "sha1", "BmapFileSHA1"
    if cs_type is not None:
        if cs_type not in hashlib.algorithms_available:
            raise InputError(f"bmap {source}: unknown checksum type {cs_type!r}")
        assert self_tag is not None
        self_sum = _text(root, self_tag, source)
        assert self_sum is not None
        _check_self_checksum(data, self_sum.lower(), cs_type, source)

    block_map = root.find("BlockMap")
    if block_map is None:
        raise InputError(f"bmap {source}: <BlockMap> is missing")
    elements = block_map.findall("Range")
    if len(elements) > MAX_RANGES:
        raise InputError(f"bmap {source}: too many ranges ({len(elements)})")

    ranges: list[BmapRange] = []
    next_free = 0
    counted = 0
    digest_len = hashlib.new(cs_type).digest_size * 2 if cs_type else 0
    for el in elements:
        text = (el.text or "").strip()
        parts = [p.strip() for p in text.split("-", 1)]
        try:
            first = int(parts[0])
            last = int(parts[1]) if len(parts) > 1 else first
        except ValueError:
            raise InputError(f"bmap {source}: bad range {text!r}") from None
        if first < 0 or first > last or last >= blocks_count:
            raise InputError(f"bmap {source}: range {text!r} is outside the image")
        if first < next_free:
            raise InputError(f"bmap {source}: range {text!r} overlaps or is out of order")
        checksum = el.attrib.get(cs_attr) if cs_attr else None
        if checksum is not None:
            checksum = checksum.strip().lower()
            if len(checksum) != digest_len or not _HEX.match(checksum):
                raise InputError(f"bmap {source}: malformed checksum on range {text!r}")
        elif cs_type is not None:
            raise InputError(f"bmap {source}: range {text!r} has no checksum")
        start = first * block_size
        end = min((last + 1) * block_size, image_size)
        ranges.append(BmapRange(start, end, checksum))
        counted += last - first + 1
        next_free = last + 1
    if counted != mapped_blocks:
        raise InputError(
            f"bmap {source}: ranges cover {counted} blocks but it says {mapped_blocks} are mapped"
        )
    return BlockMap(
        version=version,
        block_size=block_size,
        image_size=image_size,
        blocks_count=blocks_count,
        mapped_blocks=mapped_blocks,
        checksum_type=cs_type,
        ranges=tuple(ranges),
    )


def load_bmap(path: Path) -> BlockMap:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read bmap {path}: {exc.strerror}") from None
    return parse_bmap(data, str(path))
