"""The minimal standard OS image, flashed by `digibench flash` onto a larger virtual NVMe disk,
boots under QEMU with OVMF (UEFI: systemd-boot) and with SeaBIOS (legacy BIOS: SYSLINUX), and
its first boot grows root, sets the provisioned hostname, makes a fresh machine-id and the
borrower's account, whose first login on the console forces them to choose a password."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.images.qemu import BUILD, REPO, Machine, loop_device, mounted, ovmf, require, run

pytestmark = [pytest.mark.images, pytest.mark.root, pytest.mark.slow]

MANIFEST = BUILD / "os" / "digibench-debian-minimal.img.manifest.json"
EXTRA = 768 << 20  # the disk is this much larger than the image
ASSET_TAG = "DB 00123/A"
GPTMBR = Path("/usr/lib/syslinux/mbr/gptmbr.bin")
BORROWER = "gebruiker"
PASSWORD = "Zonnebloem-2024"  # what a borrower might choose at the first login

#: a test-only unit added to the flashed disk: report the first boot's facts on ttyS1,
#: before the login prompt there (the getty is ordered after it, so it must not wait for
#: multi-user.target, which waits for the getty)
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
echo "DBTEST firmware=$([ -d /sys/firmware/efi ] && echo uefi || echo bios)"
echo "DBTEST locale=$(. /etc/default/locale; echo "$LANG")"
echo "DBTEST account=$(getent passwd gebruiker | cut -d: -f1,6,7)"
echo "DBTEST groups=$(id -nG gebruiker | tr ' ' ,)"
echo "DBTEST shadow=$(getent shadow gebruiker | cut -d: -f2,3)"
journalctl -b -o cat -u digibench-growroot.service | sed 's/^/DBTEST log: /'
sed 's/^/DBTEST firstboot: /' /var/log/digibench-firstboot.log
echo "DBTEST end"
} >/dev/ttyS1 2>&1
"""
UNIT = """[Unit]
Description=Digibench image test: report on ttyS1
After=digibench-firstboot.service digibench-growroot.service systemd-logind.service
[Service]
Type=oneshot
ExecStart=/usr/local/sbin/dbtest-report
[Install]
WantedBy=multi-user.target
"""


def _prepare_guest(dev: str, tmp: Path) -> None:
    """Add the report unit and a login prompt on ttyS1 after it (on this test's disk only)."""
    with mounted(f"{dev}p2", tmp / "root") as root:
        assert (root / "etc/machine-id").read_text().strip() == "", "image carries a machine-id"
        assert (root / "etc/hostname").read_text().strip() == "db-00123-a"
        (root / "usr/local/sbin/dbtest-report").write_text(REPORT)
        (root / "usr/local/sbin/dbtest-report").chmod(0o755)
        units = root / "etc/systemd/system"
        (units / "dbtest-report.service").write_text(UNIT)
        wants = units / "multi-user.target.wants"
        wants.mkdir(parents=True, exist_ok=True)
        (wants / "dbtest-report.service").symlink_to("/etc/systemd/system/dbtest-report.service")
        (units / "serial-getty@ttyS0.service").symlink_to("/dev/null")  # ttyS0: console only
        getty = units / "getty.target.wants"
        getty.mkdir(parents=True, exist_ok=True)
        (getty / "serial-getty@ttyS1.service").symlink_to(
            "/lib/systemd/system/serial-getty@.service"
        )
        dropin = units / "serial-getty@ttyS1.service.d"
        dropin.mkdir(parents=True, exist_ok=True)
        (dropin / "after-report.conf").write_text("[Unit]\nAfter=dbtest-report.service\n")


def _console_on_serial(disk: Path, tmp: Path) -> None:
    """Kernel console on ttyS0 in both boot loaders' entries (mtools: no vfat needed here)."""
    table = json.loads(run("sfdisk", "--json", str(disk)).stdout)["partitiontable"]
    esp = f"{disk}@@{int(table['partitions'][0]['start']) * 512}"
    for entry, key in (
        ("::/loader/entries/debian.conf", "options"),
        ("::/syslinux/syslinux.cfg", "APPEND"),
    ):
        text = run("mtype", "-i", esp, entry).stdout
        assert "root=PARTUUID=" in text, text
        lines = [
            line.replace(" quiet", "") + " console=ttyS0,115200"
            if line.strip().startswith(key)
            else line
            for line in text.splitlines()
        ]
        local = tmp / Path(entry).name
        local.write_text("\n".join(lines) + "\n")
        run("mcopy", "-o", "-i", esp, str(local), entry)


def _first_login(vm: Machine) -> None:
    """The borrower's first login on the console: no password yet, so one must be chosen."""
    vm.expect(r"db-00123-a (login|gebruikersnaam): $", timeout=120)
    vm.type(f"{BORROWER}\r")
    vm.expect(r"(New password|Nieuw wachtwoord): $", timeout=60)
    vm.type(f"{PASSWORD}\r")
    vm.expect(r"(Retype new password|Nieuw wachtwoord herhalen): $", timeout=60)
    vm.type(f"{PASSWORD}\r")
    vm.expect(r"Welkom op uw laptop!", timeout=60)  # the welcome text, once
    vm.expect(rf"{BORROWER}@db-00123-a:~\$ $", timeout=60)
    vm.type("echo DBLOGIN $(id -un) $(id -nG | tr ' ' ,) sudo=$(id -nG | grep -cw sudo)\r")
    vm.expect(rf"DBLOGIN {BORROWER} \S+ sudo=0", timeout=60)
    vm.type("exit\r")
    vm.expect(r"(login|gebruikersnaam): $", timeout=60)


@pytest.mark.parametrize("firmware", ["uefi", "bios"])
def test_minimal_image_first_boot(tmp_path: Path, firmware: str) -> None:
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

    firmware_args = ovmf(tmp_path) if firmware == "uefi" else ["-machine", "pc"]  # SeaBIOS
    args = [
        *firmware_args,
        "-drive", f"file={disk},if=none,id=nvm,format=raw",
        "-device", "nvme,serial=DBTEST0001,drive=nvm",
    ]  # fmt: skip
    with Machine(args, tmp_path) as vm:
        vm.expect(r"^DBTEST end", timeout=900)
        out = vm.output
        _first_login(vm)
        vm.power_off(timeout=180)
    facts = dict(re.findall(r"^DBTEST ([a-z-]+)=(\S*)", out, re.M))

    assert facts["firmware"] == firmware, out
    assert facts["hostname"] == "db-00123-a", out
    assert re.fullmatch(r"[0-9a-f]{32}", facts["machine-id"]), out
    assert facts["growroot"] == "active" and facts["firstboot"] == "active", out
    assert int(facts["ssh-keys"]) >= 1, out
    assert facts["locale"] == "nl_BE.UTF-8", out
    # the root partition and its ext4 now reach the end of the larger disk
    disk_bytes, part_bytes = int(facts["disk-bytes"]), int(facts["part-bytes"])
    assert disk_bytes == manifest["size"] + EXTRA
    assert part_bytes > manifest["size"] - (256 << 20), "root partition did not grow"
    assert disk_bytes - part_bytes < (256 + 4) << 20, out
    assert int(facts["rootfs-bytes"]) > part_bytes * 0.9, "root filesystem did not grow"
    assert "root filesystem" in out and "-> " in out, out
    # the borrower's account: made at first boot, no password yet and expired, no sudo
    assert facts["account"] == f"{BORROWER}:/home/{BORROWER}:/bin/bash", out
    assert facts["shadow"] == ":0", out
    groups = facts["groups"].split(",")
    assert "sudo" not in groups and {"users", "audio", "video", "plugdev"} <= set(groups), out

    with loop_device(disk) as dev, mounted(f"{dev}p2", tmp_path / "after") as root:
        # the new machine-id was committed to the disk, not just made up for one boot
        assert (root / "etc/machine-id").read_text().strip() == facts["machine-id"]
        assert (root / "var/lib/digibench/growroot.done").exists()
        assert (root / "var/lib/digibench/firstboot.done").exists()
        # the password the borrower chose is stored (hashed) and no longer expired
        shadow = {
            line.split(":")[0]: line.split(":")
            for line in (root / "etc/shadow").read_text().splitlines()
        }
        assert shadow[BORROWER][1].startswith("$"), "no password was set"
        assert int(shadow[BORROWER][2]) > 0, "the password is still expired"
        assert (root / f"home/{BORROWER}/.config/digibench/welkom-gezien").exists()
    # growing the GPT at first boot kept the BIOS boot code in the protective MBR
    with disk.open("rb") as fh:
        assert fh.read(440) == GPTMBR.read_bytes()[:440], "MBR boot code was lost"
