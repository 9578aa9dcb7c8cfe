"""Flash real images to real loop devices and check the result independently."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from agent.cli import main
from agent.errors import DigibenchError
from agent.flash import provision as provision_mod
from agent.flash import writer as writer_mod
from agent.flash.bmap import parse_bmap
from agent.flash.engine import FlashFailedError, FlashOptions, RefusedError, flash
from agent.probes.block import list_disks
from agent.runner import CommandResult, SystemRunner
from tests.flash.conftest import ImageKit, needs_loops
from tests.flash.images import loop_device, mounts_under, partitions_of, run

pytestmark = [needs_loops, pytest.mark.root]

PROVISION_PREFIX = "/tmp/digibench-provision-"


def _read(dev: str, start: int, length: int) -> bytes:
    with open(dev, "rb", buffering=0) as fh:  # an independent, plain read
        fh.seek(start)
        return fh.read(length)


def _assert_mapped_ranges_equal(kit: ImageKit, dev: str, *, esp_only: bool = False) -> None:
    raw = kit.image.raw.read_bytes()
    bmap = parse_bmap(kit.image.bmap.read_bytes())
    checked = 0
    for r in bmap.ranges:
        if esp_only and (r.start < 34 * 512 or r.end > kit.image.root_start):
            continue  # fitting rewrote the GPT, growing and provisioning the root
        assert _read(dev, r.start, r.length) == raw[r.start : r.end], f"range {r.start}"
        checked += 1
    assert checked


def _debugfs_cat(node: str, path: str) -> bytes:
    return run("debugfs", "-R", f"cat {path}", node).stdout


def _debugfs_ls(node: str, path: str) -> str:
    return run("debugfs", "-R", f"ls -l {path}", node).stdout.decode()


class _Listed(SystemRunner):
    """The system's runner, keeping each command line it ran."""

    def __init__(self) -> None:
        super().__init__()
        self.argvs: list[list[str]] = []

    def run(self, argv: Sequence[str], **kw: Any) -> CommandResult:
        self.argvs.append(list(argv))
        return super().run(argv, **kw)


def test_flash_zst_with_bmap_fit_and_provision(kit: ImageKit, loop: str) -> None:
    manifest = kit.manifest("zst")
    runner = _Listed()
    outcome = flash(FlashOptions(image=str(manifest), device=loop, asset_tag="DB 00123/A"), runner)
    rec = outcome.record
    # every sfdisk that writes leaves telling the kernel to the one partx -u: its own
    # re-read sleeps a quarter of a second first
    writes = [a for a in runner.argvs if a[0] == "sfdisk" and "--json" not in a]
    assert writes and all("--no-reread" in a and "--no-tell-kernel" in a for a in writes)
    assert ["partx", "-u", loop] in runner.argvs
    bmap = parse_bmap(kit.image.bmap.read_bytes())
    assert rec.verified and rec.provisioned and rec.fitted
    assert rec.errors == []
    assert rec.hostname == "db-00123-a"
    assert rec.bytes_written == bmap.mapped_bytes
    assert rec.ranges == len(bmap.ranges)
    assert rec.sha256 == kit.image.sha256
    assert rec.image_size_bytes == kit.image.size
    assert rec.throughput_mb_s and rec.throughput_mb_s > 0
    _assert_mapped_ranges_equal(kit, loop, esp_only=True)

    # the GPT is valid and its backup header now sits at the end of the 96 MiB disk
    verify = subprocess.run(["sgdisk", "-v", loop], capture_output=True, text=True)
    assert verify.returncode == 0 and "No problems found" in verify.stdout, verify.stdout
    assert outcome.fit and outcome.fit.relocated_backup_gpt
    assert outcome.fit.new_size_bytes > outcome.fit.old_size_bytes + 30 * (1 << 20)

    node = f"{loop}p2"
    assert partitions_of(loop) == [f"{Path(loop).name}p1", f"{Path(loop).name}p2"]
    fsck = subprocess.run(["e2fsck", "-fn", node], capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    # the filesystem was grown to the partition
    dumpe2fs = run("dumpe2fs", "-h", node).stdout.decode()
    blocks = int(
        next(ln for ln in dumpe2fs.splitlines() if ln.startswith("Block count:")).split()[-1]
    )
    assert blocks * 4096 == outcome.fit.new_size_bytes - outcome.fit.new_size_bytes % 4096

    # provisioned files, read without mounting
    assert _debugfs_cat(node, "/etc/hostname") == b"db-00123-a\n"
    assert b"127.0.1.1\tdb-00123-a" in _debugfs_cat(node, "/etc/hosts")
    assert _debugfs_cat(node, "/etc/default/locale") == b"LANG=nl_BE.UTF-8\n"
    assert b'XKBLAYOUT="be"' in _debugfs_cat(node, "/etc/default/keyboard")
    assert _debugfs_cat(node, "/etc/timezone") == b"Europe/Brussels\n"
    assert b"\nnl_BE.UTF-8 UTF-8\n" in b"\n" + _debugfs_cat(node, "/etc/locale.gen")
    assert _debugfs_cat(node, "/etc/machine-id") == b""
    assert "Europe/Brussels" in run("debugfs", "-R", "stat /etc/localtime", node).stdout.decode()
    ssh = _debugfs_ls(node, "/etc/ssh")
    assert "sshd_config" in ssh and "ssh_host_" not in ssh
    assert b"ConditionPathExists=!/var/lib/digibench/firstboot.done" in _debugfs_cat(
        node, "/etc/systemd/system/digibench-firstboot.service"
    )
    assert "digibench-firstboot.service" in _debugfs_ls(
        node, "/etc/systemd/system/multi-user.target.wants"
    )
    script = run("debugfs", "-R", "stat /usr/local/sbin/digibench-firstboot", node).stdout
    assert b"Mode:  0755" in script
    # the image's own files are intact
    assert _debugfs_cat(node, "/home/readme.txt") == kit.image.files["home/readme.txt"]
    assert mounts_under(PROVISION_PREFIX) == []


@pytest.mark.parametrize("kind", ["zst", "xz", "gz", "raw"])
def test_other_formats_write_and_verify(kit: ImageKit, loop: str, kind: str) -> None:
    opts = FlashOptions(image=str(kit.manifest(kind)), device=loop, provision=False, fit=False)
    rec = flash(opts, SystemRunner()).record
    assert rec.verified and not rec.provisioned
    _assert_mapped_ranges_equal(kit, loop)
    assert subprocess.run(["sfdisk", "--verify", loop], capture_output=True).returncode == 0


def test_without_bmap_the_whole_image_is_written(kit: ImageKit, tmp_path: Path) -> None:
    image = tmp_path / "nobmap.img.zst"
    shutil.copy(kit.file("zst"), image)
    manifest = kit.image.manifest(image, bmap=None)
    # a target full of 0xff shows that the holes were written too
    with loop_device(tmp_path, 64 << 20, "full.raw") as dev:
        with open(dev, "r+b") as fh:
            fh.write(b"\xff" * (64 << 20))
        rec = flash(FlashOptions(str(manifest), dev, provision=False, fit=False), SystemRunner())
        assert rec.record.verified
        assert rec.record.bytes_written == kit.image.size
        assert run("sha256sum", dev).stdout.decode().split()[0] == kit.image.sha256


def _assert_failed(exc: FlashFailedError, fragment: str) -> None:
    assert fragment in exc.message
    assert exc.record is not None
    assert not exc.record.verified and not exc.record.provisioned
    assert exc.record.errors and fragment in exc.record.errors[0]


def test_corrupt_compressed_stream(kit: ImageKit, tmp_path: Path, loop: str) -> None:
    data = bytearray(kit.file("zst").read_bytes())
    mid = len(data) // 2
    data[mid : mid + 64] = bytes(64)
    image = tmp_path / "corrupt.img.zst"
    image.write_bytes(bytes(data))
    manifest = kit.image.manifest(image, bmap=os.path.relpath(kit.image.bmap, tmp_path))
    with pytest.raises(FlashFailedError) as info:
        flash(FlashOptions(str(manifest), loop), SystemRunner())
    assert "corrupt" in info.value.message or "do not match" in info.value.message
    record = info.value.record
    assert record and not record.verified
    # The record counts the bytes really written: the mapped ranges, in order, up to
    # there hold the image (but the damaged frame's), and nothing after was touched.
    written = record.bytes_written
    assert 0 < written < kit.image.size
    raw = kit.image.raw.read_bytes()
    done, same, blocks, block = 0, 0, 0, 64 << 10
    for r in parse_bmap(kit.image.bmap.read_bytes()).ranges:
        for start in range(r.start, r.end, block):
            n = min(block, r.end - start)
            on_disk = _read(loop, start, n)
            if done < written:
                blocks += 1
                same += on_disk == raw[start : start + n]
            else:
                assert on_disk == bytes(n), f"written after the recorded count, at {start}"
            done += n
    assert same >= blocks * 0.9, (same, blocks)


def test_truncated_image(kit: ImageKit, tmp_path: Path, loop: str) -> None:
    data = kit.file("zst").read_bytes()
    image = tmp_path / "short.img.zst"
    image.write_bytes(data[: len(data) * 3 // 4])
    manifest = kit.image.manifest(image, bmap=os.path.relpath(kit.image.bmap, tmp_path))
    with pytest.raises(FlashFailedError) as info:
        flash(FlashOptions(str(manifest), loop), SystemRunner())
    _assert_failed(info.value, "ends early")


def test_wrong_sha256_in_manifest(kit: ImageKit, loop: str) -> None:
    manifest = kit.manifest("zst", sha256="ab" * 32)
    try:
        with pytest.raises(FlashFailedError) as info:
            flash(FlashOptions(str(manifest), loop), SystemRunner())
        _assert_failed(info.value, "its manifest says")
    finally:
        kit.manifest("zst")


def test_bmap_range_mismatch(kit: ImageKit, tmp_path: Path, loop: str) -> None:
    raw = bytearray(kit.image.raw.read_bytes())
    last = parse_bmap(kit.image.bmap.read_bytes()).ranges[2]
    raw[last.start + 100] ^= 0xFF  # one flipped bit of data inside a mapped range
    image = tmp_path / "tampered.img"
    image.write_bytes(bytes(raw))
    import hashlib

    manifest = kit.image.manifest(
        image,
        sha256=hashlib.sha256(raw).hexdigest(),
        bmap=os.path.relpath(kit.image.bmap, tmp_path),
    )
    with pytest.raises(FlashFailedError) as info:
        flash(FlashOptions(str(manifest), loop), SystemRunner())
    _assert_failed(info.value, "do not match the bmap")


def test_format_mismatch_is_refused_before_writing(
    kit: ImageKit, tmp_path: Path, loop: str
) -> None:
    image = tmp_path / "liar.img.zst"
    shutil.copy(kit.file("gz"), image)  # gzip data under a .zst name
    manifest = kit.image.manifest(image, bmap=os.path.relpath(kit.image.bmap, tmp_path))
    with pytest.raises(FlashFailedError) as info:
        flash(FlashOptions(str(manifest), loop), SystemRunner())
    assert "looks like gz" in info.value.message
    assert _read(loop, 0, 1 << 20) == bytes(1 << 20)  # untouched


def test_too_small_target_is_refused(kit: ImageKit, tmp_path: Path) -> None:
    with loop_device(tmp_path, 32 << 20, "small.raw") as dev:
        with pytest.raises(FlashFailedError) as info:
            flash(FlashOptions(str(kit.manifest("zst")), dev), SystemRunner())
        _assert_failed(info.value, "too small")
        assert _read(dev, 0, 1 << 20) == bytes(1 << 20)


def test_read_back_catches_a_disk_that_lies(
    kit: ImageKit, loop: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = writer_mod.pwrite_all

    def lying(fd: int, data: memoryview, offset: int) -> None:
        real(fd, data, offset)
        if offset == 0:  # the "disk" keeps something else than it was given
            with open(loop, "r+b", buffering=0) as fh:
                fh.write(b"X" * 512)
                os.fsync(fh.fileno())

    monkeypatch.setattr(writer_mod, "pwrite_all", lying)
    with pytest.raises(FlashFailedError) as info:
        flash(FlashOptions(str(kit.manifest("zst")), loop), SystemRunner())
    _assert_failed(info.value, "read-back found 1 range")


def test_provisioning_failure_leaves_no_mount(
    kit: ImageKit, loop: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(root: Path, *args: object, **kwargs: object) -> list[str]:
        assert mounts_under(str(root)) == [str(root)]  # it really was mounted
        raise DigibenchError("injected failure while provisioning")

    monkeypatch.setattr(provision_mod, "apply", boom)
    before = set(Path("/tmp").glob("digibench-provision-*"))
    with pytest.raises(FlashFailedError) as info:
        flash(FlashOptions(str(kit.manifest("zst")), loop, asset_tag="X1"), SystemRunner())
    _assert_failed(info.value, "injected failure")
    assert mounts_under(PROVISION_PREFIX) == []
    assert set(Path("/tmp").glob("digibench-provision-*")) == before


def test_mounted_target_is_refused(kit: ImageKit, loop: str, tmp_path: Path) -> None:
    flash(FlashOptions(str(kit.manifest("zst")), loop, provision=False), SystemRunner())
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    run("mount", "-o", "ro", f"{loop}p2", str(mnt))
    try:
        with pytest.raises(FlashFailedError) as info:
            flash(FlashOptions(str(kit.manifest("zst")), loop), SystemRunner())
        assert isinstance(info.value.__cause__, RefusedError)
        assert "refusing" in info.value.message
    finally:
        run("umount", str(mnt))


def test_cli_flash(
    kit: ImageKit,
    loop: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    report = tmp_path / "rec.json"
    code = main(
        ["flash", "--yes", "-q", "--asset-tag", "LAP-7", "--report", str(report),
         str(kit.manifest("zst")), loop]
    )  # fmt: skip
    assert code == 0
    import json

    rec = json.loads(report.read_text())
    assert rec["verified"] is True and rec["hostname"] == "lap-7"
    capsys.readouterr()
    # no --yes and no 'yes' typed: nothing written
    monkeypatch.setattr("sys.stdin", io.StringIO("no\n"))
    with loop_device(tmp_path, 96 << 20, "other.raw") as dev:
        assert main(["flash", str(kit.manifest("zst")), dev]) == 1
        out = capsys.readouterr().out
        assert "Flash plan:" in out and "Not confirmed" in out
        assert _read(dev, 0, 1 << 20) == bytes(1 << 20)
    # a disk that holds the running system is refused before any question
    root_disk = next((d.path for d in list_disks() if d.holds_root), None)
    if root_disk is not None:
        assert main(["flash", "--yes", str(kit.manifest("zst")), root_disk]) == 2
        assert "refused" in capsys.readouterr().err


def test_repeat_flash_trusts_a_stamp_only_for_the_same_file(
    kit: ImageKit, loop: str, tmp_path: Path, _own_stamp_dir: Path
) -> None:
    opts = FlashOptions(
        str(kit.manifest("zst")), loop, provision=False, fit=False, stamp_dir=_own_stamp_dir
    )
    first = flash(opts, SystemRunner()).record
    assert first.verification_method and "checked in full" in first.verification_method
    assert len(list(_own_stamp_dir.iterdir())) == 1
    second = flash(opts, SystemRunner()).record
    assert second.verified and "vouched" in (second.verification_method or "")
    # another compressed file of the same raw image: the stamp does not vouch for it
    other = tmp_path / "other.img.zst"
    run("zstd", "-q", "-1", str(kit.image.raw), "-o", str(other))
    manifest = kit.image.manifest(other, bmap=os.path.relpath(kit.image.bmap, tmp_path))
    other_opts = FlashOptions(
        str(manifest), loop, provision=False, fit=False, stamp_dir=_own_stamp_dir
    )
    with pytest.raises(FlashFailedError) as info:
        flash(other_opts, SystemRunner())
    _assert_failed(info.value, "not the file whose sha256 was verified before")
    assert list(_own_stamp_dir.iterdir()) == []
    third = flash(other_opts, SystemRunner())
    assert "checked in full" in (third.record.verification_method or "")


def test_damaged_bmap_gives_a_failed_record(kit: ImageKit, tmp_path: Path, loop: str) -> None:
    text = kit.image.bmap.read_text()
    bmap = tmp_path / "test.img.bmap"
    bmap.write_text(text.replace("<BlockSize> 4096", "<BlockSize> 4096 ", 1) + " ")
    with pytest.raises(FlashFailedError) as info:
        flash(FlashOptions(str(kit.manifest("zst")), loop, bmap=str(bmap)), SystemRunner())
    _assert_failed(info.value, "is damaged")
    assert _read(loop, 0, 1 << 20) == bytes(1 << 20)


def test_provision_without_fit(kit: ImageKit, loop: str) -> None:
    opts = FlashOptions(str(kit.manifest("zst")), loop, fit=False, hostname="kiosk-1")
    rec = flash(opts, SystemRunner()).record
    assert rec.provisioned and not rec.fitted and rec.hostname == "kiosk-1"
    assert _debugfs_cat(f"{loop}p2", "/etc/hostname") == b"kiosk-1\n"
