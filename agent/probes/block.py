"""Block devices: which disks the laptop has, and which of them must never be wiped.

Reads sysfs and the udev database files (``/run/udev/data/b<major>:<minor>``)
directly, as libudev does, rather than through pyudev: the live stick may run
without udevd and tests need to read recorded trees. A disk is identified by
its model/serial/WWN, never by its kernel name (``sda`` changes between boots).

Safety rule for :func:`device_in_use`: a disk is refused when anything on it is
mounted, is active swap, is held by device-mapper/md/LVM, carries the running
root filesystem, is the Digibench boot medium, or (live machine) the kernel
refuses an exclusive open. When in doubt it says "in use".
"""

from __future__ import annotations

import errno
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from agent.errors import InputError
from agent.probes.sysfs import (
    link_target,
    list_dir,
    read_bytes,
    read_flag,
    read_text,
    read_uint,
    under,
)
from agent.report.vocabulary import INT64_MAX

if TYPE_CHECKING:  # imported when disks are listed: a flash's safety check needs no pydantic
    from agent.report.schema import Disk, MediaType

ROOT = Path("/")

#: Label of the Digibench stick's partitions; the boot medium is found by it.
BOOT_LABEL = "DIGIBENCH"
#: Marker file at the top of a Digibench stick partition.
BOOT_MARKER = ".digibench-stick"
#: Where live systems mount the medium they booted from.
LIVE_MEDIUM_MOUNTS = ("/run/live/medium", "/run/initramfs/live", "/lib/live/mount/medium")

#: Kernel names that are never disks to inspect or wipe (RAM disks, compressed
#: swap in RAM, mappings over other disks, optical drives, floppies).
_SKIP_PREFIXES = ("ram", "zram", "dm-", "md", "sr", "fd", "nbd")
#: eMMC hardware boot partitions and RPMB show up as extra block devices.
_MMC_EXTRA = re.compile(r"^mmcblk\d+(boot\d+|rpmb)$")
_NAME_RE = re.compile(r"[A-Za-z0-9_.:!+-]+")

_VIRTUAL_MARKERS = ("qemu", "vbox", "virtual", "vmware", "msft", "xen", "bochs", "parallels")


# --------------------------------------------------------------------------- udev db


def read_udev_db(root: Path, devnum: str) -> dict[str, list[str]]:
    """One device's udev database entry: ``E:`` properties and ``S:`` symlinks.

    Returns ``{"KEY": [value]}`` for properties and ``{"S": [links...]}`` for
    symlinks; empty when udev has no record (udevd not running, recorded tree).
    """
    text = read_text(under(root, f"/run/udev/data/b{devnum}"))
    entry: dict[str, list[str]] = {}
    if text is None:
        return entry
    for line in text.splitlines():
        kind, sep, rest = line.partition(":")
        if not sep:
            continue
        if kind == "E":
            key, eq, value = rest.partition("=")
            if eq:
                entry[key] = [value]
        elif kind == "S":
            entry.setdefault("S", []).append(rest)
    return entry


def _prop(db: dict[str, list[str]], key: str) -> str | None:
    values = db.get(key)
    if not values:
        return None
    return values[0].strip() or None


# --------------------------------------------------------------------------- mounts


@dataclass(frozen=True)
class Mount:
    devnum: str  # major:minor as the kernel reports it (0:NN for btrfs, overlay...)
    mountpoint: str
    fstype: str
    source: str


def _unescape(field_: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as octal ``\\NNN``."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field_)


def read_mounts(root: Path) -> list[Mount]:
    """Mounts from ``/proc/self/mountinfo``; malformed lines are skipped."""
    text = read_text(under(root, "/proc/self/mountinfo")) or ""
    mounts = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if not sep or len(fields) < 5 or len(tail) < 2:
            continue
        mounts.append(Mount(fields[2], _unescape(fields[4]), tail[0], _unescape(tail[1])))
    return mounts


def read_swaps(root: Path) -> list[str]:
    """Active swap areas (device or file paths) from ``/proc/swaps``."""
    text = read_text(under(root, "/proc/swaps")) or ""
    return [_unescape(line.split()[0]) for line in text.splitlines()[1:] if line.split()]


# --------------------------------------------------------------------------- sysfs index


@dataclass
class _Node:
    """One entry of /sys/block (a disk or dm/md device) or one of its partitions."""

    name: str
    disk: str  # the /sys/block entry this belongs to
    devnum: str | None
    path: Path
    is_partition: bool
    slaves: list[str] = field(default_factory=list)
    holders: list[str] = field(default_factory=list)


class _BlockIndex:
    """Every block device and partition of a root, by kernel name and by major:minor."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.sys_block = under(root, "/sys/block")
        self.nodes: dict[str, _Node] = {}
        self.by_devnum: dict[str, _Node] = {}
        for disk in list_dir(self.sys_block):
            base = self.sys_block / disk
            self._add(_Node(disk, disk, read_text(base / "dev"), base, False))
            for part in self.partitions(disk):
                self._add(_Node(part, disk, read_text(base / part / "dev"), base / part, True))

    def _add(self, node: _Node) -> None:
        node.slaves = list_dir(node.path / "slaves")
        node.holders = list_dir(node.path / "holders")
        self.nodes[node.name] = node
        if node.devnum:
            self.by_devnum[node.devnum] = node

    def partitions(self, disk: str) -> list[str]:
        base = self.sys_block / disk
        return [
            entry
            for entry in list_dir(base)
            if entry.startswith(disk) and (base / entry / "partition").exists()
        ]

    def base_disks(self, name: str, _depth: int = 0) -> set[str]:
        """The whole disks under a device, following dm/md slaves down."""
        node = self.nodes.get(name)
        if node is None or _depth > 16:
            return set()
        disks: set[str] = set()
        own = self.nodes.get(node.disk)
        slaves = node.slaves or (own.slaves if own is not None else [])
        if not slaves:
            return {node.disk}
        for slave in slaves:
            disks |= self.base_disks(slave, _depth + 1)
        return disks

    def node_for_path(self, dev_path: str) -> _Node | None:
        """The node a ``/dev/...`` path names (``/dev/sda1``, ``/dev/mapper/x`` via its link)."""
        if not dev_path.startswith("/dev/"):
            return None
        name = dev_path.removeprefix("/dev/")
        if name in self.nodes:
            return self.nodes[name]
        target = link_target(under(self.root, dev_path))
        if target:
            return self.nodes.get(Path(target).name)
        return None

    def node_for_mount(self, mount: Mount) -> _Node | None:
        node = self.by_devnum.get(mount.devnum)
        return node if node is not None else self.node_for_path(mount.source)


# --------------------------------------------------------------------------- boot medium


def _disks_of_mount(index: _BlockIndex, mounts: list[Mount], mountpoint: str) -> set[str]:
    disks: set[str] = set()
    for mount in mounts:
        if mount.mountpoint == mountpoint:
            node = index.node_for_mount(mount)
            if node is not None:
                disks |= index.base_disks(node.name)
    return disks


def _root_disks(index: _BlockIndex, mounts: list[Mount]) -> set[str]:
    """The disks the running root filesystem lives on (through dm/md when stacked)."""
    return _disks_of_mount(index, mounts, "/")


def _find_boot_media(index: _BlockIndex, mounts: list[Mount]) -> dict[str, str]:
    root = index.root
    found: dict[str, str] = {}
    for disk in sorted(_root_disks(index, mounts)):
        found.setdefault(disk, "it holds the running root filesystem")
    for live in LIVE_MEDIUM_MOUNTS:
        for disk in sorted(_disks_of_mount(index, mounts, live)):
            found.setdefault(disk, f"it is the live medium mounted at {live}")
    # A partition (or a whole-disk filesystem, as on a hybrid ISO) labelled DIGIBENCH.
    for node in index.nodes.values():
        if node.devnum and _prop(read_udev_db(root, node.devnum), "ID_FS_LABEL") == BOOT_LABEL:
            for disk in index.base_disks(node.name):
                found.setdefault(disk, f"{node.name} carries the {BOOT_LABEL} label")
    label_link = under(root, f"/dev/disk/by-label/{BOOT_LABEL}")
    target = link_target(label_link)
    if target:
        labelled = index.nodes.get(Path(target).name)
        if labelled is not None:
            for disk in index.base_disks(labelled.name):
                found.setdefault(disk, f"{labelled.name} carries the {BOOT_LABEL} label")
    for mount in mounts:
        mounted = index.node_for_mount(mount)
        if mounted is not None and _is_file(under(root, mount.mountpoint) / BOOT_MARKER):
            for disk in index.base_disks(mounted.name):
                found.setdefault(disk, f"{mount.mountpoint} holds the {BOOT_MARKER} marker")
    return found


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:
        return False


def find_boot_media(root: Path = ROOT) -> set[str]:
    """Kernel names of the disks Digibench booted from (never guessed from ``sdX``)."""
    index = _BlockIndex(root)
    return set(_find_boot_media(index, read_mounts(root)))


# --------------------------------------------------------------------------- in use


def _check_name(name: str) -> None:
    if not name or not _NAME_RE.fullmatch(name) or name in (".", ".."):
        raise InputError(f"'{name}' is not a kernel block device name (like sda or nvme0n1)")


@dataclass
class _Context:
    """What one probe run knows about the machine, read once and shared by all disks."""

    index: _BlockIndex
    mounts: list[Mount]
    swaps: list[str]
    boot: dict[str, str]
    root_disks: set[str]

    @classmethod
    def read(cls, root: Path) -> _Context:
        index = _BlockIndex(root)
        mounts = read_mounts(root)
        return cls(
            index=index,
            mounts=mounts,
            swaps=read_swaps(root),
            boot=_find_boot_media(index, mounts),
            root_disks=_root_disks(index, mounts),
        )


@dataclass
class _Usage:
    reasons: list[str]
    mountpoints: list[str]
    holds_root: bool
    is_boot: bool


def _usage(ctx: _Context, disk: str) -> _Usage:
    """Everything that holds one whole disk, with the words for each."""
    index = ctx.index
    names = {disk, *index.partitions(disk)}
    reasons: list[str] = []
    # Mounts and swap on the disk, its partitions, or a dm/md device stacked on them.
    mountpoints = sorted(
        {
            mount.mountpoint
            for mount in ctx.mounts
            if (node := index.node_for_mount(mount)) is not None
            and disk in index.base_disks(node.name)
        }
    )
    if mountpoints:
        reasons.append("mounted at " + ", ".join(mountpoints))
    for swap in ctx.swaps:
        node = index.node_for_path(swap)
        if node is not None and disk in index.base_disks(node.name):
            reasons.append(f"{swap} is active swap")
    for name in sorted(names):
        node = index.nodes.get(name)
        if node is not None and node.holders:
            held_by = ", ".join(node.holders)
            reasons.append(f"{name} is held by {held_by} (device-mapper, RAID or LVM)")
    holds_root = disk in ctx.root_disks
    if holds_root:
        reasons.append("it holds the running root filesystem")
    is_boot = disk in ctx.boot
    if is_boot and not holds_root:
        reasons.append(f"it is the Digibench boot medium ({ctx.boot[disk]})")
    return _Usage(reasons, mountpoints, holds_root, is_boot)


def device_in_use(root: Path, name: str) -> str | None:
    """Why disk ``name`` must not be wiped, in plain words; None when nothing holds it.

    An unknown name or a partition is refused too: only whole disks that this
    machine shows are candidates for a wipe. On the live machine the kernel is
    asked as well (:func:`kernel_busy`), which catches holders sysfs does not
    list (ZFS, bcache, another wipe already running).
    """
    _check_name(name)
    ctx = _Context.read(root)
    node = ctx.index.nodes.get(name)
    if node is None:
        return f"{name} is not a block device on this machine (no /sys/block/{name})"
    if node.is_partition:
        return f"{name} is a partition of {node.disk}, not a whole disk"
    reasons = _usage(ctx, name).reasons
    if not reasons and os.path.realpath(root) == "/":
        for part in [name, *ctx.index.partitions(name)]:
            busy = kernel_busy(part)
            if busy:
                reasons.append(busy)
    if not reasons:
        return None
    return f"{name}: " + "; ".join(reasons)


def kernel_busy(name: str) -> str | None:
    """Whether the kernel refuses an exclusive open of ``/dev/NAME`` (live machine only).

    Mounts, swap, device-mapper, md, btrfs, ZFS and any program that opened the
    device with O_EXCL (as wipe and flash tools do) all hold it exclusively, so
    EBUSY is the kernel's own "in use". The open is read-only and closed at once.
    """
    _check_name(name)
    try:
        fd = os.open(f"/dev/{name}", os.O_RDONLY | os.O_EXCL | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.EBUSY:
            return f"the kernel reports /dev/{name} busy (held open exclusively)"
        return None  # no node (e.g. a recorded name), no media, no permission: sysfs decided
    os.close(fd)
    return None


# --------------------------------------------------------------------------- disks


def _transport(dev_path: str, name: str, db: dict[str, list[str]]) -> str | None:
    """The bus a disk hangs off, from its sysfs device path (udev ID_BUS as fallback)."""
    parts = dev_path.split("/")
    if name.startswith("loop"):
        return "loop"
    if "nvme" in parts or name.startswith("nvme"):
        return "nvme"
    if any(re.fullmatch(r"usb\d+", p) for p in parts):
        return "usb"
    if "mmc_host" in parts or name.startswith("mmcblk"):
        return "mmc"
    if any(p.startswith("virtio") for p in parts):
        return "virtio"
    if any(re.fullmatch(r"ata\d+", p) for p in parts):
        # libata drives are SATA unless udev says this one is parallel ATA.
        if _prop(db, "ID_BUS") == "ata" and _prop(db, "ID_ATA_SATA") is None and db.get("ID_ATA"):
            return "ata"
        return "sata"
    if "virtual" in parts:
        return "virtual"
    if any(re.fullmatch(r"host\d+", p) for p in parts):
        return "scsi"
    bus = _prop(db, "ID_BUS")
    return bus.lower() if bus else None


def _clean(value: str | None) -> str | None:
    """Drop padding and placeholder vendors (libata reports vendor 'ATA')."""
    if value is None:
        return None
    value = " ".join(value.split())[:256]  # the report's ShortStr bound
    return value or None


def _hex_or_none(value: str | None) -> str | None:
    return value if value and value.lower() not in ("0x0", "0x00") else None


def _by_id_links(root: Path, name: str, db: dict[str, list[str]]) -> list[str]:
    links = {"/dev/" + link for link in db.get("S", []) if link.startswith("disk/by-id/")}
    by_id = under(root, "/dev/disk/by-id")
    for entry in list_dir(by_id):
        target = link_target(by_id / entry)
        if target and Path(target).name == name:
            links.add(f"/dev/disk/by-id/{entry}")
    return [link[:256] for link in sorted(links)[:32]]


def _identity(base: Path, transport: str | None, db: dict[str, list[str]]) -> dict[str, str | None]:
    """model/vendor/serial/firmware/wwn from sysfs first, the udev db second."""
    dev = base / "device"
    ident: dict[str, str | None] = {}
    if transport == "nvme":
        ident["model"] = _clean(read_text(dev / "model"))
        ident["serial"] = _clean(read_text(dev / "serial"))
        ident["firmware"] = _clean(read_text(dev / "firmware_rev"))
        ident["wwn"] = _clean(read_text(base / "wwid")) or _clean(read_text(dev / "wwid"))
        ident["vendor"] = None
    elif transport == "mmc":
        ident["model"] = _clean(read_text(dev / "name"))
        ident["serial"] = _hex_or_none(_clean(read_text(dev / "serial")))
        ident["firmware"] = _clean(read_text(dev / "fwrev")) or _clean(read_text(dev / "prv"))
        ident["vendor"] = _hex_or_none(_clean(read_text(dev / "manfid")))
        ident["wwn"] = None
    elif transport == "virtio":
        ident["serial"] = _clean(read_text(base / "serial"))
        ident["model"] = ident["vendor"] = ident["firmware"] = ident["wwn"] = None
    else:
        vendor = _clean(read_text(dev / "vendor"))
        ident["vendor"] = None if vendor == "ATA" else vendor
        ident["model"] = _clean(read_text(dev / "model"))
        ident["firmware"] = _clean(read_text(dev / "rev"))
        ident["serial"] = _vpd_serial(read_bytes(dev / "vpd_pg80"))
        wwid = _clean(read_text(dev / "wwid"))
        ident["wwn"] = wwid if wwid and wwid.startswith(("naa.", "eui.")) else None
    model = _decode_udev(_prop(db, "ID_MODEL_ENC")) or _prop(db, "ID_MODEL")
    vendor = _decode_udev(_prop(db, "ID_VENDOR_ENC")) or _prop(db, "ID_VENDOR")
    udev = {
        "model": _clean(model),
        "vendor": None if vendor in (None, "ATA") else _clean(vendor),
        "serial": _clean(_prop(db, "ID_SERIAL_SHORT")),
        "firmware": _clean(_prop(db, "ID_REVISION")),
        "wwn": _clean(_prop(db, "ID_WWN_WITH_EXTENSION") or _prop(db, "ID_WWN")),
    }
    # SCSI INQUIRY (what sysfs shows for sd*) cuts the model to 16 and the firmware
    # to 4 characters; udev's ata_id reads the full ATA IDENTIFY strings.
    udev_first = _prop(db, "ID_BUS") == "ata"
    for key, value in udev.items():
        if value and (udev_first or not ident.get(key)):
            ident[key] = value
    return ident


def _vpd_serial(page: bytes | None) -> str | None:
    """The unit serial number from a SCSI VPD page 0x80 (root-readable sysfs attribute)."""
    if not page or len(page) < 4 or page[1] != 0x80:
        return None
    length = int.from_bytes(page[2:4], "big")
    return _clean(page[4 : 4 + length].decode("ascii", errors="replace"))


def _decode_udev(value: str | None) -> str | None:
    """udev's ``*_ENC`` values escape bytes as ``\\xNN``."""
    if not value:
        return None
    decoded = re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), value)
    return _clean(decoded)


def _media_type(transport: str | None, rotational: bool | None, base: Path) -> MediaType:
    from agent.report.schema import MediaType

    if transport == "nvme":
        return MediaType.NVME
    if transport == "usb":
        return MediaType.USB
    if transport in ("loop", "virtio", "virtual"):
        return MediaType.VIRTUAL
    if transport == "mmc":
        mmc_type = read_text(base / "device" / "type")
        return MediaType.EMMC if mmc_type == "MMC" else MediaType.UNKNOWN
    if rotational is True:
        return MediaType.HDD
    if rotational is False:
        return MediaType.SSD
    return MediaType.UNKNOWN


def _is_virtual(transport: str | None, name: str, ident: dict[str, str | None]) -> bool:
    if transport in ("loop", "virtio", "virtual") or name.startswith("xvd"):
        return True
    text = f"{ident.get('vendor') or ''} {ident.get('model') or ''}".lower()
    return any(marker in text for marker in _VIRTUAL_MARKERS)


def _wanted(name: str, base: Path, size: int | None) -> bool:
    if name.startswith(_SKIP_PREFIXES) or _MMC_EXTRA.match(name):
        return False
    if read_flag(base / "hidden") is True:  # NVMe multipath per-path namespaces
        return False
    if not size:
        # Detached loops and empty card readers have no medium. A fixed disk that
        # reports 0 sectors is kept: a dead disk is a finding, not noise.
        if name.startswith("loop") or read_flag(base / "removable") is True:
            return False
        if not (base / "device").exists():
            return False
    return True


def _device_path(root: Path, base: Path) -> str:
    """The disk's sysfs device path relative to the root, e.g. ``sys/devices/pci.../block/sda``."""
    real = os.path.realpath(base)
    root_real = os.path.realpath(root)
    return os.path.relpath(real, root_real) if real.startswith(root_real) else real


def _described(
    root: Path, base: Path, name: str
) -> tuple[dict[str, list[str]], str | None, dict[str, str | None]]:
    """A disk's udev record, transport and identity (model, serial, ...)."""
    devnum = read_text(base / "dev")
    db = read_udev_db(root, devnum) if devnum else {}
    transport = _transport(_device_path(root, base), name, db)
    return db, transport, _identity(base, transport, db)


def disk_serial(root: Path, name: str) -> str | None:
    """The serial number :func:`list_disks` gives the disk ``name``, without listing them all."""
    _check_name(name)
    return _described(root, under(root, "/sys/block") / name, name)[2].get("serial")


def _disk(ctx: _Context, name: str) -> Disk | None:
    from agent.report.schema import Disk, MediaType

    root = ctx.index.root
    base = ctx.index.sys_block / name
    size_sectors = read_uint(base / "size")
    if size_sectors is not None and size_sectors > INT64_MAX // 512:
        size_sectors = None  # not a real disk size
    if not _wanted(name, base, size_sectors):
        return None
    db, transport, ident = _described(root, base, name)
    rotational = read_flag(base / "queue" / "rotational")
    removable = read_flag(base / "removable") is True
    is_loop = transport == "loop"
    is_virtual = _is_virtual(transport, name, ident)
    usage = _usage(ctx, name)
    media = _media_type(transport, rotational, base)
    return Disk(
        name=name,
        path=f"/dev/{name}",
        by_id=_by_id_links(root, name, db),
        model=ident.get("model"),
        vendor=ident.get("vendor"),
        serial=ident.get("serial"),
        wwn=ident.get("wwn"),
        firmware=ident.get("firmware"),
        size_bytes=(size_sectors or 0) * 512,  # sysfs counts 512-byte units whatever the LBA size
        transport=transport,
        media_type=media,
        rotational=rotational,
        logical_sector_size=read_uint(base / "queue" / "logical_block_size"),
        physical_sector_size=read_uint(base / "queue" / "physical_block_size"),
        removable=removable,
        read_only=read_flag(base / "ro") is True,
        is_loop=is_loop,
        is_virtual=is_virtual,
        is_boot_medium=usage.is_boot,
        holds_root=usage.holds_root,
        mountpoints=[m[:256] for m in usage.mountpoints[:64]],
        in_use_reason="; ".join(usage.reasons)[:4096] if usage.reasons else None,
        internal=not (removable or transport in ("usb", "loop") or is_virtual)
        and not (transport == "mmc" and media is not MediaType.EMMC),
    )


def list_disks(root: Path = ROOT) -> list[Disk]:
    """Every whole disk of the machine (attached loops included), with its safety flags."""
    ctx = _Context.read(root)
    disks = []
    for name in list_dir(ctx.index.sys_block):
        disk = _disk(ctx, name)
        if disk is not None:
            disks.append(disk)
    return disks


def partitions(root: Path, name: str) -> list[str]:
    """Kernel names of a disk's partitions (e.g. ``loop0p1``), as sysfs lists them."""
    _check_name(name)
    return _BlockIndex(root).partitions(name)
