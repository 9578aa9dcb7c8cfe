"""Write the laptop-like block-device trees under tests/fixtures/sysroots/.

These trees are CONSTRUCTED, not recorded: this VM has no NVMe, SATA or USB
disk. Paths, link targets and attribute formats follow real Linux 6.1 sysfs
(Intel PCH: NVMe at 0000:00:1d.0, AHCI at 0000:00:17.0, xHCI at 0000:00:14.0,
eMMC at 0000:00:1a.0), udev 252 database lines and live-boot's mount layout.
Drive identities (model, serial, firmware, WWN) are the real ones from the
SMART corpus (see SOURCES.md). Run ``python -m tests.probes.make_laptop_sysroots``
to rebuild them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

OUT = Path(__file__).parent.parent / "fixtures" / "sysroots"

NVME = "devices/pci0000:00/0000:00:1d.0/0000:3d:00.0/nvme/nvme0"
SATA = "devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0"
USB = "devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host2/target2:0:0/2:0:0:0"
READER = "devices/pci0000:00/0000:00:14.0/usb1/1-3/1-3:1.0/host3/target3:0:0/3:0:0:0"
MMC = "devices/pci0000:00/0000:00:1a.0/mmc_host/mmc0/mmc0:0001"


class Tree:
    def __init__(self, name: str) -> None:
        self.root = OUT / name
        shutil.rmtree(self.root, ignore_errors=True)

    def write(self, path: str, content: str) -> None:
        dst = self.root / path
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_text(content)

    def link(self, path: str, target: str) -> None:
        dst = self.root / path
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.symlink_to(target)

    def rlink(self, path: str, target: str) -> None:
        """A symlink at ``path`` to the tree path ``target``, written relative as sysfs does."""
        dst = self.root / path
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.symlink_to(os.path.relpath(self.root / target, dst.parent))

    def mkdir(self, path: str) -> None:
        (self.root / path).mkdir(parents=True, exist_ok=True)

    def block(
        self,
        name: str,
        devpath: str,
        devnum: str,
        sectors: int,
        *,
        rotational: int = 0,
        removable: int = 0,
        physical: int = 512,
        parts: dict[str, tuple[str, int, int]] | None = None,
        block_dir: bool = True,
    ) -> str:
        """A /sys/block entry; returns its directory under sys/.

        NVMe namespaces sit directly under their controller (no ``block/`` level).
        """
        rel = f"{devpath}/block/{name}" if block_dir else f"{devpath}/{name}"
        d = f"sys/{rel}"
        self.link(f"sys/block/{name}", f"../{rel}")
        self.write(f"{d}/dev", f"{devnum}\n")
        self.write(f"{d}/size", f"{sectors}\n")
        self.write(f"{d}/removable", f"{removable}\n")
        self.write(f"{d}/ro", "0\n")
        self.write(f"{d}/hidden", "0\n")
        self.write(f"{d}/queue/rotational", f"{rotational}\n")
        self.write(f"{d}/queue/logical_block_size", "512\n")
        self.write(f"{d}/queue/physical_block_size", f"{physical}\n")
        self.mkdir(f"{d}/holders")
        self.mkdir(f"{d}/slaves")
        for part, (pdev, start, size) in (parts or {}).items():
            self.write(f"{d}/{part}/partition", f"{part[-1]}\n")
            self.write(f"{d}/{part}/dev", f"{pdev}\n")
            self.write(f"{d}/{part}/start", f"{start}\n")
            self.write(f"{d}/{part}/size", f"{size}\n")
            self.mkdir(f"{d}/{part}/holders")
        return d

    def udev(self, devnum: str, lines: list[str]) -> None:
        self.write(f"run/udev/data/b{devnum}", "\n".join(lines) + "\n")


def _nvme(t: Tree) -> None:
    d = t.block(
        "nvme0n1",
        f"{NVME}",
        "259:0",
        976773168,
        block_dir=False,
        parts={
            "nvme0n1p1": ("259:1", 2048, 532480),
            "nvme0n1p2": ("259:2", 534528, 32768),
            "nvme0n1p3": ("259:3", 567296, 976203776),
        },
    )
    t.write(f"{d}/wwid", "eui.e8238fa6bf530001001b448b4a1b2f3c\n")
    t.link(f"{d}/device", "../../nvme0")
    t.write(f"sys/{NVME}/model", "WD_BLACK SN770 500GB                    \n")
    t.write(f"sys/{NVME}/serial", "22050Y803439        \n")
    t.write(f"sys/{NVME}/firmware_rev", "731030WD\n")
    t.write(f"sys/{NVME}/transport", "pcie\n")
    t.udev(
        "259:0",
        [
            "S:disk/by-id/nvme-WD_BLACK_SN770_500GB_22050Y803439",
            "S:disk/by-id/nvme-eui.e8238fa6bf530001001b448b4a1b2f3c",
            "S:disk/by-path/pci-0000:3d:00.0-nvme-1",
            "W:4",
            "I:4187425",
            "E:ID_SERIAL_SHORT=22050Y803439",
            "E:ID_WWN=eui.e8238fa6bf530001001b448b4a1b2f3c",
            "E:ID_MODEL=WD_BLACK SN770 500GB",
            "E:ID_REVISION=731030WD",
            "E:ID_SERIAL=WD_BLACK_SN770_500GB_22050Y803439",
            "E:ID_PATH=pci-0000:3d:00.0-nvme-1",
            "E:ID_PART_TABLE_UUID=9d2b1f7c-6a51-4d0e-8c7b-3f0e2a4b9c11",
            "E:ID_PART_TABLE_TYPE=gpt",
            "G:systemd",
            "Q:systemd",
            "V:1",
        ],
    )
    t.udev("259:1", ["E:ID_FS_LABEL=SYSTEM", "E:ID_FS_TYPE=vfat", "E:ID_PART_ENTRY_NUMBER=1"])
    t.udev("259:3", ["E:ID_FS_LABEL=Windows", "E:ID_FS_TYPE=ntfs", "E:ID_PART_ENTRY_NUMBER=3"])


def _sata(t: Tree) -> None:
    d = t.block(
        "sda",
        SATA,
        "8:0",
        976773168,
        parts={"sda1": ("8:1", 2048, 968384512), "sda2": ("8:2", 968386560, 8386560)},
    )
    t.link(f"{d}/device", "../../../0:0:0:0")
    t.write(f"sys/{SATA}/vendor", "ATA     \n")
    t.write(f"sys/{SATA}/model", "Samsung SSD 860 \n")
    t.write(f"sys/{SATA}/rev", "2B6Q\n")
    t.write(
        f"sys/{SATA}/wwid",
        "t10.ATA     Samsung SSD 860 EVO 500GB                   S3YZNB0KB00864E     \n",
    )
    t.udev(
        "8:0",
        [
            "S:disk/by-id/ata-Samsung_SSD_860_EVO_500GB_S3YZNB0KB00864E",
            "S:disk/by-id/wwn-0x5002538e40a22954",
            "S:disk/by-path/pci-0000:00:17.0-ata-1",
            "W:2",
            "E:ID_ATA=1",
            "E:ID_TYPE=disk",
            "E:ID_BUS=ata",
            "E:ID_MODEL=Samsung_SSD_860_EVO_500GB",
            "E:ID_MODEL_ENC=Samsung\\x20SSD\\x20860\\x20EVO\\x20500GB\\x20\\x20\\x20\\x20\\x20\\x20",
            "E:ID_REVISION=RVT02B6Q",
            "E:ID_SERIAL=Samsung_SSD_860_EVO_500GB_S3YZNB0KB00864E",
            "E:ID_SERIAL_SHORT=S3YZNB0KB00864E",
            "E:ID_ATA_WRITE_CACHE=1",
            "E:ID_ATA_FEATURE_SET_SMART=1",
            "E:ID_ATA_SATA=1",
            "E:ID_ATA_SATA_SIGNAL_RATE_GEN2=1",
            "E:ID_ATA_SATA_SIGNAL_RATE_GEN1=1",
            "E:ID_ATA_ROTATION_RATE_RPM=0",
            "E:ID_WWN=0x5002538e40a22954",
            "E:ID_WWN_WITH_EXTENSION=0x5002538e40a22954",
            "E:ID_PATH=pci-0000:00:17.0-ata-1",
            "E:ID_PART_TABLE_TYPE=dos",
            "V:1",
        ],
    )
    t.udev("8:2", ["E:ID_FS_TYPE=swap", "E:ID_PART_ENTRY_NUMBER=2"])


def _usb_stick(t: Tree) -> None:
    d = t.block(
        "sdb",
        USB,
        "8:16",
        30031872,
        rotational=1,  # USB mass storage reports rotational unless a quirk says otherwise
        removable=1,
        parts={"sdb1": ("8:17", 64, 4194304), "sdb2": ("8:18", 4194368, 25837504)},
    )
    t.link(f"{d}/device", "../../../2:0:0:0")
    t.write(f"sys/{USB}/vendor", "SanDisk \n")
    t.write(f"sys/{USB}/model", "Cruzer Blade    \n")
    t.write(f"sys/{USB}/rev", "1.00\n")
    t.udev(
        "8:16",
        [
            "S:disk/by-id/usb-SanDisk_Cruzer_Blade_4C530001230829117423-0:0",
            "S:disk/by-path/pci-0000:00:14.0-usb-0:1:1.0-scsi-0:0:0:0",
            "E:ID_VENDOR=SanDisk",
            "E:ID_VENDOR_ENC=SanDisk\\x20",
            "E:ID_VENDOR_ID=0781",
            "E:ID_MODEL=Cruzer_Blade",
            "E:ID_MODEL_ENC=Cruzer\\x20Blade\\x20\\x20\\x20\\x20",
            "E:ID_MODEL_ID=5567",
            "E:ID_REVISION=1.00",
            "E:ID_SERIAL=SanDisk_Cruzer_Blade_4C530001230829117423-0:0",
            "E:ID_SERIAL_SHORT=4C530001230829117423",
            "E:ID_TYPE=disk",
            "E:ID_INSTANCE=0:0",
            "E:ID_BUS=usb",
            "E:ID_USB_INTERFACES=:080650:",
            "E:ID_USB_INTERFACE_NUM=00",
            "E:ID_USB_DRIVER=usb-storage",
            "E:ID_PATH=pci-0000:00:14.0-usb-0:1:1.0-scsi-0:0:0:0",
            "E:ID_PART_TABLE_TYPE=dos",
        ],
    )
    t.udev(
        "8:17",
        [
            "S:disk/by-label/DIGIBENCH",
            "E:ID_FS_LABEL=DIGIBENCH",
            "E:ID_FS_LABEL_ENC=DIGIBENCH",
            "E:ID_FS_TYPE=iso9660",
            "E:ID_PART_ENTRY_NUMBER=1",
        ],
    )
    t.udev("8:18", ["E:ID_FS_LABEL=DIGIBENCH-DATA", "E:ID_FS_TYPE=ext4"])


def _squashfs_loop(t: Tree) -> None:
    d = t.block("loop0", "devices/virtual", "7:0", 1658880, rotational=0)
    t.write(f"{d}/loop/backing_file", "/run/live/medium/live/filesystem.squashfs\n")


def _zram(t: Tree) -> None:
    t.block("zram0", "devices/virtual", "252:0", 0)


LIVE_USB_MOUNTINFO = """\
20 1 0:19 / / rw,noatime - overlay overlay rw,lowerdir=/run/live/rootfs/filesystem.squashfs/,upperdir=/run/live/overlay/rw,workdir=/run/live/overlay/work
21 20 0:20 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
22 20 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
23 20 0:5 / /dev rw,nosuid,relatime shared:2 - devtmpfs udev rw,size=7964712k,nr_inodes=1991178,mode=755
25 20 0:23 / /run rw,nosuid,nodev,noexec,relatime shared:5 - tmpfs tmpfs rw,size=1599296k,mode=755
26 25 8:17 / /run/live/medium ro,noatime shared:6 - iso9660 /dev/sdb1 ro,nojoliet,check=s,map=n,blocksize=2048,iocharset=utf8
27 25 7:0 / /run/live/rootfs/filesystem.squashfs ro,noatime shared:8 - squashfs /dev/loop0 ro,errors=continue
28 25 0:24 / /run/live/overlay rw,noatime shared:9 - tmpfs tmpfs rw,size=7997864k,mode=755
44 25 8:18 / /run/digibench/data rw,nosuid,nodev,noatime shared:24 - ext4 /dev/sdb2 rw
"""  # noqa: E501


def build_live_usb() -> None:
    """Booted from the DIGIBENCH stick (live-boot): internal NVMe + SATA SSD untouched."""
    t = Tree("laptop-live-usb")
    _nvme(t)
    _sata(t)
    _usb_stick(t)
    _squashfs_loop(t)
    _zram(t)
    t.write("proc/self/mountinfo", LIVE_USB_MOUNTINFO)
    t.write(
        "proc/swaps",
        "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
        "/dev/zram0                              partition\t4194300\t\t0\t\t100\n",
    )
    t.link("dev/disk/by-label/DIGIBENCH", "../../sdb1")
    t.link("dev/disk/by-label/DIGIBENCH-DATA", "../../sdb2")


PXE_MOUNTINFO = """\
20 1 0:19 / / rw,relatime - tmpfs rootfs rw,size=8000000k
21 20 0:20 / /sys rw,nosuid,nodev,noexec,relatime - sysfs sysfs rw
22 20 0:21 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
23 20 0:5 / /dev rw,nosuid,relatime - devtmpfs udev rw,size=7964712k,nr_inodes=1991178,mode=755
25 20 0:23 / /run rw,nosuid,nodev,noexec,relatime - tmpfs tmpfs rw,size=1599296k,mode=755
51 20 254:0 / /mnt/old\\040root rw,relatime - ext4 /dev/mapper/vg0-root rw
"""


def build_pxe_lvm() -> None:
    """PXE-booted bench (root in RAM): the stick is only known by its label in the udev db;
    the laptop's LVM root is mounted through dm-0, its SATA swap is active, an eMMC
    and an empty card reader are present."""
    t = Tree("laptop-pxe-lvm")
    _nvme(t)
    _sata(t)
    # udev db only: no /dev/disk/by-label link and nothing of the stick mounted.
    _usb_stick(t)
    dm = t.block("dm-0", "devices/virtual", "254:0", 976203776)
    t.link(
        f"{dm}/slaves/nvme0n1p3", f"../../../../{NVME}/nvme0n1/nvme0n1p3".replace("devices/", "")
    )
    t.link(
        f"sys/{NVME}/nvme0n1/nvme0n1p3/holders/dm-0", "../../../../../../../../virtual/block/dm-0"
    )
    t.write(f"{dm}/dm/name", "vg0-root\n")
    t.link("dev/mapper/vg0-root", "../dm-0")
    mmc = t.block(
        "mmcblk0",
        MMC,
        "179:0",
        61071360,
        parts={"mmcblk0p1": ("179:1", 2048, 61069312)},
    )
    t.link(f"{mmc}/device", "../../../mmc0:0001")
    t.write(f"sys/{MMC}/type", "MMC\n")
    t.write(f"sys/{MMC}/name", "DA4032\n")
    t.write(f"sys/{MMC}/serial", "0x8fd4b2a1\n")
    t.write(f"sys/{MMC}/manfid", "0x000045\n")
    t.write(f"sys/{MMC}/fwrev", "0x0\n")
    t.write(f"sys/{MMC}/prv", "0x6\n")
    for extra, devnum in (("mmcblk0boot0", "179:8"), ("mmcblk0boot1", "179:16")):
        t.block(extra, MMC, devnum, 8192)
    reader = t.block("sdc", READER, "8:32", 0, removable=1)
    t.link(f"{reader}/device", "../../../3:0:0:0")
    t.write(f"sys/{READER}/vendor", "Generic-\n")
    t.write(f"sys/{READER}/model", "SD/MMC/MS PRO   \n")
    t.write("proc/self/mountinfo", PXE_MOUNTINFO)
    t.write(
        "proc/swaps",
        "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
        "/dev/sda2                               partition\t4193276\t\t0\t\t-2\n",
    )


EDID_DIR = Path(__file__).parent.parent / "fixtures" / "edid"


def edid_bytes(name: str) -> bytes:
    """The EDID blob from a linuxhw/EDID record (either of its two hex layouts)."""
    text = (EDID_DIR / name).read_text()
    if "edid-decode (hex):" in text:
        hex_part = text.split("edid-decode (hex):", 1)[1].split("----", 1)[0]
    else:
        hex_part = text.split("EDID (hex):", 1)[1].split("Extracted", 1)[0]
    return bytes.fromhex("".join(hex_part.split()))


PCI_IDS_EXCERPT = """\
#
#\tList of PCI ID's (EXCERPT of pci.ids 2023.04.10 as shipped by Debian 12's pci.ids package:
#\tonly the vendor and device lines used by the fixtures; lines copied, never changed)
#
#\tThis file can be distributed under either the GNU General Public License
#\t(version 2 or higher) or the 3-clause BSD License.
#
10de  NVIDIA Corporation
\t1d10  GP108M [GeForce MX150]
8086  Intel Corporation
\t15d7  Ethernet Connection (4) I219-LM
\t24fd  Wireless 8265 / 8275
\t5917  UHD Graphics 620
# List of known device classes, subclasses and programming interfaces
C 00  Unclassified device
"""


def _pci(t: Tree, path: str, cls: str, vendor: str, device: str, driver: str | None) -> None:
    slot = path.rsplit("/", 1)[1]
    t.rlink(f"sys/bus/pci/devices/{slot}", f"sys/devices/{path}")
    t.write(f"sys/devices/{path}/class", f"{cls}\n")
    t.write(f"sys/devices/{path}/vendor", f"{vendor}\n")
    t.write(f"sys/devices/{path}/device", f"{device}\n")
    if driver:
        t.mkdir(f"sys/bus/pci/drivers/{driver}")
        t.rlink(f"sys/devices/{path}/driver", f"sys/bus/pci/drivers/{driver}")
    t.rlink(f"sys/devices/{path}/subsystem", "sys/bus/pci")


def _net(t: Tree, name: str, devpath: str | None, mac: str, **kw: str) -> None:
    where = f"sys/devices/{devpath}/net/{name}" if devpath else f"sys/devices/virtual/net/{name}"
    t.rlink(f"sys/class/net/{name}", where)
    t.write(f"{where}/address", f"{mac}\n")
    t.write(f"{where}/type", f"{kw.get('type', '1')}\n")
    if devpath:
        t.rlink(f"{where}/device", f"sys/devices/{devpath}")
    if kw.get("wireless"):
        t.mkdir(f"{where}/wireless")
        t.mkdir(f"sys/devices/{devpath}/ieee80211/phy0")
        t.rlink(f"{where}/phy80211", f"sys/devices/{devpath}/ieee80211/phy0")


def _connector(t: Tree, card: str, gpu: str, name: str, status: str, edid: bytes) -> None:
    where = f"sys/devices/{gpu}/drm/{card}/{card}-{name}"
    t.rlink(f"sys/class/drm/{card}-{name}", where)
    t.write(f"{where}/status", f"{status}\n")
    t.write(f"{where}/enabled", "enabled\n" if status == "connected" else "disabled\n")
    dst = t.root / where / "edid"
    dst.write_bytes(edid)


def build_laptop_devices() -> None:
    """GPUs, network adapters and screens of an Intel+NVIDIA (Optimus) laptop with a dock."""
    t = Tree("laptop-devices")
    igpu = "pci0000:00/0000:00:02.0"
    dgpu = "pci0000:00/0000:00:1c.0/0000:01:00.0"
    _pci(t, igpu, "0x030000", "0x8086", "0x5917", "i915")
    _pci(t, dgpu, "0x030200", "0x10de", "0x1d10", "nouveau")
    _pci(t, "pci0000:00/0000:00:1f.6", "0x020000", "0x8086", "0x15d7", "e1000e")
    _pci(t, "pci0000:00/0000:00:1c.2/0000:02:00.0", "0x028000", "0x8086", "0x24fd", "iwlwifi")
    t.write("usr/share/misc/pci.ids", PCI_IDS_EXCERPT)

    _net(t, "lo", None, "00:00:00:00:00:00", type="772")
    _net(t, "enp0s31f6", "pci0000:00/0000:00:1f.6", "54:e1:ad:3c:9a:10")
    _net(t, "wlp2s0", "pci0000:00/0000:00:1c.2/0000:02:00.0", "f8:34:41:5c:0e:7b", wireless="1")
    usb_if = "pci0000:00/0000:00:14.0/usb2/2-2/2-2:1.0"
    _net(t, "enx00e04c680a1b", usb_if, "00:e0:4c:68:0a:1b")
    t.mkdir("sys/bus/usb/drivers/r8152")
    t.rlink(f"sys/devices/{usb_if}/driver", "sys/bus/usb/drivers/r8152")
    t.rlink(f"sys/devices/{usb_if}/subsystem", "sys/bus/usb")
    _net(t, "docker0", None, "02:42:9c:1e:44:21")

    t.rlink("sys/class/drm/card0", f"sys/devices/{igpu}/drm/card0")
    t.rlink("sys/class/drm/card1", f"sys/devices/{dgpu}/drm/card1")
    t.rlink("sys/class/drm/renderD128", f"sys/devices/{igpu}/drm/renderD128")
    t.write("sys/class/drm/version", "drm 1.1.0 20060810\n")
    _connector(t, "card0", igpu, "eDP-1", "connected", edid_bytes("boe0868_laptop_panel_edp.txt"))
    dell = edid_bytes("dell_u2415_hdmi_with_cta_extension.EXCERPT.txt")
    _connector(t, "card0", igpu, "HDMI-A-1", "connected", dell)
    _connector(t, "card0", igpu, "DP-1", "disconnected", b"")
    _connector(t, "card0", igpu, "DP-2", "disconnected", b"")


def prune_empty_dirs(root: Path) -> None:
    """git keeps no empty directories, so the trees are tested without them."""
    for dirpath, _dirs, _files in sorted(os.walk(root), reverse=True):
        path = Path(dirpath)
        if path != root and not path.is_symlink() and not any(path.iterdir()):
            path.rmdir()


if __name__ == "__main__":
    build_live_usb()
    build_pxe_lvm()
    build_laptop_devices()
    for name in ("laptop-live-usb", "laptop-pxe-lvm", "laptop-devices"):
        prune_empty_dirs(OUT / name)
