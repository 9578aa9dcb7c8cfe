"""Exclusive, unbuffered access to one whole disk.

O_DIRECT bypasses the page cache (so a write is on its way to the disk, and a
read-back comes from the disk, not from memory), which needs buffers aligned
to the logical sector; anonymous mmap gives page-aligned ones. O_EXCL on a
block device makes the kernel refuse the open while anything (a mounted
filesystem, device-mapper, another wipe) holds it, and keeps them out after.
"""

from __future__ import annotations

import errno
import fcntl
import mmap
import os
import stat
import struct
from pathlib import Path

from agent.errors import DigibenchError

BLKGETSIZE64 = 0x80081272
BLKSSZGET = 0x1268
#: Extra bytes after each buffer: older cryptography releases want room for a block more.
_SLACK = 4096
#: errno values that mean the disk itself went away, not one bad sector.
GONE_ERRNOS = frozenset({errno.ENXIO, errno.ENODEV, errno.ENOSPC, errno.ESHUTDOWN})


class DeviceBusyError(DigibenchError):
    """The kernel refused an exclusive open: something holds the disk."""


class DiskVanishedError(DigibenchError):
    """The disk disappeared or changed size while we worked on it."""


class AlignedBuffer:
    """A page-aligned buffer for O_DIRECT I/O; ``view`` is writable."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._mm = mmap.mmap(-1, size + _SLACK)
        self.view = memoryview(self._mm)

    def bytes(self, n: int) -> bytes:
        """A copy of the first ``n`` bytes (one allocation: fast to compare)."""
        return self._mm[:n]


class BlockDevice:
    """One whole disk opened read-write, exclusively, with O_DIRECT."""

    def __init__(self, path: str, *, direct: bool = True) -> None:
        self.path = path
        self.name = Path(os.path.realpath(path)).name
        flags = os.O_RDWR | os.O_EXCL | os.O_CLOEXEC | (os.O_DIRECT if direct else 0)
        try:
            self.fd = os.open(path, flags)
        except OSError as exc:
            if exc.errno == errno.EBUSY:
                raise DeviceBusyError(
                    f"{path} is busy: the kernel refused to open it exclusively",
                    hint="something still holds it (mounted, swap, RAID/LVM or another wipe)",
                ) from exc
            raise DigibenchError(f"cannot open {path}: {exc.strerror}") from exc
        try:
            if not stat.S_ISBLK(os.fstat(self.fd).st_mode):
                raise DigibenchError(f"{path} is not a block device")
            self.size = self.current_size()
            self.sector = self._sector_size()
        except BaseException:
            os.close(self.fd)
            raise

    def current_size(self) -> int:
        buf = fcntl.ioctl(self.fd, BLKGETSIZE64, b"\0" * 8)
        return int(struct.unpack("Q", buf)[0])

    def _sector_size(self) -> int:
        buf = fcntl.ioctl(self.fd, BLKSSZGET, b"\0" * 4)
        return int(struct.unpack("i", buf)[0])

    def pwrite(self, view: memoryview, offset: int) -> None:
        """Write all of ``view`` at ``offset`` (short writes are continued)."""
        done = 0
        while done < len(view):
            n = os.pwrite(self.fd, view[done:], offset + done)
            if n <= 0:
                raise OSError(errno.EIO, "device accepted no bytes")
            done += n

    def pread(self, view: memoryview, offset: int) -> None:
        """Fill all of ``view`` from ``offset``; a short read past the end is an error."""
        done = 0
        while done < len(view):
            n = os.preadv(self.fd, [view[done:]], offset + done)
            if n <= 0:
                raise OSError(errno.ENXIO, "device returned no data (end of device)")
            done += n

    def flush(self) -> None:
        """Ask the disk to put its write cache on the medium."""
        os.fsync(self.fd)

    def vanished_reason(self) -> str | None:
        """Why this disk can no longer be trusted to be the one we opened, if so."""
        if not Path("/sys/class/block", self.name).exists():
            return f"{self.name} disappeared from the system"
        try:
            size = self.current_size()
        except OSError as exc:
            return f"{self.name} no longer answers ({exc.strerror})"
        if size != self.size:
            return f"{self.name} changed size from {self.size} to {size} bytes (disk removed?)"
        return None

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> BlockDevice:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
