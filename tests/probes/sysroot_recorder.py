"""Record parts of this machine's /sys, /proc and /run/udev into a fixture tree.

Usage (as root, from the repo): ``python -m tests.probes.sysroot_recorder OUT PATTERN...``
where each PATTERN is an absolute glob such as ``/sys/block/*/size``. Symlinks
met on the way are recreated as the same relative links, so a probe pointed at
OUT resolves ``/sys/block/vda`` to its ``/sys/devices/...`` directory as on the
real machine. Files under ``/proc`` are copied as plain files. Nothing is
written outside OUT; unreadable files are skipped.
"""

from __future__ import annotations

import glob
import os
import sys
from pathlib import Path


def _link(out: Path, link: Path) -> Path:
    """Recreate ``link`` under ``out`` and return the real path it points to."""
    target = os.readlink(link)
    dst = out / link.relative_to("/")
    dst.parent.mkdir(parents=True, exist_ok=True)
    if not dst.is_symlink():
        if target.startswith("/"):
            target = os.path.relpath(target, link.parent)
        dst.symlink_to(target)
    return Path(os.path.realpath(link))


def record(out: Path, path: str, *, follow_last: bool = False) -> None:
    src = Path(path)
    if src.parts[1:2] == ("proc",):
        try:
            data = src.read_bytes()
        except OSError:
            return
        dst = out / src.relative_to("/")
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(data)
        return
    cur = Path("/")
    parts = src.parts[1:]
    for i, part in enumerate(parts):
        nxt = cur / part
        last = i == len(parts) - 1
        if nxt.is_symlink():
            real = Path(os.path.realpath(nxt))
            # make sure the directories the link goes through exist in OUT as well
            record(out, os.path.normpath(nxt.parent / os.readlink(nxt)), follow_last=True)
            _link(out, nxt)
            if last and not follow_last:
                return
            nxt = real
        cur = nxt
    dst = out / cur.relative_to("/")
    if cur.is_dir():
        dst.mkdir(parents=True, exist_ok=True)
        return
    try:
        data = cur.read_bytes()
    except OSError:
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(data)


#: What agent/probes/block.py reads, as patterns ("--block" expands to these).
BLOCK = [
    "/sys/block/*",
    "/sys/block/*/{dev,size,removable,ro,hidden,serial,wwid}",
    "/sys/block/*/queue/{rotational,logical_block_size,physical_block_size}",
    "/sys/block/*/holders",
    "/sys/block/*/holders/*",
    "/sys/block/*/slaves",
    "/sys/block/*/slaves/*",
    "/sys/block/*/device",
    "/sys/block/*/device/{model,vendor,rev,wwid,serial,firmware_rev,name,fwrev,manfid,type}",
    "/sys/block/*/device/{vpd_pg80,prv}",
    "/sys/block/*/loop/backing_file",
    "/sys/block/*/*/{partition,dev,size,start}",
    "/sys/block/*/*/holders",
    "/proc/self/mountinfo",
    "/proc/swaps",
    "/run/udev/data/b*",
    "/dev/disk/by-id/*",
    "/dev/disk/by-label/*",
]


#: What the cpu, memory, gpu, network, display and dmi probes read ("--devices").
DEVICES = [
    "/proc/cpuinfo",
    "/proc/meminfo",
    "/proc/sys/kernel/arch",
    "/sys/devices/system/cpu/cpu*/topology/{core_id,physical_package_id}",
    "/sys/devices/system/cpu/cpu*/cpufreq/cpuinfo_max_freq",
    "/sys/class/net/*",
    "/sys/class/net/*/{address,type,wireless,phy80211}",
    "/sys/class/net/*/device",
    "/sys/class/net/*/device/{driver,subsystem}",
    "/sys/bus/pci/devices/*",
    "/sys/bus/pci/devices/*/{class,vendor,device,driver}",
    "/sys/class/dmi/id/*",
    "/sys/class/drm/*",
    "/sys/class/drm/*/{status,edid}",
]


def _expand(pattern: str) -> list[str]:
    """glob with one level of ``{a,b}`` alternatives."""
    if "{" not in pattern:
        return [pattern]
    head, rest = pattern.split("{", 1)
    alternatives, tail = rest.split("}", 1)
    return [head + alt + tail for alt in alternatives.split(",")]


def main(argv: list[str]) -> int:
    out = Path(argv[0])
    sets = {"--block": BLOCK, "--devices": DEVICES}
    patterns = [p for arg in argv[1:] for p in sets.get(arg, [arg])]
    for pattern in [e for p in patterns for e in _expand(p)]:
        for path in sorted(glob.glob(pattern)):
            record(out, path)
    # git keeps no empty directories (holders/, slaves/...): drop them so the
    # tree tested here is the tree a fresh clone has.
    for dirpath, _dirs, _files in sorted(os.walk(out), reverse=True):
        here = Path(dirpath)
        if here != out and not any(here.iterdir()):
            here.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
