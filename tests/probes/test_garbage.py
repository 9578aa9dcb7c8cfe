"""Every probe survives garbage in every file it reads: nothing raises, results stay valid,
and what cannot be read becomes unknown (None) instead of a made-up value."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from agent.probes.block import device_in_use, find_boot_media, list_disks
from agent.probes.cpu import probe_cpu
from agent.probes.display import probe_displays
from agent.probes.dmi import probe_dmi
from agent.probes.gpu import probe_gpus
from agent.probes.memory import probe_memory
from agent.probes.network import probe_network
from agent.report.schema import Components, DeviceIdentity

from .conftest import SYSROOTS

TREES = [
    "laptop-live-usb",
    "laptop-pxe-lvm",
    "laptop-devices",
    "dmi-thinkpad-a485",
    "vm-virtio-loop",
]

SAMPLES = [
    b"",
    b"\x00\x00\x00",
    b"\xff\xfe\xfd" * 50,
    b"-1\n",
    b"99999999999999999999999999\n",
    b"0x\n",
    b"\n\n\n",
    b"E:\nS:\n:::\n - - \n",
    "ünïcödé ✓\n".encode(),
    b"x" * 5000,
]


def _scramble(root: Path, rng: random.Random) -> None:
    for path in sorted(root.rglob("*")):
        if path.is_symlink():
            if rng.random() < 0.3:  # a self-loop or a dangling link
                path.unlink()
                path.symlink_to(path.name if rng.random() < 0.5 else "../nowhere/at/all")
        elif path.is_file() and rng.random() < 0.5:
            path.write_bytes(rng.choice(SAMPLES))


@pytest.mark.parametrize("tree", TREES)
@pytest.mark.parametrize("seed", range(4))
def test_probes_never_crash(tmp_path: Path, tree: str, seed: int) -> None:
    root = tmp_path / "root"
    shutil.copytree(SYSROOTS / tree, root, symlinks=True)
    _scramble(root, random.Random(f"{tree}-{seed}"))
    disks = list_disks(root)
    for disk in disks:
        reason = device_in_use(root, disk.name)
        assert reason is None or (reason.strip() and "\x00" not in reason and len(reason) < 600)
    find_boot_media(root)
    components = Components(
        cpu=probe_cpu(root),
        memory=probe_memory(root),
        disks=disks,
        gpus=probe_gpus(root),
        network=probe_network(root),
        displays=probe_displays(root),
    )
    # the results still validate against the report schema
    Components.model_validate(components.model_dump())
    DeviceIdentity.model_validate(probe_dmi(root).model_dump())


@pytest.mark.parametrize("garbage", [b"", b"\x00\x00\x00", b"\xff\xfe\xfd" * 50, b"\n\n\n"])
def test_unreadable_dmi_fields_become_unknown(tmp_path: Path, garbage: bytes) -> None:
    """A DMI tree whose every file holds nothing readable names no vendor, model or serial."""
    root = tmp_path / "root"
    shutil.copytree(SYSROOTS / "dmi-thinkpad-a485", root, symlinks=True)
    dmi = root / "sys" / "class" / "dmi" / "id"
    for path in dmi.iterdir():
        if path.is_file() and not path.is_symlink():
            path.write_bytes(garbage)
    identity = probe_dmi(root)
    assert probe_dmi(tmp_path / "nothing").vendor is None
    named = {k: v for k, v in identity.model_dump().items() if k != "raw_dmi" and v is not None}
    assert named == {}, named
