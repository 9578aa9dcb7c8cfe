"""The manifest that travels with every image: what it is and how to check it.

JSON, e.g.::

    {"name": "digibench-debian", "version": "12.8-1", "size": 2147483648,
     "sha256": "<sha256 of the raw, uncompressed image>",
     "image": "debian.img.zst", "bmap": "debian.img.bmap"}

``image`` and ``bmap`` are file names (or URLs) relative to the manifest.
Optional: ``compression`` (raw, zst, xz, gz; else guessed from the image name),
``bmap_sha256`` (binds the bmap to the manifest), ``compressed_size`` and
``compressed_sha256`` (let a download be checked before anything is written).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from agent.errors import InputError

Compression = Literal["raw", "zst", "xz", "gz"]
COMPRESSIONS: tuple[str, ...] = get_args(Compression)

#: Suffix of a compressed image file -> compression.
SUFFIXES: dict[str, Compression] = {".zst": "zst", ".zstd": "zst", ".xz": "xz", ".gz": "gz"}
MANIFEST_SUFFIX = ".manifest.json"
MAX_MANIFEST_BYTES = 1 << 20
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Manifest:
    """A checked manifest: construct it only through :func:`parse_manifest` or with
    values you made (``describe_image``); ``__post_init__`` checks them either way.

    A plain dataclass, not a pydantic model: every flash reads one before anything
    else, and pydantic's import alone costs a flash a tenth of a second at start-up.
    """

    name: str
    version: str
    size: int
    sha256: str
    image: str
    bmap: str | None = None
    compression: Compression | None = None
    bmap_sha256: str | None = None
    compressed_size: int | None = None
    compressed_sha256: str | None = None

    def __post_init__(self) -> None:
        problems = [
            f"{f.name}: {problem}"
            for f in dataclasses.fields(self)
            if (problem := _problem(f.name, getattr(self, f.name))) is not None
        ]
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def image_compression(self) -> Compression:
        return self.compression or compression_of(self.image)

    def as_dict(self) -> dict[str, Any]:
        """The fields that are set, in the manifest's order (what the JSON holds)."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


_REQUIRED = frozenset({"name", "version", "size", "sha256", "image"})


def _problem(field: str, value: object) -> str | None:
    """What is wrong with one field's value, or None."""
    if value is None:
        return "field required" if field in _REQUIRED else None
    if field in ("size", "compressed_size"):
        if not isinstance(value, int) or isinstance(value, bool):
            return "should be a whole number"
        return None if value > 0 else "should be greater than 0"
    if not isinstance(value, str):
        return "should be a string"
    if field in ("sha256", "bmap_sha256", "compressed_sha256"):
        return None if _SHA256.fullmatch(value) else "should be 64 lowercase hex digits"
    if field == "compression":
        return None if value in COMPRESSIONS else f"should be one of {', '.join(COMPRESSIONS)}"
    limit = 128 if field in ("name", "version") else 2048
    if not 1 <= len(value) <= limit:
        return f"should be 1 to {limit} characters"
    return None


def compression_of(name: str) -> Compression:
    """Guess the compression from a file name or URL path."""
    lower = name.lower().split("?", 1)[0]
    for suffix, kind in SUFFIXES.items():
        if lower.endswith(suffix):
            return kind
    return "raw"


def raw_name(name: str) -> str:
    """The image's name without its compression suffix (``x.img.zst`` -> ``x.img``)."""
    lower = name.lower()
    for suffix in SUFFIXES:
        if lower.endswith(suffix):
            return name[: -len(suffix)]
    return name


def parse_manifest(data: bytes, source: str) -> Manifest:
    if len(data) > MAX_MANIFEST_BYTES:
        raise InputError(f"manifest {source} is too large to be a manifest")
    try:
        raw = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"manifest {source} is not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise InputError(f"manifest {source} is invalid: manifest: should be a JSON object")
    known = {f.name for f in dataclasses.fields(Manifest)}
    problems = [f"{key}: extra field not permitted" for key in raw if key not in known]
    try:
        values: dict[str, Any] = {key: raw.get(key) for key in known}  # missing: None, refused
        manifest = Manifest(**values)
    except ValueError as exc:
        problems.insert(0, str(exc))
    if problems:
        raise InputError(f"manifest {source} is invalid: {'; '.join(problems)}")
    return manifest


def load_manifest(path: Path) -> Manifest:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read manifest {path}: {exc.strerror}") from None
    return parse_manifest(data, str(path))


def sibling_manifest(image_path: Path) -> Path:
    """Where the manifest of a local image lives: ``x.img.zst`` -> ``x.img.manifest.json``."""
    return image_path.with_name(raw_name(image_path.name) + MANIFEST_SUFFIX)


def dump_manifest(manifest: Manifest) -> str:
    return json.dumps(manifest.as_dict(), indent=2, ensure_ascii=False) + "\n"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb", buffering=0) as fh:
        buf = bytearray(4 << 20)
        view = memoryview(buf)
        while n := fh.readinto(buf):
            digest.update(view[:n])
    return digest.hexdigest()


def describe_image(
    raw: Path, image: Path, bmap: Path | None, name: str, version: str, *, base: Path | None = None
) -> Manifest:
    """The complete manifest for a built image: every checksum the flash engine can use.

    ``image`` and ``bmap`` are named relative to ``base`` (default: the image's folder,
    where the manifest goes). The compressed file's sha256 lets a flash refuse a damaged
    file before touching the disk; the bmap's binds the bmap whose range checksums then
    stand in for the whole image's (see agent/flash/engine.py).
    """
    where = base or image.parent
    return Manifest(
        name=name,
        version=version,
        size=raw.stat().st_size,
        sha256=file_sha256(raw),
        image=os.path.relpath(image, where),
        bmap=os.path.relpath(bmap, where) if bmap else None,
        compression=compression_of(image.name),
        bmap_sha256=file_sha256(bmap) if bmap else None,
        compressed_size=image.stat().st_size if compression_of(image.name) != "raw" else None,
        compressed_sha256=file_sha256(image) if compression_of(image.name) != "raw" else None,
    )
