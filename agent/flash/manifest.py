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

import hashlib
import json
import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.errors import InputError

Compression = Literal["raw", "zst", "xz", "gz"]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
Ref = Annotated[str, Field(min_length=1, max_length=2048)]

#: Suffix of a compressed image file -> compression.
SUFFIXES: dict[str, Compression] = {".zst": "zst", ".zstd": "zst", ".xz": "xz", ".gz": "gz"}
MANIFEST_SUFFIX = ".manifest.json"
MAX_MANIFEST_BYTES = 1 << 20


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=128)]
    version: Annotated[str, Field(min_length=1, max_length=128)]
    size: Annotated[int, Field(gt=0)]
    sha256: Sha256
    image: Ref
    bmap: Ref | None = None
    compression: Compression | None = None
    bmap_sha256: Sha256 | None = None
    compressed_size: Annotated[int, Field(gt=0)] | None = None
    compressed_sha256: Sha256 | None = None

    @property
    def image_compression(self) -> Compression:
        return self.compression or compression_of(self.image)


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
    try:
        return Manifest.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'manifest'}: {e['msg']}" for e in exc.errors()
        )
        raise InputError(f"manifest {source} is invalid: {problems}") from None


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
    return manifest.model_dump_json(indent=2, exclude_none=True) + "\n"


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
