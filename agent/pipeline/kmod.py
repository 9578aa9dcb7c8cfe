"""Kernel modules a test setup asks for (``[testing] modprobe``), loaded before inspection.

The end-to-end VM test loads ``scsi_debug`` with a medium-error range this way:
a disk that fails like worn media, which no emulated controller offers. SCSI
scanning can finish after ``modprobe`` returns, so we wait for the new disks.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Sequence
from pathlib import Path

from agent.errors import InputError, ToolMissingError
from agent.runner import Runner

log = logging.getLogger(__name__)


def _block_devices(sys_root: Path) -> set[str]:
    block = sys_root / "sys" / "block"
    return {p.name for p in block.iterdir()} if block.is_dir() else set()


def load_modules(
    runner: Runner,
    modules: Sequence[Sequence[str]],
    *,
    sys_root: Path = Path("/"),
    wait_s: float = 15.0,
) -> list[str]:
    """``modprobe`` each entry not loaded yet; the block devices that appeared since."""
    if not modules:
        return []
    before = _block_devices(sys_root)
    loaded = 0
    for args in modules:
        if not args or args[0].startswith("-"):
            raise InputError(f"[testing] modprobe: not a module: {list(args)}")
        name = args[0].replace("-", "_")
        if (sys_root / "sys" / "module" / name).exists():
            log.info("module %s is loaded already", name)
            continue
        runner.run(["modprobe", *args], check=True, timeout=60)
        loaded += 1
    if not loaded:
        return []
    deadline = time.monotonic() + wait_s
    new: set[str] = set()
    while time.monotonic() < deadline:
        new = _block_devices(sys_root) - before
        if new:
            break
        time.sleep(0.2)
    with contextlib.suppress(ToolMissingError):  # no udev (a container): we read sysfs anyway
        runner.run(["udevadm", "settle", "--timeout=10"], timeout=30)
    return sorted(new)
