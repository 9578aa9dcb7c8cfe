"""Which disks may be wiped, held by stable identity, checked again at the last moment.

A target is named on the command line by any path (``/dev/disk/by-id/...``,
``/dev/sdb``), but from then on it is held by what the disk *is*: its serial
number, WWN or by-id link (for a loop device, its backing file) plus its
size. Right before the disk is opened, the machine is probed again, the disk
is looked up by that identity (its kernel name may have changed) and every
refusal rule of :func:`agent.probes.block.device_in_use` is applied again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from agent.errors import DigibenchError
from agent.probes.block import device_in_use, list_disks
from agent.probes.sysfs import read_text, under
from agent.report.schema import Disk

ROOT = Path("/")


class RefusedError(DigibenchError):
    """This disk must not be wiped; the message says why in plain words."""


@dataclass(frozen=True)
class Target:
    """A disk chosen for wiping, as it was when the plan was made."""

    disk: Disk
    identity: str

    @property
    def name(self) -> str:
        return self.disk.name

    def describe(self) -> str:
        d = self.disk
        parts = [d.vendor, d.model, f"serial {d.serial}" if d.serial else None]
        label = " ".join(p for p in parts if p) or "no model/serial reported"
        return (
            f"{d.path}: {label}, {d.size_bytes / 1e9:.1f} GB {d.media_type.value} [{self.identity}]"
        )


def stable_identity(disk: Disk, root: Path = ROOT) -> str | None:
    """What this disk is, independent of its kernel name; None when it says nothing stable."""
    if disk.serial:
        key = f"serial:{disk.serial}"
    elif disk.wwn:
        key = f"wwn:{disk.wwn}"
    elif disk.by_id:
        key = f"by-id:{Path(disk.by_id[0]).name}"
    elif disk.is_loop:
        backing = read_text(under(root, f"/sys/block/{disk.name}/loop/backing_file"))
        if not backing:
            return None
        key = f"loop:{backing}"
    else:
        return None
    model = f"|{disk.model}" if disk.model else ""
    return f"{key}{model}|{disk.size_bytes}"


def _refusal(disk: Disk, root: Path) -> str | None:
    if disk.holds_root:
        return f"{disk.name} holds the running root filesystem"
    if disk.is_boot_medium:
        return f"{disk.name} is the Digibench boot medium ({disk.in_use_reason})"
    if disk.in_use_reason:
        return f"{disk.name} is in use: {disk.in_use_reason}"
    if disk.read_only:
        return f"{disk.name} is read-only"
    if disk.size_bytes <= 0:
        return f"{disk.name} reports no capacity (no medium?)"
    return device_in_use(root, disk.name)


def resolve(device: str, root: Path = ROOT) -> Target:
    """The whole disk a path names, refused if it must not be wiped."""
    real = os.path.realpath(device) if device.startswith("/") else f"/dev/{device}"
    name = Path(real).name
    disks = {d.name: d for d in list_disks(root)}
    disk = disks.get(name)
    if disk is None:
        reason = device_in_use(root, name) if Path("/sys/class/block", name).exists() else None
        raise RefusedError(
            f"{device}: not a whole disk on this machine" + (f" ({reason})" if reason else ""),
            hint="name a whole disk, e.g. /dev/disk/by-id/... (see 'lsblk -d')",
        )
    refusal = _refusal(disk, root)
    if refusal:
        raise RefusedError(f"{device}: refused: {refusal}")
    identity = stable_identity(disk, root)
    if identity is None:
        raise RefusedError(
            f"{device}: refused: the disk reports no serial, WWN or by-id link,"
            " so it cannot be held by a stable identity"
        )
    return Target(disk, identity)


def recheck(target: Target, root: Path = ROOT) -> Disk:
    """The target as it is now, found by identity; refused if it changed or is in use."""
    matches = [d for d in list_disks(root) if stable_identity(d, root) == target.identity]
    if not matches:
        raise RefusedError(
            f"{target.name}: the disk {target.identity} is no longer present; not wiping"
        )
    if len(matches) > 1:
        names = ", ".join(d.name for d in matches)
        raise RefusedError(f"{target.identity} matches several disks ({names}); not wiping")
    disk = matches[0]
    refusal = _refusal(disk, root)
    if refusal:
        raise RefusedError(f"refused at the last check: {refusal}")
    return disk


def opened_is(fd: int, disk: Disk, root: Path = ROOT) -> bool:
    """Whether an open file descriptor is the block device ``disk`` (major:minor match)."""
    st = os.fstat(fd)
    devnum = read_text(under(root, f"/sys/block/{disk.name}/dev"))
    return devnum == f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"
