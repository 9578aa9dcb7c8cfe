"""Build small but real GPT images (ESP + ext4 root with files) and loop devices for tests.

Everything here uses the real tools (sfdisk, mkfs.vfat, mkfs.ext4, bmaptool,
zstd, xz, gzip, losetup, partx) and cleans up after itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from agent.demo import image as demo_image
from agent.flash.manifest import describe_image
from agent.flash.seekable import compress_image
from agent.runner import SystemRunner

MiB = 1 << 20
ROOT_START = demo_image.ROOT_START  # sectors
TOOLS = ("sfdisk", "mkfs.vfat", "mkfs.ext4", "bmaptool", "zstd", "xz", "gzip", "losetup", "partx")


def run(*argv: str, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(argv, input=input, capture_output=True, check=True)


def missing_tools() -> list[str]:
    return [t for t in TOOLS if shutil.which(t) is None]


def can_use_loops() -> bool:
    return os.geteuid() == 0 and Path("/dev/loop-control").exists() and not missing_tools()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(4 * MiB):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class BuiltImage:
    raw: Path
    bmap: Path
    size: int
    sha256: str
    root_start: int  # bytes
    files: dict[str, bytes]

    def manifest(self, image: Path, **extra: object) -> Path:
        """Write NAME.manifest.json beside ``image`` naming it and the bmap."""
        data: dict[str, object] = {
            "name": "test-image",
            "version": "1.0",
            "size": self.size,
            "sha256": self.sha256,
            "image": image.name,
            "bmap": os.path.relpath(self.bmap, image.parent),
        }
        data.update(extra)
        data = {k: v for k, v in data.items() if v is not None}
        stem = image.name
        for suffix in (".zst", ".xz", ".gz"):
            stem = stem.removesuffix(suffix)
        path = image.with_name(stem + ".manifest.json")
        path.write_text(json.dumps(data))
        return path

    def full_manifest(self, image: Path, **extra: object) -> Path:
        """The manifest our image builds write (describe_image): with the sha256 of the bmap
        and of the compressed file, so the bmap's range checksums vouch for the image."""
        data: dict[str, object] = describe_image(
            self.raw, image, self.bmap, "test-image", "1.0"
        ).as_dict()
        data.pop("image")
        data.update(extra)
        return self.manifest(image, **data)


def build_image(workdir: Path, size_mib: int = 64, data_mib: int = 3) -> BuiltImage:
    """A sparse GPT image: 16 MiB ESP (vfat) and an ext4 root filling the rest, with files."""
    rng = random.Random(1234)
    files = {
        "etc/hostname": b"image-default\n",
        "etc/machine-id": b"0123456789abcdef0123456789abcdef\n",
        "etc/ssh/ssh_host_ed25519_key": b"-----BEGIN OPENSSH PRIVATE KEY-----\nfake\n",
        "etc/ssh/ssh_host_ed25519_key.pub": b"ssh-ed25519 AAAA fake\n",
        "etc/ssh/sshd_config": b"PermitRootLogin no\n",
        "etc/locale.gen": b"# en_US.UTF-8 UTF-8\n# nl_BE.UTF-8 UTF-8\n",
        "usr/share/data.bin": rng.randbytes(data_mib * MiB),
        "home/readme.txt": b"hello from the image\n" * 100,
    }
    image = demo_image.build_image(
        workdir, SystemRunner(), size_mib=size_mib, name="test", files=files, compress=False
    )
    return BuiltImage(image.raw, image.bmap, image.size, image.sha256, ROOT_START * 512, files)


def compress(raw: Path, kind: str) -> Path:
    """``raw`` compressed: zst (one frame, the zstd CLI), seekable (ours: frames of 1 MiB
    and a seek table, as agent/flash/seekable.py writes for our images), xz or gz."""
    if kind == "seekable":
        out = raw.with_name("seekable-" + raw.name + ".zst")
        compress_image(raw, out, level=3, frame_size=MiB)
        return out
    out = raw.with_name(raw.name + "." + kind)
    if kind == "zst":
        run("zstd", "-q", "-f", "-T0", str(raw), "-o", str(out))
    elif kind == "xz":
        with out.open("wb") as fh:
            subprocess.run(["xz", "-c", "-T1", "-0", str(raw)], stdout=fh, check=True)
    elif kind == "gz":
        with out.open("wb") as fh:
            subprocess.run(["gzip", "-c", "-1", str(raw)], stdout=fh, check=True)
    else:
        raise ValueError(kind)
    return out


def partitions_of(dev: str) -> list[str]:
    name = Path(dev).name
    return sorted(p.name for p in Path(f"/sys/block/{name}").glob(f"{name}p*"))


@contextlib.contextmanager
def loop_device(workdir: Path, size: int, name: str = "disk.raw") -> Iterator[str]:
    """A loop device over a fresh sparse file; partitions and the loop are removed after."""
    backing = workdir / name
    with backing.open("wb") as fh:
        fh.truncate(size)
    dev = run("losetup", "--find", "--show", str(backing)).stdout.decode().strip()
    try:
        yield dev
    finally:
        if partitions_of(dev):
            subprocess.run(["partx", "-d", dev], capture_output=True, check=False)
        subprocess.run(["losetup", "-d", dev], capture_output=True, check=False)
        backing.unlink(missing_ok=True)


def mounts_under(prefix: str) -> list[str]:
    """Mount points in /proc/self/mountinfo that start with ``prefix``."""
    out = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4]
        if point.startswith(prefix):
            out.append(point)
    return out


def o_direct_file(path: Path, size: int) -> int:
    """A file of ``size`` bytes opened with O_DIRECT (skips where the filesystem has none)."""
    with path.open("wb") as fh:
        fh.truncate(size)
    try:
        return os.open(path, os.O_RDWR | os.O_DIRECT)
    except OSError:
        pytest.skip("this filesystem has no O_DIRECT")
