"""Helpers for the image boot tests: loop devices, mounts and QEMU (software emulation only).

Only files these tests create are attached, written and mounted; everything is
detached in ``finally``. Never ``-enable-kvm``: /dev/kvm hangs on the build machine.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import threading
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


def require_devices(*names: str, audio: str = "none") -> None:
    """QEMU's emulated devices (``-device help``) and audio backend a boot proof uses; a
    missing one fails it with the fix (tests/conftest.py)."""
    devices = run(QEMU, "-device", "help", check=False).stdout
    missing = [n for n in names if f'name "{n}"' not in devices]
    if missing:
        pytest.skip(f"{QEMU} lacks the devices {missing} (scripts/setup-debian.sh images)")
    backends = run(QEMU, "-audiodev", "help", check=False).stdout.split()
    if audio not in backends:
        pytest.skip(f"{QEMU} lacks the audio backend {audio!r} (scripts/setup-debian.sh images)")


def run(*cmd: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=timeout)


def require(path: Path, what: str) -> None:
    """What every boot proof needs; a miss fails it with the fix (tests/conftest.py)."""
    if os.geteuid() != 0:
        pytest.skip("needs root (loop devices, mounts)")
    if shutil.which(QEMU) is None:
        pytest.skip(f"{QEMU} is not installed (scripts/setup-debian.sh images)")
    if not OVMF_CODE.exists():
        pytest.skip(f"OVMF is not installed ({OVMF_CODE}; scripts/setup-debian.sh images)")
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
        pytest.skip("OVMF is not installed (scripts/setup-debian.sh images)")
    vars_copy = tmp / "OVMF_VARS.fd"
    shutil.copyfile(OVMF_VARS, vars_copy)
    return [
        "-machine", "q35",
        "-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}",
        "-drive", f"if=pflash,format=raw,unit=1,file={vars_copy}",
    ]  # fmt: skip


class Machine:
    """A QEMU the test talks to: serial 1 on a unix socket (read and typed into) and the
    monitor on another (keys, screen dumps, the ACPI power button). Serial 0 goes to a file.

    Use as a context manager: QEMU is always stopped at the end.
    """

    def __init__(self, args: list[str], tmp: Path, *, serial1: bool = True, memory: int = 2048):
        self.tmp = tmp
        self.serial0 = tmp / "ttyS0.log"
        self.serial1_log = tmp / "ttyS1.log"
        self._mon = tmp / "mon.sock"
        self._ser = tmp / "ser1.sock"
        cmd = [QEMU, "-nodefaults", "-display", "none", "-no-reboot", "-m", str(memory)]
        cmd += ["-smp", "2", "-serial", f"file:{self.serial0}"]
        if serial1:
            cmd += ["-chardev", f"socket,id=ser1,path={self._ser},server=on,wait=on"]
            cmd += ["-serial", "chardev:ser1"]
        cmd += ["-monitor", f"unix:{self._mon},server=on,wait=off", *args]
        self._buf = b""
        self._lock = threading.Lock()
        self._pos = 0
        self._sock: socket.socket | None = None
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if serial1:
            self._sock = self._connect(self._ser)
            threading.Thread(target=self._read, daemon=True).start()

    def _connect(self, path: Path) -> socket.socket:
        deadline = time.monotonic() + 30
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(str(path))
                return sock
            except OSError:
                sock.close()
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"qemu did not start: {self._qemu_output()}") from None
                time.sleep(0.2)

    def _read(self) -> None:
        assert self._sock is not None
        with self.serial1_log.open("ab") as log:
            while True:
                try:
                    data = self._sock.recv(4096)
                except OSError:
                    return
                if not data:
                    return
                log.write(data)
                log.flush()
                with self._lock:
                    self._buf += data

    def _qemu_output(self) -> str:
        if self.proc.poll() is None or self.proc.stdout is None:
            return ""
        return self.proc.stdout.read().decode(errors="replace")

    @property
    def output(self) -> str:
        """Everything serial 1 said so far."""
        with self._lock:
            return self._buf.decode(errors="replace")

    def expect(self, pattern: str, timeout: float) -> re.Match[str]:
        """Wait for ``pattern`` on serial 1 after the previous match; fail with the context."""
        regex = re.compile(pattern, re.M)
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                text = self._buf.decode(errors="replace")
            found = regex.search(text, self._pos)
            if found:
                self._pos = found.end()
                return found
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    f"serial 1 never showed {pattern!r}; it ends with:\n{text[-3000:]}\n"
                    f"console (ttyS0):\n{tail(self.serial0)}"
                )
            time.sleep(0.5)

    def console_expect(self, pattern: str, timeout: float) -> re.Match[str]:
        """Wait for ``pattern`` on serial 0 (the kernel console, a file)."""
        regex = re.compile(pattern, re.M)
        deadline = time.monotonic() + timeout
        while True:
            text = self.serial0.read_text(errors="replace") if self.serial0.exists() else ""
            found = regex.search(text)
            if found:
                return found
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    f"the console never showed {pattern!r}:\n{tail(self.serial0, 120)}"
                )
            time.sleep(1)

    def screendump(self, path: Path) -> Path:
        """The guest's screen as a PPM image (kept by the test as an artifact)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.monitor(f"screendump {path}")
        return path

    def screen(self, path: Path) -> bytes:
        """Dump the screen to ``path``; its pixels (RGB bytes)."""
        data = self.screendump(path).read_bytes()
        magic, width, height, _depth = data.split(maxsplit=4)[:4]
        assert magic == b"P6", f"{path} is not a PPM screen dump"
        return data[len(data) - int(width) * int(height) * 3 :]

    def type(self, text: str) -> None:
        """Type on serial 1 (a line at a time, as a person would)."""
        assert self._sock is not None
        self._sock.sendall(text.encode())

    def monitor(self, command: str) -> str:
        """One QEMU monitor command; its answer."""
        with self._connect(self._mon) as sock:
            sock.settimeout(30)
            got = b""
            while not got.endswith(b"(qemu) "):
                got += sock.recv(4096)
            sock.sendall(command.encode() + b"\n")
            answer = b""
            while not answer.endswith(b"(qemu) "):
                chunk = sock.recv(4096)
                if not chunk:
                    break
                answer += chunk
        return answer.decode(errors="replace")

    def plug_usb_stick(self, name: str, backing: Path, bus: str, port: int) -> None:
        """Hot-plug a USB stick (``backing``: a file the test made, read-only) into ``port``."""
        drive = f"{name}-drive"
        answer = self.monitor(
            f"drive_add 0 if=none,id={drive},format=raw,readonly=on,file={backing}"
        )
        assert "OK" in answer, f"drive_add failed: {answer}"
        answer = self.monitor(
            f"device_add usb-storage,id={name},bus={bus},port={port},drive={drive},removable=on"
        )
        assert "rror" not in answer, f"device_add failed: {answer}"

    def unplug_usb_stick(self, name: str, timeout: float = 60) -> None:
        """Pull a hot-plugged stick out and wait until QEMU no longer lists it."""
        self.monitor(f"device_del {name}")
        deadline = time.monotonic() + timeout
        while f"ID: {name}" in self.monitor("info usb"):
            assert time.monotonic() < deadline, f"the stick {name} was not unplugged"
            time.sleep(1)

    def keys(self, *names: str) -> None:
        """Press keys on the guest's keyboard (QEMU key names: ``ret``, ``shift-t``, ``f2``)."""
        for name in names:
            self.monitor(f"sendkey {name}")
            time.sleep(0.3)

    def power_off(self, timeout: float) -> None:
        """Press the ACPI power button and wait for the guest to shut down cleanly."""
        self.monitor("system_powerdown")
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"the guest did not power off within {timeout} s; console:\n{tail(self.serial0)}"
            ) from None

    def __enter__(self) -> Machine:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._sock is not None:
            self._sock.close()


def lit(pixels: bytes) -> float:
    """The share of a screen's pixels that are not black."""
    on = sum(1 for i in range(0, len(pixels), 3) if pixels[i] | pixels[i + 1] | pixels[i + 2])
    return on / (len(pixels) // 3)


def changed(before: bytes, after: bytes) -> float:
    """The share of pixels that differ between two screens (1.0 if their sizes differ)."""
    if len(before) != len(after):
        return 1.0
    diff = sum(1 for i in range(0, len(after), 3) if before[i : i + 3] != after[i : i + 3])
    return diff / (len(after) // 3)
