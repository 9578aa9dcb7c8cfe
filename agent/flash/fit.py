"""Fit a freshly written image to its disk: backup GPT to the end, grow root and its ext4.

Images are smaller than the laptops' disks: their backup GPT header sits in the
middle of the disk and their root partition is small. We move the header to the
real end, let the last (root) partition take the free space, tell the kernel
(``partx -u``: it does not re-read tables by itself everywhere) and grow ext4
offline (``e2fsck -f`` first, as resize2fs demands).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from agent.errors import CommandFailedError, DigibenchError, InputError
from agent.runner import Runner

log = logging.getLogger(__name__)

ESP_TYPE = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
#: Linux root partition types (Discoverable Partitions Specification) and "Linux filesystem".
ROOT_TYPES = frozenset(
    {
        "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709",  # root x86-64
        "44479540-F297-41B2-9AF7-D131D5F0458A",  # root x86
        "B921B045-1DF0-41C3-AF44-4C6F280D3FAE",  # root arm64
        "0FC63DAF-8483-4772-8E79-3D69D8477DE4",  # Linux filesystem data
    }
)


@dataclass(frozen=True)
class Partition:
    number: int
    start: int  # sectors
    size: int  # sectors
    type: str
    name: str | None


@dataclass(frozen=True)
class PartitionTable:
    label: str
    sector_size: int
    last_lba: int | None
    partitions: tuple[Partition, ...]

    def root(self) -> Partition | None:
        """The root partition: the last one of a Linux root/filesystem type."""
        roots = [p for p in self.partitions if p.type.upper() in ROOT_TYPES]
        return max(roots, key=lambda p: p.start) if roots else None

    def esp(self) -> Partition | None:
        return next((p for p in self.partitions if p.type.upper() == ESP_TYPE), None)


@dataclass
class FitResult:
    relocated_backup_gpt: bool = False
    grown_partition: int | None = None
    old_size_bytes: int = 0
    new_size_bytes: int = 0
    filesystem_grown: bool = False


def _number(node: str) -> int:
    digits = ""
    for ch in reversed(node):
        if not ch.isdigit():
            break
        digits = ch + digits
    if not digits:
        raise InputError(f"cannot tell the partition number of {node}")
    return int(digits)


def read_table(runner: Runner, device: str) -> PartitionTable:
    result = runner.run(["sfdisk", "--json", device])
    if not result.ok:
        raise InputError(
            f"{device} holds no readable partition table after flashing: "
            f"{result.error_text.strip() or 'sfdisk failed'}"
        )
    try:
        table = json.loads(result.stdout)["partitiontable"]
        parts = tuple(
            Partition(
                number=_number(p["node"]),
                start=int(p["start"]),
                size=int(p["size"]),
                type=str(p["type"]),
                name=p.get("name"),
            )
            for p in table.get("partitions", [])
        )
        return PartitionTable(
            label=str(table["label"]),
            sector_size=int(table.get("sectorsize", 512)),
            last_lba=int(table["lastlba"]) if "lastlba" in table else None,
            partitions=parts,
        )
    except (KeyError, TypeError, ValueError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot understand sfdisk's view of {device}: {exc}") from None


def partition_device(device: str, number: int, *, sys_root: Path = Path("/")) -> str:
    """The kernel's node for partition ``number`` of ``device`` (``loop0p2``, ``sda2``...)."""
    name = Path(device).name
    base = sys_root / "sys/class/block" / name
    for entry in sorted(base.glob(f"{name}*")):
        try:
            if int((entry / "partition").read_text().strip()) == number:
                return str(Path(device).parent / entry.name)
        except (OSError, ValueError):
            continue
    raise DigibenchError(
        f"the kernel shows no partition {number} on {device}",
        hint="run 'partx -u' on the disk",
    )


def refresh_partitions(runner: Runner, device: str, expected: int) -> None:
    """Make the kernel's partition list match the disk (added, resized, removed)."""
    runner.run(["partx", "-u", device], check=True)
    # udev (where it runs) may take a moment to create the nodes.
    for _ in range(50):
        try:
            for n in range(1, expected + 1):
                node = partition_device(device, n)
                if not Path(node).exists():
                    raise DigibenchError(node)
            return
        except DigibenchError:
            time.sleep(0.1)
    raise DigibenchError(f"the partitions of {device} did not appear after 'partx -u'")


def fit_to_disk(runner: Runner, device: str, disk_size: int) -> FitResult:
    """Move the backup GPT to the disk's end and grow the root partition and ext4 into it."""
    result = FitResult()
    table = read_table(runner, device)
    if table.label != "gpt":
        raise InputError(f"the image on {device} has a {table.label} table; only GPT is fitted")
    end_sector = disk_size // table.sector_size
    # lastlba is the last usable sector: 33 sectors (header + entries) before the end.
    if table.last_lba is not None and table.last_lba < end_sector - 34:
        # the kernel is told once, by partx below: sfdisk's own re-read after a write
        # first sleeps a quarter of a second (util-linux), for every laptop
        runner.run(
            ["sfdisk", "--no-reread", "--no-tell-kernel", "--relocate", "gpt-bak-std", device],
            check=True,
        )
        result.relocated_backup_gpt = True
        table = read_table(runner, device)

    root = table.root()
    if root is None or root.start != max(p.start for p in table.partitions):
        log.info("no growable root partition at the end of %s; leaving its size", device)
        refresh_partitions(runner, device, len(table.partitions))
        return result
    result.old_size_bytes = root.size * table.sector_size
    runner.run(
        ["sfdisk", "--no-reread", "--no-tell-kernel", "-N", str(root.number), device],
        input=b", +\n",
        check=True,
    )
    table = read_table(runner, device)
    grown = next(p for p in table.partitions if p.number == root.number)
    result.new_size_bytes = grown.size * table.sector_size
    result.grown_partition = root.number
    refresh_partitions(runner, device, max(p.number for p in table.partitions))
    node = partition_device(device, root.number)
    if filesystem_type(runner, node) == "ext4":
        grow_ext4(runner, node)
        result.filesystem_grown = True
    return result


def filesystem_type(runner: Runner, node: str) -> str | None:
    result = runner.run(["blkid", "-p", "-o", "value", "-s", "TYPE", node])
    return result.text.strip() or None if result.ok else None


def grow_ext4(runner: Runner, node: str) -> None:
    check = runner.run(["e2fsck", "-f", "-p", node])
    # 0: clean, 1: errors fixed; anything else means the image's filesystem is damaged.
    if check.returncode not in (0, 1):
        raise CommandFailedError(
            f"e2fsck found problems on {node} it could not fix (exit {check.returncode}): "
            f"{check.text.strip()[-300:]}"
        )
    runner.run(["resize2fs", node], check=True)
