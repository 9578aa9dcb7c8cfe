"""Provision the flashed system for this laptop from the ``provisioning/`` templates.

The root partition (found in the image's own partition table) is mounted,
edited, and unmounted in a ``finally``: a failure never leaves a mount behind.
The image's filesystem is untrusted, so nothing is written through a symlink.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

from agent.errors import CommandFailedError, InputError
from agent.flash.fit import filesystem_type, partition_device, read_table, refresh_partitions
from agent.runner import Runner

log = logging.getLogger(__name__)

#: ``provisioning/`` of the checkout; ``agent/flash/provisioning`` links to it so that the
#: wheel (the live image installs the agent from one) carries the same files as package data.
TEMPLATES = Path(__file__).resolve().parent / "provisioning"
_HOSTNAME_BAD = re.compile(r"[^a-z0-9-]+")


@dataclass(frozen=True)
class Settings:
    locale: str
    keyboard: str
    keymap: str
    timezone: str
    default_hostname: str
    empty: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()
    enable: tuple[tuple[str, str], ...] = ()


@dataclass
class ProvisionResult:
    hostname: str
    root_partition: str
    changed: list[str] = field(default_factory=list)


def load_settings(templates: Path = TEMPLATES) -> Settings:
    path = templates / "provision.toml"
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"cannot read provisioning settings {path}: {exc}") from None
    try:
        return Settings(
            locale=str(data["locale"]),
            keyboard=str(data["keyboard"]),
            keymap=str(data["keymap"]),
            timezone=str(data["timezone"]),
            default_hostname=hostname_for(str(data["default_hostname"])),
            empty=tuple(str(p) for p in data.get("empty", [])),
            remove=tuple(str(p) for p in data.get("remove", [])),
            enable=tuple((str(u), str(t)) for u, t in data.get("enable", [])),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"provisioning settings {path} are incomplete: {exc}") from None


def hostname_for(asset_tag: str) -> str:
    """A valid hostname (RFC 1123 label) from an asset tag: ``DB 00123/A`` -> ``db-00123-a``."""
    name = _HOSTNAME_BAD.sub("-", asset_tag.strip().lower()).strip("-")[:63].strip("-")
    if not name:
        raise InputError(f"asset tag {asset_tag!r} gives no usable hostname")
    return name


# --------------------------------------------------------------------------- safe file access


def _inside(root: Path, rel: str, *, create: bool = True) -> Path | None:
    """``root/rel`` after checking that no directory on the way is a symlink.

    Missing directories are made (``create``) or give None.
    """
    parts = Path(rel).parts
    if not parts or Path(rel).is_absolute() or ".." in parts:
        raise InputError(f"provisioning path {rel!r} must be relative, without '..'")
    path = root
    for part in parts[:-1]:
        path = path / part
        try:
            st = path.lstat()
        except FileNotFoundError:
            if not create:
                return None
            path.mkdir(mode=0o755)
            continue
        if not stat.S_ISDIR(st.st_mode):
            raise InputError(f"/{path.relative_to(root)} in the image is not a directory")
    return path / parts[-1]


def _target(root: Path, rel: str) -> Path:
    path = _inside(root, rel)
    assert path is not None
    return path


def _write(root: Path, rel: str, data: bytes, mode: int = 0o644) -> None:
    path = _target(root, rel)
    if path.is_symlink() or path.exists():
        path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    try:
        os.write(fd, data)
        os.fchmod(fd, mode)
    finally:
        os.close(fd)


def _symlink(root: Path, rel: str, target: str) -> None:
    path = _target(root, rel)
    if path.is_symlink() or path.exists():
        path.unlink()
    path.symlink_to(target)


def apply(root: Path, hostname: str, settings: Settings, templates: Path = TEMPLATES) -> list[str]:
    """Write the provisioning into the mounted root filesystem at ``root``; list what changed."""
    values = {
        "hostname": hostname,
        "locale": settings.locale,
        "keyboard": settings.keyboard,
        "keymap": settings.keymap,
        "timezone": settings.timezone,
    }
    changed: list[str] = []
    files = templates / "files"
    for src in sorted(p for p in files.rglob("*") if p.is_file()):
        rel = str(src.relative_to(files))
        data = src.read_bytes()
        if rel.endswith(".in"):
            rel = rel[:-3]
            try:
                data = Template(data.decode()).substitute(values).encode()
            except (KeyError, ValueError) as exc:
                raise InputError(f"provisioning template {src} is broken: {exc}") from None
        _write(root, rel, data, stat.S_IMODE(src.stat().st_mode))
        changed.append(rel)

    _symlink(root, "etc/localtime", f"/usr/share/zoneinfo/{settings.timezone}")
    changed.append("etc/localtime")
    gen = _target(root, "etc/locale.gen")
    if gen.is_file() and not gen.is_symlink():
        lines = gen.read_text().splitlines()
        wanted = f"{settings.locale} {settings.locale.rsplit('.', 1)[-1]}"
        out = [wanted if line.lstrip("# ").strip() == wanted else line for line in lines]
        if wanted not in out:
            out.append(wanted)
        _write(root, "etc/locale.gen", ("\n".join(out) + "\n").encode())
        changed.append("etc/locale.gen")

    for rel in settings.empty:
        _write(root, rel, b"", 0o444)
        changed.append(rel)
    for pattern in settings.remove:
        if _inside(root, pattern, create=False) is None:
            continue  # a directory on the way is missing: nothing to remove
        for path in sorted(root.glob(pattern)):
            if path.is_symlink() or path.is_file():
                path.unlink()
                changed.append(str(path.relative_to(root)))
    for unit, target in settings.enable:
        link = f"etc/systemd/system/{target}.wants/{unit}"
        _symlink(root, link, f"/etc/systemd/system/{unit}")
        changed.append(link)
    return changed


# --------------------------------------------------------------------------- mount and run


def provision_device(
    runner: Runner,
    device: str,
    hostname: str | None,
    *,
    templates: Path = TEMPLATES,
    sys_root: Path = Path("/"),
) -> ProvisionResult:
    """Mount the flashed root partition of ``device``, provision it, and always unmount."""
    settings = load_settings(templates)
    name = hostname or settings.default_hostname
    table = read_table(runner, device)
    root_part = table.root()
    if root_part is None:
        raise InputError(f"the image on {device} has no Linux root partition to provision")
    refresh_partitions(runner, device, max(p.number for p in table.partitions))
    node = partition_device(device, root_part.number, sys_root=sys_root)
    fstype = filesystem_type(runner, node)
    if fstype is None:
        raise InputError(f"{node} holds no filesystem that can be recognised")
    mountpoint = Path(tempfile.mkdtemp(prefix="digibench-provision-"))
    mounted = False
    try:
        runner.run(
            ["mount", "-t", fstype, "-o", "nodev,nosuid,noexec", node, str(mountpoint)],
            check=True,
        )
        mounted = True
        changed = apply(mountpoint, name, settings, templates)
        return ProvisionResult(hostname=name, root_partition=node, changed=changed)
    finally:
        if mounted:
            _unmount(runner, mountpoint)
        try:
            mountpoint.rmdir()
        except OSError as exc:
            log.warning("could not remove %s: %s", mountpoint, exc)


def _unmount(runner: Runner, mountpoint: Path) -> None:
    result = runner.run(["umount", str(mountpoint)])
    if result.ok:
        return
    lazy = runner.run(["umount", "--lazy", str(mountpoint)])
    if not lazy.ok:
        raise CommandFailedError(
            f"could not unmount {mountpoint}: {result.error_text.strip()}",
            hint=f"unmount it by hand: umount {mountpoint}",
        )
    log.warning("%s was busy; it was detached lazily", mountpoint)
