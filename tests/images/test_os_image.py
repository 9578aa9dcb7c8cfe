"""The minimal standard OS image, flashed by `digibench flash` onto a larger virtual NVMe disk,
boots under QEMU with OVMF and its first boot grows root, sets the provisioned hostname
and makes a fresh machine-id (read from the guest's second serial port)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.images.qemu import BUILD, REPO, boot, loop_device, mounted, ovmf, require, run, tail

pytestmark = [pytest.mark.images, pytest.mark.root, pytest.mark.slow]

MANIFEST = BUILD / "os" / "digibench-debian-minimal.img.manifest.json"
EXTRA = 768 << 20  # the disk is this much larger than the image
ASSET_TAG = "DB 00123/A"

#: a test-only unit added to the flashed disk: report on ttyS1, then power off
REPORT = """#!/bin/sh
root="$(findmnt -no SOURCE /)"
disk="/dev/$(lsblk -no PKNAME "$root" | head -n1)"
{
echo "DBTEST hostname=$(hostname)"
echo "DBTEST machine-id=$(cat /etc/machine-id)"
echo "DBTEST root=$root"
echo "DBTEST rootfs-bytes=$(df -B1 --output=size / | tail -n1 | tr -d ' ')"
echo "DBTEST disk=$disk"
echo "DBTEST disk-bytes=$(blockdev --getsize64 "$disk")"
echo "DBTEST part-bytes=$(blockdev --getsize64 "$root")"
echo "DBTEST ssh-keys=$(ls /etc/ssh/ssh_host_*_key.pub 2>/dev/null | wc -l)"
echo "DBTEST growroot=$(systemctl is-active digibench-growroot.service)"
echo "DBTEST firstboot=$(systemctl is-active digibench-firstboot.service)"
journalctl -b -o cat -u digibench-growroot.service | sed 's/^/DBTEST log: /'
echo "DBTEST end"
} >/dev/ttyS1 2>&1
systemctl poweroff
"""
UNIT = """[Unit]
Description=Digibench image test: report on ttyS1 and power off
After=multi-user.target digibench-firstboot.service digibench-growroot.service
[Service]
Type=oneshot
ExecStart=/usr/local/sbin/dbtest-report
[Install]
WantedBy=multi-user.target
"""


def _prepare_guest(dev: str, tmp: Path) -> None:
    """Add the report unit and mask the ttyS0 getty (on this test's disk only)."""
    with mounted(f"{dev}p2", tmp / "root") as root:
        assert (root / "etc/machine-id").read_text().strip() == "", "image carries a machine-id"
        assert (root / "etc/hostname").read_text().strip() == "db-00123-a"
        (root / "usr/local/sbin/dbtest-report").write_text(REPORT)
        (root / "usr/local/sbin/dbtest-report").chmod(0o755)
        (root / "etc/systemd/system/dbtest-report.service").write_text(UNIT)
        wants = root / "etc/systemd/system/multi-user.target.wants"
        wants.mkdir(parents=True, exist_ok=True)
        (wants / "dbtest-report.service").symlink_to("/etc/systemd/system/dbtest-report.service")
        (root / "etc/systemd/system/serial-getty@ttyS0.service").symlink_to("/dev/null")


def _console_on_serial(disk: Path, tmp: Path) -> None:
    """Put the kernel console on ttyS0 in the ESP's boot entry (mtools: no vfat needed here)."""
    table = json.loads(run("sfdisk", "--json", str(disk)).stdout)["partitiontable"]
    esp = f"{disk}@@{int(table['partitions'][0]['start']) * 512}"
    entry = "::/loader/entries/debian.conf"
    text = run("mtype", "-i", esp, entry).stdout
    assert "root=PARTUUID=" in text, text
    local = tmp / "debian.conf"
    local.write_text(text.replace(" quiet", "").rstrip("\n") + " console=ttyS0,115200\n")
    run("mcopy", "-o", "-i", esp, str(local), entry)


def test_minimal_image_first_boot(tmp_path: Path) -> None:
    require(MANIFEST, "os-image")
    manifest = json.loads(MANIFEST.read_text())
    disk = tmp_path / "nvme.raw"
    with disk.open("wb") as fh:
        fh.truncate(manifest["size"] + EXTRA)
    with loop_device(disk) as dev:
        flashed = run(
            str(REPO / ".venv/bin/digibench"), "flash", str(MANIFEST), dev, "--yes", "--quiet",
            "--no-fit",  # leave the growing to the image's own first boot
            "--asset-tag", ASSET_TAG, "--stamp-dir", str(tmp_path / "stamps"),
            timeout=900,
        )  # fmt: skip
        assert json.loads(flashed.stdout)["verified"] is True
        run("partx", "-u", dev, check=False)
        run("partx", "-a", dev, check=False)
        _prepare_guest(dev, tmp_path)
    _console_on_serial(disk, tmp_path)

    serial0, serial1 = tmp_path / "ttyS0.log", tmp_path / "ttyS1.log"
    args = [
        *ovmf(tmp_path),
        "-drive", f"file={disk},if=none,id=nvm,format=raw",
        "-device", "nvme,serial=DBTEST0001,drive=nvm",
    ]  # fmt: skip
    out = boot(args, serial0, serial1, timeout=900)
    assert "DBTEST end" in out, f"no report on ttyS1; console:\n{tail(serial0)}"
    facts = dict(re.findall(r"^DBTEST ([a-z-]+)=(\S*)", out, re.M))

    assert facts["hostname"] == "db-00123-a", out
    assert re.fullmatch(r"[0-9a-f]{32}", facts["machine-id"]), out
    assert facts["growroot"] == "active" and facts["firstboot"] == "active", out
    assert int(facts["ssh-keys"]) >= 1, out
    # the root partition and its ext4 now reach the end of the larger disk
    disk_bytes, part_bytes = int(facts["disk-bytes"]), int(facts["part-bytes"])
    assert disk_bytes == manifest["size"] + EXTRA
    assert part_bytes > manifest["size"] - (256 << 20), "root partition did not grow"
    assert disk_bytes - part_bytes < (256 + 4) << 20, out
    assert int(facts["rootfs-bytes"]) > part_bytes * 0.9, "root filesystem did not grow"
    assert "root filesystem" in out and "-> " in out, out

    # the new machine-id was committed to the disk, not just made up for one boot
    with loop_device(disk) as dev, mounted(f"{dev}p2", tmp_path / "after") as root:
        assert (root / "etc/machine-id").read_text().strip() == facts["machine-id"]
        assert (root / "var/lib/digibench/growroot.done").exists()
        assert (root / "var/lib/digibench/firstboot.done").exists()
