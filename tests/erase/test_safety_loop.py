"""Refusals, on this machine: mounted loops, the disk holding /, partitions, unknown paths."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from agent.erase.device import BlockDevice, DeviceBusyError
from agent.erase.engine import WipeOptions, wipe_one
from agent.erase.safety import RefusedError, recheck, resolve, stable_identity
from agent.probes.block import list_disks
from agent.report.schema import ErasureResult

from .conftest import MARKER, Loop, MiB, needs_root, run

pytestmark = needs_root


def _mount(loop: Loop, where: Path) -> None:
    run(["mkfs.ext4", "-q", "-F", loop.dev], check=True)
    where.mkdir()
    run(["mount", loop.dev, str(where)], check=True)


def test_mounted_loop_is_refused_everywhere(
    make_loop: Callable[..., Loop], options: Callable[..., WipeOptions], tmp_path: Path
) -> None:
    loop = make_loop(32 * MiB)
    target = loop.target()  # planned while free ...
    mnt = tmp_path / "mnt"
    _mount(loop, mnt)  # ... then mounted before the wipe starts
    try:
        (mnt / "homework.txt").write_bytes(MARKER)
        with pytest.raises(RefusedError, match="mounted at"):
            resolve(loop.dev)
        with pytest.raises(RefusedError, match="mounted at"):
            recheck(target)
        # Even without our checks, the exclusive open is refused by the kernel.
        with pytest.raises(DeviceBusyError):
            BlockDevice(loop.dev)
        out = wipe_one(target, options(target))
        assert out.record.result is ErasureResult.FAILED
        assert any("mounted at" in n for n in out.record.notes)
        assert out.record.bytes_written == 0
        assert (mnt / "homework.txt").read_bytes() == MARKER
    finally:
        run(["umount", str(mnt)], check=True)


def test_disk_holding_root_is_refused() -> None:
    roots = [d for d in list_disks() if d.holds_root]
    if not roots:
        pytest.skip("/ is not on a block device here")
    for disk in roots:
        with pytest.raises(RefusedError, match="root"):
            resolve(disk.path)
        for link in disk.by_id:
            with pytest.raises(RefusedError, match="root"):
                resolve(link)


def test_partition_and_unknown_paths_are_refused(make_loop: Callable[..., Loop]) -> None:
    loop = make_loop(16 * MiB)
    run(["sfdisk", "--quiet", loop.dev], input=b"label: dos\n,,L\n", check=True)
    run(["partx", "-a", loop.dev], check=True)
    with pytest.raises(RefusedError, match="partition"):
        resolve(f"{loop.dev}p1")
    with pytest.raises(RefusedError, match="not a whole disk"):
        resolve("/dev/does-not-exist")
    with pytest.raises(RefusedError, match="not a whole disk"):
        resolve("/dev/null")


def test_identity_follows_the_disk_not_the_name(make_loop: Callable[..., Loop]) -> None:
    loop = make_loop(8 * MiB)
    target = loop.target()
    assert target.identity == f"loop:{loop.image}|{8 * MiB}"
    assert stable_identity(target.disk) == target.identity
    assert "loop" not in target.identity.split("|")[0].removeprefix("loop:").split("/")[-1]
    # Re-attach the same backing file under another kernel name: still found.
    run(["losetup", "-d", loop.dev], check=True)
    loop.dev = run(["losetup", "--find", "--show", str(loop.image)], check=True).text.strip()
    assert recheck(target).path == loop.dev


def test_other_disk_at_the_same_name_is_refused(make_loop: Callable[..., Loop]) -> None:
    loop = make_loop(8 * MiB)
    target = loop.target()
    run(["losetup", "-d", loop.dev], check=True)
    other = loop.image.with_name("other.img")
    with other.open("wb") as fh:
        fh.truncate(8 * MiB)
    loop.dev = run(["losetup", "--find", "--show", str(other)], check=True).text.strip()
    loop.image = other
    with pytest.raises(RefusedError, match="no longer present"):
        recheck(target)
