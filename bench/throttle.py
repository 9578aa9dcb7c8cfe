"""Hold loop devices to a disk's rate, so a benchmark shows the disk as the limit, not the CPU.

On a RAM-backed loop device every byte is a CPU copy: on two cores the figures
measure the CPU. The kernel's block throttle (cgroup v2 ``io.max``, or v1
``blkio.throttle``) caps reads and writes of named devices for the processes in
a cgroup, as a real disk slower than the CPU does. Shared by bench/wipe.py,
bench/laptop.py and bench/flash.py.
"""

from __future__ import annotations

import os
from pathlib import Path


class Throttle:
    """Hold block devices to a fixed byte rate for this process and its children.

    A cgroup of our own with per-device read and write limits (v2 ``io.max``, else
    v1 ``blkio.throttle.*_bps_device``); entering moves this process (all its
    threads) into it, leaving moves it back and removes the cgroup.
    """

    V2 = Path("/sys/fs/cgroup")
    V1 = Path("/sys/fs/cgroup/blkio")

    def __init__(self, devices: list[str], bps: int) -> None:
        self.devices = [_majmin(d) for d in devices]
        self.bps = bps
        self.group: Path | None = None
        self.home: Path | None = None

    @classmethod
    def _v2(cls) -> bool:
        ctl = cls.V2 / "cgroup.controllers"
        return ctl.exists() and "io" in ctl.read_text().split()

    @classmethod
    def available(cls) -> str | None:
        """Why throttling cannot work here, or None."""
        if cls._v2() or (cls.V1 / "blkio.throttle.write_bps_device").exists():
            return None
        return "no cgroup io (v2) or blkio (v1) controller"

    def __enter__(self) -> Throttle:
        name = f"digibench-bench-{os.getpid()}"
        try:
            if self._v2():
                (self.V2 / "cgroup.subtree_control").write_text("+io")
                self.home = self.V2 / _own_cgroup("")
                self.group = self.V2 / name
                self.group.mkdir()
                for mm in self.devices:
                    (self.group / "io.max").write_text(f"{mm} rbps={self.bps} wbps={self.bps}")
            else:
                self.home = self.V1 / _own_cgroup("blkio")
                self.group = self.V1 / name
                self.group.mkdir()
                for mm in self.devices:
                    for way in ("read", "write"):
                        limit = self.group / f"blkio.throttle.{way}_bps_device"
                        limit.write_text(f"{mm} {self.bps}")
            (self.group / "cgroup.procs").write_text(str(os.getpid()))
        except BaseException:
            self.__exit__()  # no cgroup of ours left behind
            raise
        return self

    def __exit__(self, *_: object) -> None:
        try:
            if self.home is not None:
                (self.home / "cgroup.procs").write_text(str(os.getpid()))
        finally:
            if self.group is not None and self.group.exists():
                self.group.rmdir()


def _majmin(dev: str) -> str:
    st = os.stat(dev)
    return f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"


def _own_cgroup(controller: str) -> str:
    """This process's cgroup path (relative) for ``controller`` ("" for v2's)."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _id, names, path = line.split(":", 2)
        if controller in names.split(","):  # v2's line is "0::/path": names ""
            return path.lstrip("/")
    return ""
