"""A small but real OS-like image for the demo: GPT, an EFI System Partition and an ext4 root.

Built with the same tools and in the same formats as the standard OS image
(sfdisk, mkfs.vfat, mkfs.ext4, ``bmaptool create``, zstd, a manifest), so
the demo flashes, verifies, fits and provisions it exactly as a station
flashes the real one; only its size differs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from agent.flash.manifest import Manifest, describe_image, dump_manifest, file_sha256
from agent.flash.seekable import compress_image
from agent.runner import Runner

MiB = 1 << 20
SECTOR = 512
ESP_START = 2048  # sectors, the usual 1 MiB alignment
ESP_SECTORS = 16 * MiB // SECTOR
ROOT_START = ESP_START + ESP_SECTORS
ESP_TYPE = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
ROOT_TYPE = "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709"  # Linux root (x86-64)
TOOLS = ("sfdisk", "mkfs.vfat", "mkfs.ext4", "bmaptool")

#: what the root filesystem holds: enough of a Debian tree for provisioning to act on
ROOT_FILES: dict[str, bytes] = {
    "etc/hostname": b"debian\n",
    "etc/hosts": b"127.0.0.1\tlocalhost\n127.0.1.1\tdebian\n",
    "etc/machine-id": b"0123456789abcdef0123456789abcdef\n",
    "etc/ssh/ssh_host_ed25519_key": b"-----BEGIN OPENSSH PRIVATE KEY-----\nimage\n",
    "etc/ssh/ssh_host_ed25519_key.pub": b"ssh-ed25519 AAAAC3Nz image\n",
    "etc/locale.gen": b"# en_US.UTF-8 UTF-8\n# nl_BE.UTF-8 UTF-8\n",
    "etc/os-release": b'PRETTY_NAME="Digibench demo image"\nID=debian\n',
    "home/.keep": b"",
}


@dataclass(frozen=True)
class DemoImage:
    raw: Path
    compressed: Path
    bmap: Path
    manifest: Path
    size: int
    sha256: str


def build_image(
    workdir: Path,
    runner: Runner,
    *,
    size_mib: int = 64,
    name: str = "digibench-demo",
    version: str = "1.0",
    data: bytes = b"",
    files: Mapping[str, bytes] | None = None,
    compress: bool = True,
    frame_size: int = 1 << 20,
) -> DemoImage:
    """Build ``workdir/NAME.img`` (+ .bmap, .zst, .manifest.json) and return where they are.

    ``files`` replaces the root filesystem's default contents; ``data`` adds a
    blob of that many bytes, for images with a realistic amount of data. The
    image is compressed as our OS image builds do it (agent/flash/seekable.py), in
    ``frame_size`` frames (small: the image is small); without ``compress`` the
    manifest names a .zst that the caller makes.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    raw = workdir / f"{name}.img"
    size = size_mib * MiB
    with raw.open("wb") as fh:
        fh.truncate(size)
    layout = (
        "label: gpt\n"
        f'start={ESP_START}, size={ESP_SECTORS}, type={ESP_TYPE}, name="ESP"\n'
        f'start={ROOT_START}, type={ROOT_TYPE}, name="root"\n'
    )
    runner.run(["sfdisk", "-q", str(raw)], input=layout.encode(), check=True)
    table = json.loads(runner.run(["sfdisk", "--json", str(raw)], check=True).text)
    root_sectors = int(table["partitiontable"]["partitions"][1]["size"])

    tree = workdir / f"{name}-rootfs"
    contents = dict(ROOT_FILES if files is None else files)
    if data:
        contents["usr/share/digibench/data.bin"] = data
    for rel, content in contents.items():
        path = tree / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    esp_kib = ESP_SECTORS * SECTOR // 1024
    runner.run(
        ["mkfs.vfat", "--offset", str(ESP_START), "-n", "ESP", str(raw), str(esp_kib)],
        check=True,
    )
    blocks = root_sectors * SECTOR // 4096
    runner.run(
        [
            "mkfs.ext4", "-q", "-F", "-b", "4096", "-L", "root",
            "-E", f"offset={ROOT_START * SECTOR}", "-d", str(tree), str(raw), str(blocks),
        ],
        check=True,
    )  # fmt: skip
    bmap = workdir / f"{name}.img.bmap"
    runner.run(["bmaptool", "create", "-o", str(bmap), str(raw)], check=True)
    compressed = workdir / f"{name}.img.zst"
    manifest_path = workdir / f"{name}.manifest.json"
    if compress:
        # as the OS image build does: zstd frames with a seek table, the full manifest
        compress_image(raw, compressed, level=3, frame_size=frame_size)
        manifest = describe_image(raw, compressed, bmap, name, version, base=workdir)
    else:
        manifest = Manifest(
            name=name,
            version=version,
            size=size,
            sha256=file_sha256(raw),
            image=compressed.name,
            bmap=os.path.relpath(bmap, workdir),
            compression="zst",
        )
    manifest_path.write_text(dump_manifest(manifest))
    return DemoImage(raw, compressed, bmap, manifest_path, size, manifest.sha256)
