"""A flash after a fully verified zero wipe of the same disk leaves the image's zero runs
alone (the disk holds them already); any weaker or foreign proof writes every byte.

Each case wipes (or plants data on) a real loop device, flashes an image without a bmap
(so every byte is in play) and checks the disk independently with ``sha256sum``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from agent.erase.engine import WipeOptions, wipe_one
from agent.erase.overwrite import Pattern
from agent.erase.safety import resolve
from agent.flash.engine import FlashFailedError, FlashOptions, Target, flash, proves_zeros
from agent.report.schema import ErasureRecord, ErasureResult
from agent.runner import SystemRunner
from agent.signing import load_or_create_key
from tests.flash.conftest import ImageKit, needs_loops
from tests.flash.images import loop_device, run

MiB = 1 << 20
DISK = 96 * MiB


def _no_bmap_manifest(kit: ImageKit, tmp_path: Path) -> str:
    image = tmp_path / "nobmap.img.zst"
    shutil.copy(kit.file("zst"), image)
    return str(kit.image.manifest(image, bmap=None))


def _fill(dev: str, byte: bytes) -> None:
    with open(dev, "r+b", buffering=0) as fh:
        fh.write(byte * DISK)


def _wipe(dev: str, tmp_path: Path, pattern: Pattern, percent: float = 100) -> ErasureRecord:
    target = resolve(dev)
    opts = WipeOptions(
        pattern=pattern,
        verify_percent=percent,
        key=load_or_create_key(tmp_path / "keys"),
        record_dir=tmp_path / "records",
        state_dir=tmp_path / "state",
        confirmed=frozenset({target.identity}),
    )
    record = wipe_one(target, opts).record
    assert record.result is ErasureResult.ERASED, record.notes
    return record


def _flash(manifest: str, dev: str, zeroed_by: ErasureRecord | None) -> tuple[int, bool]:
    options = FlashOptions(manifest, dev, provision=False, fit=False, zeroed_by=zeroed_by)
    record = flash(options, SystemRunner()).record
    assert record.verified
    return record.bytes_written, "zero runs left as the verified wipe" in (
        record.verification_method or ""
    )


def _image_on_disk(kit: ImageKit, dev: str) -> str:
    out = run("sh", "-c", f"head -c {kit.image.size} {dev} | sha256sum").stdout.decode()
    return out.split()[0]


pytestmark = [needs_loops, pytest.mark.root]


def test_after_a_full_zero_wipe_zero_runs_are_not_rewritten(kit: ImageKit, tmp_path: Path) -> None:
    manifest = _no_bmap_manifest(kit, tmp_path)
    with loop_device(tmp_path, DISK, "wiped.raw") as dev:
        _fill(dev, b"\xff")  # a donor's data everywhere
        record = _wipe(dev, tmp_path, Pattern.ZERO)
        written, said = _flash(manifest, dev, record)
        assert 0 < written < kit.image.size  # the image has data and holes
        assert said
        assert _image_on_disk(kit, dev) == kit.image.sha256


@pytest.mark.parametrize(
    ("pattern", "percent"),
    [(Pattern.RANDOM, 100), (Pattern.ZERO, 10)],
    ids=["random-pattern", "sampled-verify"],
)
def test_a_weaker_proof_writes_every_byte(
    kit: ImageKit, tmp_path: Path, pattern: Pattern, percent: float
) -> None:
    manifest = _no_bmap_manifest(kit, tmp_path)
    with loop_device(tmp_path, DISK, "weak.raw") as dev:
        _fill(dev, b"\xff")
        record = _wipe(dev, tmp_path, pattern, percent)
        written, said = _flash(manifest, dev, record)
        assert written == kit.image.size and not said
        assert _image_on_disk(kit, dev) == kit.image.sha256


def test_another_disks_proof_writes_every_byte(kit: ImageKit, tmp_path: Path) -> None:
    manifest = _no_bmap_manifest(kit, tmp_path)
    with (
        loop_device(tmp_path, DISK + MiB, "other.raw") as other,
        loop_device(tmp_path, DISK, "this.raw") as dev,
    ):
        record = _wipe(other, tmp_path, Pattern.ZERO)
        _fill(dev, b"\xff")
        written, said = _flash(manifest, dev, record)
        assert written == kit.image.size and not said
        assert _image_on_disk(kit, dev) == kit.image.sha256


def test_a_false_proof_is_caught_by_the_read_back(kit: ImageKit, tmp_path: Path) -> None:
    """Data planted after the wipe (or a record that lies) cannot pass: the zero runs the
    flash skipped are read back and differ from the image."""
    manifest = _no_bmap_manifest(kit, tmp_path)
    with loop_device(tmp_path, DISK, "lied.raw") as dev:
        record = _wipe(dev, tmp_path, Pattern.ZERO)
        _fill(dev, b"\xff")  # behind the station's back
        with pytest.raises(FlashFailedError, match="read-back found"):
            _flash(manifest, dev, record)


def _record(**changes: object) -> ErasureRecord:
    base = ErasureRecord.model_validate(
        {
            "record_id": "00000000-0000-4000-8000-000000000001",
            "disk_serial": "S1",
            "disk_size_bytes": DISK,
            "method": "overwrite-zero",
            "tool": "digibench",
            "level": "clear",
            "started_at": "2026-01-01T00:00:00Z",
            "verification_method": "full",
            "verification_coverage_percent": 100.0,
            "verification_passed": True,
            "result": "erased",
        }
    )
    return base.model_copy(update=changes)


TARGET = Target("/dev/sdz", "sdz", DISK, "S1")


def test_proves_zeros_only_for_a_complete_zero_proof_of_this_disk() -> None:
    assert proves_zeros(_record(), TARGET)
    assert proves_zeros(_record(method="nvme-sanitize-crypto+overwrite-zero"), TARGET)
    weaker_proofs: list[dict[str, object]] = [
        {"method": "overwrite-random"},
        {"method": "nvme-sanitize-crypto"},
        {"verification_method": "sampled", "verification_coverage_percent": 10.0},
        {"verification_passed": None},
        {"verification_passed": False},
        {"result": ErasureResult.ERASED_WITH_EXCEPTIONS},
        {"result": ErasureResult.FAILED},
        {"disk_serial": "S2"},
        {"disk_size_bytes": DISK + 512},
    ]
    for weaker in weaker_proofs:
        assert not proves_zeros(_record(**weaker), TARGET), weaker
