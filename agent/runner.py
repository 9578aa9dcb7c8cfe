"""The one chokepoint through which the agent runs external programs.

Every tool call (smartctl, nvme, hdparm, dmidecode, ...) goes through a
:class:`Runner`, so that

* commands are argv lists, never shell strings;
* a missing tool is a clear error naming the Debian package to install;
* tests replay recorded real outputs through :class:`ReplayRunner`;
* a dry run can list what would have run (:class:`DryRunRunner`).
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from agent.errors import CommandFailedError, ToolMissingError, UnexpectedCommandError

log = logging.getLogger(__name__)

#: Which Debian package provides each tool we call, for the "not installed" hint.
TOOL_PACKAGES: Mapping[str, str] = {
    "smartctl": "smartmontools",
    "nvme": "nvme-cli",
    "hdparm": "hdparm",
    "dmidecode": "dmidecode",
    "lspci": "pciutils",
    "lsblk": "util-linux",
    "blkdiscard": "util-linux",
    "blockdev": "util-linux",
    "losetup": "util-linux",
    "partx": "util-linux",
    "sfdisk": "fdisk",
    "wipefs": "util-linux",
    "rtcwake": "util-linux",
    "sgdisk": "gdisk",
    "e2fsck": "e2fsprogs",
    "resize2fs": "e2fsprogs",
    "mount": "mount",
    "umount": "mount",
    "upower": "upower",
    "dd": "coreutils",
    "nwipe": "nwipe",
    "bmaptool": "bmap-tools",
    "zstd": "zstd",
    "xz": "xz-utils",
    "qemu-system-x86_64": "qemu-system-x86",
    "modprobe": "kmod",
    "udevadm": "udev",
    "systemctl": "systemd",
    "iw": "iw",
    "aplay": "alsa-utils",
    "arecord": "alsa-utils",
    "v4l2-ctl": "v4l-utils",
}


@dataclass(frozen=True)
class CommandResult:
    """What a finished command returned; stdout/stderr are kept as bytes."""

    argv: tuple[str, ...]
    returncode: int
    stdout: bytes = b""
    stderr: bytes = b""
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def text(self) -> str:
        return self.stdout.decode("utf-8", errors="replace")

    @property
    def error_text(self) -> str:
        return self.stderr.decode("utf-8", errors="replace")


class Runner(Protocol):
    """Runs one argv list; implementations decide how (really, replayed, dry)."""

    def run(
        self,
        argv: Sequence[str],
        *,
        check: bool = False,
        timeout: float | None = None,
        input: bytes | None = None,
    ) -> CommandResult: ...

    def which(self, tool: str) -> str | None: ...


def _missing(tool: str) -> ToolMissingError:
    package = TOOL_PACKAGES.get(tool)
    hint = f"install it with: apt-get install {package}" if package else None
    return ToolMissingError(f"required program '{tool}' is not installed", hint=hint)


def _failed(result: CommandResult) -> CommandFailedError:
    detail = result.error_text.strip().splitlines()
    last = detail[-1] if detail else "no error output"
    return CommandFailedError(
        f"'{' '.join(result.argv)}' failed with exit status {result.returncode}: {last}"
    )


class SystemRunner:
    """Runs commands for real with :mod:`subprocess` (no shell, ever)."""

    def __init__(self, *, env: Mapping[str, str] | None = None) -> None:
        self._env = dict(env) if env is not None else None

    def which(self, tool: str) -> str | None:
        # sbin is not on every PATH (e.g. a plain user shell), but our tools live there.
        return shutil.which(tool) or shutil.which(
            tool, path="/usr/local/sbin:/usr/sbin:/sbin:/usr/local/bin:/usr/bin:/bin"
        )

    def run(
        self,
        argv: Sequence[str],
        *,
        check: bool = False,
        timeout: float | None = None,
        input: bytes | None = None,
    ) -> CommandResult:
        if not argv:
            raise ValueError("empty command")
        exe = self.which(argv[0])
        if exe is None:
            raise _missing(argv[0])
        log.debug("run: %s", argv)
        start = time.monotonic()
        try:
            proc = subprocess.run(
                [exe, *argv[1:]],
                input=input,
                capture_output=True,
                timeout=timeout,
                env=self._env,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise CommandFailedError(
                f"'{' '.join(argv)}' did not finish within {timeout} s"
            ) from exc
        result = CommandResult(
            argv=tuple(argv),
            returncode=proc.returncode,
            stdout=proc.stdout,
            stderr=proc.stderr,
            duration_s=time.monotonic() - start,
        )
        if check and not result.ok:
            raise _failed(result)
        return result


@dataclass(frozen=True)
class Recording:
    """One recorded command with its real output, for replay in tests."""

    argv: tuple[str, ...]
    returncode: int = 0
    stdout: bytes = b""
    stderr: bytes = b""

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Recording:
        argv = data["argv"]
        if not isinstance(argv, list):
            raise ValueError("recording 'argv' must be a list")
        stdout = data.get("stdout", "")
        stderr = data.get("stderr", "")
        returncode = data.get("returncode", 0)
        if not isinstance(stdout, str) or not isinstance(stderr, str):
            raise ValueError("recording stdout/stderr must be strings")
        if not isinstance(returncode, int):
            raise ValueError("recording returncode must be an integer")
        return cls(
            argv=tuple(str(a) for a in argv),
            returncode=returncode,
            stdout=stdout.encode(),
            stderr=stderr.encode(),
        )


@dataclass
class ReplayRunner:
    """Serves recorded outputs instead of running anything.

    A command with no recording raises :class:`UnexpectedCommandError`, so a
    test notices when the code under test runs something it did not expect.
    Every call is kept in :attr:`calls` so tests can assert exact commands.
    """

    recordings: list[Recording] = field(default_factory=list)
    installed: set[str] | None = None
    calls: list[tuple[str, ...]] = field(default_factory=list)

    @classmethod
    def from_file(cls, path: Path) -> ReplayRunner:
        data = json.loads(path.read_text())
        return cls([Recording.from_json(item) for item in data])

    def add(
        self,
        argv: Iterable[str],
        stdout: bytes | str = b"",
        returncode: int = 0,
        stderr: bytes | str = b"",
    ) -> None:
        out = stdout.encode() if isinstance(stdout, str) else stdout
        err = stderr.encode() if isinstance(stderr, str) else stderr
        self.recordings.append(Recording(tuple(argv), returncode, out, err))

    def which(self, tool: str) -> str | None:
        if self.installed is None or tool in self.installed:
            return f"/usr/sbin/{tool}"
        return None

    def run(
        self,
        argv: Sequence[str],
        *,
        check: bool = False,
        timeout: float | None = None,
        input: bytes | None = None,
    ) -> CommandResult:
        key = tuple(argv)
        self.calls.append(key)
        if self.which(key[0]) is None:
            raise _missing(key[0])
        for rec in self.recordings:
            if rec.argv == key:
                result = CommandResult(key, rec.returncode, rec.stdout, rec.stderr)
                if check and not result.ok:
                    raise _failed(result)
                return result
        raise UnexpectedCommandError(f"no recording for command: {' '.join(key)}")


_READ_ONLY_TOOLS = frozenset({"smartctl", "lsblk", "dmidecode", "lspci", "blockdev", "upower"})
_READ_ONLY_NVME = frozenset({"list", "id-ctrl", "id-ns", "smart-log", "sanitize-log", "version"})
_READ_ONLY_HDPARM = frozenset({"-I", "-N", "--dco-identify", "-V"})


def is_read_only(argv: Sequence[str]) -> bool:
    """Whether a command only reads, so a dry run may really run it."""
    if not argv:
        return False
    tool, args = argv[0], list(argv[1:])
    if tool in _READ_ONLY_TOOLS:
        return True
    if tool == "nvme":
        return bool(args) and args[0] in _READ_ONLY_NVME
    if tool == "hdparm":
        flags = [a for a in args if a.startswith("-")]
        values = [a for a in args if not a.startswith(("-", "/"))]  # e.g. 'hdparm -N p1234'
        return bool(flags) and not values and all(f in _READ_ONLY_HDPARM for f in flags)
    return False


@dataclass
class DryRunRunner:
    """Shows what would run: read-only commands go to ``inner``, the rest are only listed."""

    inner: Runner
    planned: list[tuple[str, ...]] = field(default_factory=list)

    def which(self, tool: str) -> str | None:
        return self.inner.which(tool)

    def run(
        self,
        argv: Sequence[str],
        *,
        check: bool = False,
        timeout: float | None = None,
        input: bytes | None = None,
    ) -> CommandResult:
        if is_read_only(argv):
            return self.inner.run(argv, check=check, timeout=timeout, input=input)
        self.planned.append(tuple(argv))
        log.info("dry run, would run: %s", " ".join(argv))
        return CommandResult(tuple(argv), 0)


class Background:
    """A long-running program (a local server for the demo), stopped on exit."""

    def __init__(self, argv: Sequence[str], *, env: Mapping[str, str], log: Path) -> None:
        exe = shutil.which(argv[0]) or argv[0]
        self.argv = tuple(argv)
        self._log = log.open("ab")
        self.proc = subprocess.Popen(
            [exe, *argv[1:]], env=dict(env), stdout=self._log, stderr=subprocess.STDOUT
        )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 10) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout)
        self._log.close()
