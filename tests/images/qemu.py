"""Helpers for the image boot tests: loop devices, mounts and QEMU (software emulation only).

Only files these tests create are attached, written and mounted; everything is
detached in ``finally``. Never ``-enable-kvm``: /dev/kvm hangs on the build machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("DIGIBENCH_BUILD", REPO / "build"))
OVMF_CODE = Path("/usr/share/OVMF/OVMF_CODE_4M.fd")
OVMF_VARS = Path("/usr/share/OVMF/OVMF_VARS_4M.fd")
QEMU = "qemu-system-x86_64"


def run(*cmd: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=timeout)


def require(path: Path, what: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root (loop devices, mounts)")
    if shutil.which(QEMU) is None:
        pytest.skip(f"{QEMU} is not installed (apt-get install qemu-system-x86)")
    if not path.exists():
        pytest.skip(f"{what} is not built ({path}); run make {what}")


@contextmanager
def loop_device(backing: Path) -> Iterator[str]:
    """Attach ``backing`` (a file this test made) with its partitions; always detach."""
    dev = run("losetup", "--find", "--show", str(backing)).stdout.strip()
    try:
        run("partx", "-a", dev, check=False)  # the host kernel parses no tables by itself
        yield dev
    finally:
        run("partx", "-d", dev, check=False)
        run("losetup", "-d", dev, check=False)


@contextmanager
def mounted(device: str, where: Path) -> Iterator[Path]:
    where.mkdir(parents=True, exist_ok=True)
    run("mount", device, str(where))
    try:
        yield where
    finally:
        if run("umount", str(where), check=False).returncode != 0:
            run("umount", "--lazy", str(where), check=False)


def boot(
    args: list[str], serial0: Path, serial1: Path | None, timeout: float, until: str | None = None
) -> str:
    """Run QEMU headless until it powers off (or ``until`` shows on serial 1); return serial 1.

    Serial 0 carries the kernel/systemd console (kept for diagnosis), serial 1 the results.
    """
    cmd = [QEMU, "-nodefaults", "-display", "none", "-no-reboot", "-m", "2048", "-smp", "2"]
    cmd += ["-serial", f"file:{serial0}"]
    if serial1 is not None:
        cmd += ["-serial", f"file:{serial1}"]
    cmd += args
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            seen = serial1.read_text(errors="replace") if serial1 and serial1.exists() else ""
            if until and until in seen:
                break
            time.sleep(2)
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
    if proc.returncode not in (0, -15) and "terminating on signal" not in out:
        raise AssertionError(f"qemu failed ({proc.returncode}): {out}")
    return serial1.read_text(errors="replace") if serial1 and serial1.exists() else ""


def tail(path: Path, lines: int = 60) -> str:
    if not path.exists():
        return f"({path} is missing)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def ovmf(tmp: Path) -> list[str]:
    if not OVMF_CODE.exists():
        pytest.skip("OVMF is not installed (apt-get install ovmf)")
    vars_copy = tmp / "OVMF_VARS.fd"
    shutil.copyfile(OVMF_VARS, vars_copy)
    return [
        "-machine", "q35",
        "-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}",
        "-drive", f"if=pflash,format=raw,unit=1,file={vars_copy}",
    ]  # fmt: skip
