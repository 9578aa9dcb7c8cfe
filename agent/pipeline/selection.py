"""Which disks may be wiped: the same rules on a fresh run and on every resume.

Internal, not mounted, not swap, not the stick or boot medium, and in a test
setup named by ``[testing] allowed_devices``. :func:`recheck` applies exactly
:func:`candidates` to the disks as they are now, so a resumed run never wipes
a disk that a fresh run would refuse.
"""

from __future__ import annotations

import os
from pathlib import Path

from agent.config import StationConfig
from agent.erase.safety import RefusedError, Target, resolve, stable_identity
from agent.probes.block import device_in_use, list_disks
from agent.report.reasons import reason, warning
from agent.report.schema import Disk, Reason, Report


def allowed(disk: Disk, entries: list[str]) -> bool:
    """Whether a test setup's ``allowed_devices`` names this disk (path, serial or model)."""
    for entry in entries:
        kind, _, value = entry.partition(":")
        if kind == "serial" and value:
            if disk.serial is not None and disk.serial.strip() == value:
                return True
        elif kind == "model" and value:
            if disk.model is not None and disk.model.strip() == value:
                return True
        elif os.path.realpath(entry) == disk.path:
            return True
    return False


def mark_test_devices(report: Report, config: StationConfig) -> Report:
    """In a test setup, the allowed devices play the laptop's internal disks."""
    entries = config.testing.allowed_devices
    if not entries:
        return report
    disks = []
    for disk in report.components.disks:
        if allowed(disk, entries):
            disk = disk.model_copy(update={"internal": True})
            report.warnings.append(warning("testing.device", path=disk.path))
        else:
            disk = disk.model_copy(update={"internal": False})
        disks.append(disk)
    report.components.disks = disks
    return report


def in_use_reason(disk: Disk, detail: str) -> Reason:
    """Why a disk that something holds is refused: the main fact coded, the rest in detail."""
    if disk.holds_root:
        return reason("refuse.holds_root", "error", detail=detail)
    if disk.is_boot_medium:
        return reason("refuse.boot_medium", "error", detail=detail)
    if disk.mountpoints:
        return reason("refuse.mounted", "error", detail=detail)
    return reason("refuse.in_use", "error", detail=detail)


def candidates(
    disks: list[Disk], config: StationConfig, root: Path
) -> tuple[list[Disk], list[tuple[Disk, Reason]]]:
    """(disks that may be wiped, refused disks with the reason)."""
    entries = config.testing.allowed_devices
    ok: list[Disk] = []
    refused: list[tuple[Disk, Reason]] = []
    for disk in disks:
        if entries and not allowed(disk, entries):
            if disk.internal or not disk.is_loop:
                refused.append((disk, reason("refuse.not_allowed", "error")))
            continue
        if not disk.internal:
            if not disk.is_loop:
                refused.append((disk, reason("refuse.not_internal", "error")))
            continue
        in_use = disk.in_use_reason or device_in_use(root, disk.name)
        if in_use:
            refused.append((disk, in_use_reason(disk, in_use)))
        else:
            ok.append(disk)
    return ok, refused


def current_disks(config: StationConfig, root: Path) -> list[Disk]:
    """The machine's disks now, marked as a fresh inspection marks them."""
    entries = config.testing.allowed_devices
    disks = list_disks(root)
    if not entries:
        return disks
    return [d.model_copy(update={"internal": allowed(d, entries)}) for d in disks]


def recheck(
    identities: list[str], config: StationConfig, root: Path
) -> tuple[list[Target], list[tuple[str, Disk | None, Reason]]]:
    """The confirmed disks of an interrupted run, checked again as a fresh run would.

    Returns the targets that still pass, and (identity, disk, why) for the rest.
    """
    now = current_disks(config, root)
    by_identity = {stable_identity(d, root): d for d in now}
    ok, refused = candidates(now, config, root)
    refused_by_name = {d.name: why for d, why in refused}
    passing = {d.name for d in ok}
    targets: list[Target] = []
    bad: list[tuple[str, Disk | None, Reason]] = []
    for identity in identities:
        disk = by_identity.get(identity)
        if disk is None:
            bad.append((identity, None, reason("refuse.gone", "error")))
            continue
        if disk.name not in passing:
            why = refused_by_name.get(disk.name) or reason("refuse.not_internal", "error")
            bad.append((identity, disk, why))
            continue
        try:
            target = resolve(disk.path, root)
        except RefusedError as exc:
            bad.append((identity, disk, reason("refuse.in_use", "error", detail=exc.message)))
            continue
        targets.append(target)
    return targets, bad
