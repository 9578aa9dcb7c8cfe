"""block probe on recorded (vm-virtio-loop) and constructed laptop trees."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from agent.errors import InputError
from agent.probes.block import (
    device_in_use,
    disk_serial,
    find_boot_media,
    list_disks,
    partitions,
    read_mounts,
    read_udev_db,
)
from agent.report.schema import Disk, MediaType

from .conftest import SYSROOTS

VM = SYSROOTS / "vm-virtio-loop"
LIVE = SYSROOTS / "laptop-live-usb"
PXE = SYSROOTS / "laptop-pxe-lvm"


def _by_name(root: Path) -> dict[str, Disk]:
    return {d.name: d for d in list_disks(root)}


# --------------------------------------------------------------------------- this VM, recorded


def test_vm_tree_lists_vda_and_the_attached_loop_only() -> None:
    disks = _by_name(VM)
    # loop1..7 were detached (size 0) and zram0 is swap in RAM: none of them are disks.
    assert sorted(disks) == ["loop0", "vda"]


def test_vm_tree_vda_is_virtual_root_disk() -> None:
    vda = _by_name(VM)["vda"]
    assert vda.path == "/dev/vda"
    assert vda.transport == "virtio" and vda.media_type is MediaType.VIRTUAL
    assert vda.is_virtual and not vda.is_loop and not vda.internal
    assert vda.size_bytes == 536870912 * 512
    assert (vda.logical_sector_size, vda.physical_sector_size) == (512, 4096)
    assert vda.serial == "1996641731262353"
    assert vda.holds_root and vda.is_boot_medium
    assert vda.mountpoints == ["/"]
    assert device_in_use(VM, "vda") == "vda: mounted at /; it holds the running root filesystem"


def test_vm_tree_loop_partition_mount_counts_for_the_loop() -> None:
    loop = _by_name(VM)["loop0"]
    assert loop.is_loop and loop.transport == "loop" and loop.size_bytes == 32 << 20
    assert loop.mountpoints == ["/tmp/rec-mnt"]
    assert partitions(VM, "loop0") == ["loop0p1"]
    assert device_in_use(VM, "loop0") == "loop0: mounted at /tmp/rec-mnt"
    assert find_boot_media(VM) == {"vda"}


# ------------------------------------------------------------------ laptop booted from the stick


def test_live_usb_identities_come_from_sysfs_and_udev() -> None:
    disks = _by_name(LIVE)
    assert sorted(disks) == ["loop0", "nvme0n1", "sda", "sdb"]
    nvme = disks["nvme0n1"]
    assert (nvme.model, nvme.serial, nvme.firmware) == (
        "WD_BLACK SN770 500GB",
        "22050Y803439",
        "731030WD",
    )
    assert nvme.wwn == "eui.e8238fa6bf530001001b448b4a1b2f3c"
    assert nvme.transport == "nvme" and nvme.media_type is MediaType.NVME
    assert nvme.size_bytes == 500107862016
    assert "/dev/disk/by-id/nvme-WD_BLACK_SN770_500GB_22050Y803439" in nvme.by_id
    sda = disks["sda"]
    # sysfs (SCSI INQUIRY) says "Samsung SSD 860" / "2B6Q"; udev's ATA IDENTIFY has it all.
    assert sda.model == "Samsung SSD 860 EVO 500GB"
    assert sda.firmware == "RVT02B6Q"
    assert sda.serial == "S3YZNB0KB00864E"
    assert sda.vendor is None  # libata's placeholder vendor "ATA" is dropped
    assert sda.wwn == "0x5002538e40a22954"
    assert sda.transport == "sata" and sda.media_type is MediaType.SSD
    stick = disks["sdb"]
    assert (stick.vendor, stick.model, stick.serial) == (
        "SanDisk",
        "Cruzer Blade",
        "4C530001230829117423",
    )
    assert stick.transport == "usb" and stick.media_type is MediaType.USB
    assert stick.removable and not stick.internal


@pytest.mark.parametrize("root", [VM, LIVE, PXE], ids=lambda p: p.name)
def test_the_serial_alone_is_the_one_the_disk_list_gives(root: Path) -> None:
    """A flash records (and matches against the wipe's record) the serial from
    disk_serial, without listing every disk: it must be the list's to the letter."""
    disks = _by_name(root)
    assert any(d.serial for d in disks.values())
    for name, disk in disks.items():
        assert disk_serial(root, name) == disk.serial
    with pytest.raises(InputError):
        disk_serial(root, "../sda")


def test_live_usb_internal_disks_are_free_and_the_stick_is_not() -> None:
    disks = _by_name(LIVE)
    for name in ("nvme0n1", "sda"):
        assert disks[name].internal and not disks[name].is_virtual
        assert disks[name].in_use_reason is None
        assert device_in_use(LIVE, name) is None
    assert find_boot_media(LIVE) == {"sdb"}
    reason = device_in_use(LIVE, "sdb")
    assert reason is not None
    assert "/run/live/medium" in reason and "/run/digibench/data" in reason
    assert "boot medium" in reason
    # the overlay root is on no disk at all
    assert not any(d.holds_root for d in disks.values())


def test_live_usb_squashfs_loop_is_in_use() -> None:
    loop = _by_name(LIVE)["loop0"]
    assert loop.is_loop and loop.mountpoints == ["/run/live/rootfs/filesystem.squashfs"]
    assert device_in_use(LIVE, "loop0") == "loop0: mounted at /run/live/rootfs/filesystem.squashfs"


# ------------------------------------------------------------------ PXE bench, LVM, swap, eMMC


def test_pxe_stick_found_by_udev_label_alone() -> None:
    assert not (PXE / "dev/disk/by-label").exists()
    assert find_boot_media(PXE) == {"sdb"}
    assert device_in_use(PXE, "sdb") == (
        "sdb: it is the Digibench boot medium (sdb1 carries the DIGIBENCH label)"
    )


def test_pxe_lvm_mount_and_holder_are_reasons() -> None:
    reason = device_in_use(PXE, "nvme0n1")
    assert reason == (
        "nvme0n1: mounted at /mnt/old root; nvme0n1p3 is held by dm-0 (device-mapper, RAID or LVM)"
    )


def test_pxe_swap_partition_is_a_reason() -> None:
    assert device_in_use(PXE, "sda") == "sda: /dev/sda2 is active swap"


def test_pxe_emmc_kept_boot_partitions_and_empty_reader_skipped() -> None:
    disks = _by_name(PXE)
    assert sorted(disks) == ["mmcblk0", "nvme0n1", "sda", "sdb"]  # no dm-0, boot0/1, empty sdc
    emmc = disks["mmcblk0"]
    assert emmc.transport == "mmc" and emmc.media_type is MediaType.EMMC and emmc.internal
    assert emmc.model == "DA4032" and emmc.serial == "0x8fd4b2a1"
    assert device_in_use(PXE, "mmcblk0") is None


def test_label_found_through_dev_disk_by_label_without_udev(tmp_path: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(LIVE, root, symlinks=True)
    shutil.rmtree(root / "run")
    # Without udev data and without the live mounts, only /dev/disk/by-label is left.
    (root / "proc/self/mountinfo").write_text("20 1 0:19 / / rw - tmpfs rootfs rw\n")
    assert find_boot_media(root) == {"sdb"}
    (root / "dev/disk/by-label/DIGIBENCH").unlink()
    assert find_boot_media(root) == set()


def test_boot_medium_never_guessed_from_kernel_name(tmp_path: Path) -> None:
    """A stick named sda with no label, mount or marker is just a disk."""
    root = tmp_path / "root"
    shutil.copytree(PXE, root, symlinks=True)
    (root / "run/udev/data/b8:17").unlink()
    assert find_boot_media(root) == set()
    assert device_in_use(root, "sdb") is None


# --------------------------------------------------------------------------- odd and missing input


def test_empty_root_gives_no_disks_and_refuses_unknown(tmp_path: Path) -> None:
    assert list_disks(tmp_path) == []
    assert find_boot_media(tmp_path) == set()
    assert (
        device_in_use(tmp_path, "sda")
        == "sda is not a block device on this machine (no /sys/block/sda)"
    )


def test_partition_is_refused(tmp_path: Path) -> None:
    assert (
        device_in_use(LIVE, "nvme0n1p1") == "nvme0n1p1 is a partition of nvme0n1, not a whole disk"
    )


@pytest.mark.parametrize("bad", ["", "..", "../sda", "sda/../vda", "sd a", "sda\n"])
def test_malformed_names_raise_input_error(bad: str) -> None:
    with pytest.raises(InputError):
        device_in_use(LIVE, bad)


def test_garbage_attributes_become_none(tmp_path: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(LIVE, root, symlinks=True)
    nvme = root / "sys/block/nvme0n1"
    (nvme / "queue/rotational").write_text("maybe\n")
    (nvme / "queue/logical_block_size").write_bytes(b"\xff\xfe")
    (nvme / "size").write_text("")
    (nvme / "device/model").unlink()
    (root / "run/udev/data/b259:0").write_bytes(b"garbage without colon\nE:NOEQUALS\n\x00\x01")
    (root / "proc/self/mountinfo").write_text("short line\n\n1 2 3\n")
    disk = _by_name(root)["nvme0n1"]  # a fixed disk reporting no size is kept: it is a finding
    assert disk.rotational is None and disk.logical_sector_size is None
    assert disk.size_bytes == 0 and disk.model is None
    assert disk.serial == "22050Y803439"  # still read from sysfs
    assert read_mounts(root) == []


def test_udev_db_parser_reads_properties_and_links() -> None:
    db = read_udev_db(LIVE, "8:17")
    assert db["ID_FS_LABEL"] == ["DIGIBENCH"]
    assert db["S"] == ["disk/by-label/DIGIBENCH"]
    assert read_udev_db(LIVE, "9:9") == {}


def test_mountinfo_unescapes_octal() -> None:
    mounts = {m.mountpoint: m for m in read_mounts(PXE)}
    assert mounts["/mnt/old root"].source == "/dev/mapper/vg0-root"
    assert mounts["/mnt/old root"].devnum == "254:0"


def test_hostile_lengths_stay_within_schema_bounds(tmp_path: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(LIVE, root, symlinks=True)
    (root / "run/udev/data/b8:0").write_text(
        "E:ID_BUS=ata\nE:ID_MODEL_ENC=" + "M" * 1000 + "\nE:ID_SERIAL_SHORT=" + "9" * 999 + "\n"
    )
    long_dir = "/mnt/" + "d" * 300
    with (root / "proc/self/mountinfo").open("a") as fh:
        fh.write(f"60 20 8:1 / {long_dir} rw - ext4 /dev/sda1 rw\n")
    sda = _by_name(root)["sda"]
    assert sda.model == "M" * 256 and sda.serial == "9" * 256
    assert sda.mountpoints == [long_dir[:256]]
    assert device_in_use(root, "sda") == f"sda: mounted at {long_dir}"  # the refusal keeps it all


def test_sata_serial_from_vpd_page_without_udev(tmp_path: Path) -> None:
    """Without the udev db the SCSI unit serial page (VPD 0x80) still names the drive."""
    root = tmp_path / "root"
    shutil.copytree(LIVE, root, symlinks=True)
    shutil.rmtree(root / "run")
    serial = b"S3YZNB0KB00864E     "
    (root / "sys/block/sda/device/vpd_pg80").write_bytes(
        bytes([0x00, 0x80, 0x00, len(serial)]) + serial
    )
    sda = _by_name(root)["sda"]
    assert sda.serial == "S3YZNB0KB00864E"
    assert sda.model == "Samsung SSD 860"  # only the 16-character INQUIRY model is left
    assert sda.firmware == "2B6Q"
    assert _by_name(root)["nvme0n1"].serial == "22050Y803439"


def test_dracut_live_medium_mount_marks_the_boot_disk(tmp_path: Path) -> None:
    """dracut's dmsquash-live mounts the medium at /run/initramfs/live (no label needed)."""
    root = tmp_path / "root"
    shutil.copytree(PXE, root, symlinks=True)
    (root / "run/udev/data/b8:17").unlink()  # no DIGIBENCH label to go by
    assert find_boot_media(root) == set()
    with (root / "proc/self/mountinfo").open("a") as fh:
        fh.write("70 25 8:17 / /run/initramfs/live ro - iso9660 /dev/sdb1 ro\n")
    assert find_boot_media(root) == {"sdb"}
    reason = device_in_use(root, "sdb")
    assert reason is not None and "live medium mounted at /run/initramfs/live" in reason
