"""block probe on this machine, with real loop devices the tests create and remove.

Only loop devices attached here (on sparse files under tmp_path) are touched;
every one is unmounted, its partitions dropped and detached in ``finally``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.probes.block import device_in_use, find_boot_media, kernel_busy, list_disks
from agent.report.schema import MediaType
from agent.runner import SystemRunner

ROOT = Path("/")
run = SystemRunner().run

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="loop devices need root"),
    pytest.mark.skipif(not Path("/dev/loop-control").exists(), reason="no loop driver"),
]


@pytest.fixture
def loop(tmp_path: Path) -> Iterator[str]:
    """A 32 MiB loop device (kernel name, e.g. 'loop3') on a sparse file."""
    image = tmp_path / "disk.img"
    with image.open("wb") as fh:
        fh.truncate(32 << 20)
    dev = run(["losetup", "--find", "--show", str(image)], check=True).text.strip()
    try:
        yield Path(dev).name
    finally:
        run(["partx", "-d", dev])
        run(["losetup", "-d", dev], check=True)


def _partition(name: str) -> str:
    """One Linux partition over the whole loop, added with partx (the kernel won't)."""
    dev = f"/dev/{name}"
    run(["sfdisk", "--quiet", dev], input=b"label: dos\n,,L\n", check=True)
    run(["partx", "-a", dev], check=True)
    return f"{name}p1"


def _disk(name: str):  # type: ignore[no-untyped-def]
    found = [d for d in list_disks(ROOT) if d.name == name]
    assert len(found) == 1, f"{name} missing from list_disks"
    return found[0]


def test_attached_loop_is_listed_as_loop_and_free(loop: str) -> None:
    disk = _disk(loop)
    assert disk.is_loop and disk.is_virtual
    assert disk.transport == "loop"
    assert disk.media_type is MediaType.VIRTUAL
    assert disk.size_bytes == 32 << 20
    assert disk.logical_sector_size == 512
    assert disk.internal is False
    assert disk.mountpoints == []
    assert disk.in_use_reason is None
    assert disk.holds_root is False and disk.is_boot_medium is False
    assert device_in_use(ROOT, loop) is None


def _detached_loops() -> set[str]:
    return {
        entry.name
        for entry in Path("/sys/block").iterdir()
        if entry.name.startswith("loop") and (entry / "size").read_text().strip() == "0"
    }


def test_detached_loops_are_not_listed() -> None:
    # Other tests may attach or detach loops meanwhile: judge only loops detached throughout.
    before = _detached_loops()
    names = {d.name for d in list_disks(ROOT)}
    stable = before & _detached_loops()
    assert not stable & names


def test_mounted_partition_makes_loop_in_use(loop: str, tmp_path: Path) -> None:
    part = _partition(loop)
    mnt = tmp_path / "mnt point"  # a space: mountinfo escapes it as \040
    mnt.mkdir()
    run(["mkfs.ext4", "-q", "-F", f"/dev/{part}"], check=True)
    run(["mount", f"/dev/{part}", str(mnt)], check=True)
    try:
        reason = device_in_use(ROOT, loop)
        assert reason is not None and str(mnt) in reason and "mounted" in reason
        disk = _disk(loop)
        assert disk.mountpoints == [str(mnt)]
        assert disk.in_use_reason is not None and str(mnt) in disk.in_use_reason
        # A partition is never a wipe target on its own.
        assert device_in_use(ROOT, part) == f"{part} is a partition of {loop}, not a whole disk"
    finally:
        run(["umount", str(mnt)], check=True)
    assert device_in_use(ROOT, loop) is None


def test_marker_file_makes_mounted_loop_the_boot_medium(loop: str, tmp_path: Path) -> None:
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    run(["mkfs.ext4", "-q", "-F", f"/dev/{loop}"], check=True)
    run(["mount", f"/dev/{loop}", str(mnt)], check=True)
    try:
        assert loop not in find_boot_media(ROOT)
        (mnt / ".digibench-stick").write_text("")
        assert loop in find_boot_media(ROOT)
        reason = device_in_use(ROOT, loop)
        assert reason is not None and "boot medium" in reason and ".digibench-stick" in reason
        assert _disk(loop).is_boot_medium
    finally:
        run(["umount", str(mnt)], check=True)
    assert loop not in find_boot_media(ROOT)


def test_active_swap_makes_loop_in_use(loop: str) -> None:
    run(["mkswap", f"/dev/{loop}"], check=True)
    on = run(["swapon", f"/dev/{loop}"])
    if not on.ok:
        pytest.skip(f"swapon refused here: {on.error_text.strip()}")
    try:
        reason = device_in_use(ROOT, loop)
        assert reason is not None and f"/dev/{loop} is active swap" in reason
    finally:
        run(["swapoff", f"/dev/{loop}"], check=True)
    assert device_in_use(ROOT, loop) is None


def test_root_disk_is_refused() -> None:
    root_dev = os.stat("/").st_dev
    sys_dev = Path(f"/sys/dev/block/{os.major(root_dev)}:{os.minor(root_dev)}")
    if not sys_dev.exists():
        pytest.skip("the root filesystem is not on a block device here (overlay, tmpfs, NFS)")
    root_disks = [d for d in list_disks(ROOT) if d.holds_root]
    assert len(root_disks) == 1
    disk = root_disks[0]
    assert disk.is_boot_medium and "/" in disk.mountpoints
    reason = device_in_use(ROOT, disk.name)
    assert reason is not None and "running root filesystem" in reason
    assert disk.name in sys_dev.resolve().parts


@pytest.mark.skipif(not Path("/sys/block/vda").exists(), reason="not the project's VM")
def test_vda_holds_root_on_this_vm() -> None:
    reason = device_in_use(ROOT, "vda")
    assert reason is not None and "holds the running root filesystem" in reason
    vda = _disk("vda")
    assert vda.transport == "virtio" and vda.is_virtual and not vda.internal


def test_unknown_and_bad_names() -> None:
    from agent.errors import InputError

    assert "not a block device" in (device_in_use(ROOT, "sdzz") or "")
    for bad in ("../etc", "sda/..", "", ".."):
        with pytest.raises(InputError):
            device_in_use(ROOT, bad)


def test_exclusive_open_by_another_program_makes_loop_busy(loop: str) -> None:
    """Nothing in sysfs shows an O_EXCL opener (a running wipe): the kernel check does."""
    assert device_in_use(ROOT, loop) is None
    fd = os.open(f"/dev/{loop}", os.O_RDONLY | os.O_EXCL)
    try:
        assert kernel_busy(loop) is not None
        reason = device_in_use(ROOT, loop)
        assert reason == f"{loop}: the kernel reports /dev/{loop} busy (held open exclusively)"
    finally:
        os.close(fd)
    assert kernel_busy(loop) is None
    assert device_in_use(ROOT, loop) is None


def test_recorded_copy_of_this_machine_reads_the_same(tmp_path: Path) -> None:
    """The recorder plus the probe on its output agree with the probe on the live root."""
    from .sysroot_recorder import main as record

    assert record([str(tmp_path), "--block"]) == 0
    live = {d.name: d for d in list_disks(ROOT) if not d.is_loop}
    recorded = {d.name: d for d in list_disks(tmp_path) if not d.is_loop}
    assert recorded.keys() == live.keys()
    for name, disk in live.items():
        assert recorded[name].model_dump() == disk.model_dump()
