"""A bench in a box: loop-device "disks" with a donor's data, a real image, a laptop profile."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from agent.config import StationConfig
from agent.demo import run as demo_run
from agent.demo.profile import build_profile
from tests.flash.images import build_image, compress, loop_device, missing_tools

FIX = Path(__file__).parent.parent / "fixtures"
MiB = 1 << 20
# the donor's data and the independent check that none is left: the same as the demo's
MARKER = demo_run.MARKER
plant_markers = demo_run.plant_donor_data
count_markers = demo_run.count_markers


@dataclass
class Bench:
    config: StationConfig
    disks: list[str]
    sizes: list[int]
    manifest: Path


needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or bool(missing_tools()), reason="needs root, loop devices and image tools"
)


@pytest.fixture(scope="session")
def image_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.geteuid() != 0 or missing_tools():
        pytest.skip("needs root and image tools")
    work = tmp_path_factory.mktemp("pipeline-image")
    image = build_image(work, size_mib=48, data_mib=2)
    return image.manifest(compress(image.raw, "zst"))


@pytest.fixture
def bench(request: pytest.FixtureRequest, tmp_path: Path, image_manifest: Path) -> Iterator[Bench]:
    """Two disks of 80 and 40 MiB, or the sizes given by indirect parametrization."""
    sizes: list[int] = getattr(request, "param", [80 * MiB, 40 * MiB])
    with ExitStack() as stack:
        disks = [
            stack.enter_context(loop_device(tmp_path, size, name=f"disk{i}.raw"))
            for i, size in enumerate(sizes)
        ]
        for dev, size in zip(disks, sizes, strict=True):
            plant_markers(dev, size)
        profile = build_profile(
            tmp_path / "profile",
            dmi_tree=FIX / "sysroots" / "dmi-thinkpad-a485",
            battery_uevent=FIX / "battery" / "dell_samsungsdi_m7r9677_uevent_98pct_cnx31.txt",
        )
        # the loop "disks" are MiB, not GB: let them count as enough storage
        policy = tmp_path / "policy.toml"
        policy.write_text("[grading]\nstorage_lend_gb = 0.01\nstorage_a_gb = 0.01\n")
        config = StationConfig.model_validate(
            {
                "policy": policy,
                "station": {"name": "test-bench", "mode": "intake", "data_dir": tmp_path / "data"},
                "image": {"source": str(image_manifest)},
                "wipe": {"verify_percent": 100},
                "headless": {"asset_tag": "DB-T-0001", "confirm_wipe": True, "cosmetic": "C5"},
                "testing": {
                    "allowed_devices": disks,
                    "profile_root": profile,
                    "smart_fixtures": {
                        disks[0]: FIX / "smart" / "nvme_samsung_pm9a1_1t_oem_laptop_16pct.json",
                        disks[1]: FIX / "smart" / "sata_ssd_samsung_860evo_500g_19pct_used.json",
                    },
                },
            }
        )
        yield Bench(config, disks, sizes, image_manifest)
        subprocess.run(["sync"], check=False)
