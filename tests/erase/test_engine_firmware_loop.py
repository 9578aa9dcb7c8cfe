"""The engine around a firmware erase, on a real loop device with replayed nvme commands.

The loop device stands in for the drive's media: a replayed ``nvme format``
either scrambles it (what a crypto erase does to the visible data) or leaves
it alone (a drive that reports success and erases nothing). The engine must
tell the two apart by reading the disk, not by trusting the exit status.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.erase.engine import WipeOptions, wipe_one
from agent.erase.firmware import parse_nvme_id_ctrl
from agent.erase.journal import Journal
from agent.erase.plan import ErasePolicy, plan_nvme
from agent.report.schema import ErasureResult, SanitizeLevel

from .conftest import MARKER, Loop, MiB, needs_root
from .scripted import fixture, script

pytestmark = needs_root


def _scramble(loop: Loop) -> Callable[[], None]:
    def act() -> None:
        with open(loop.dev, "r+b", buffering=0) as fh:
            for _ in range(loop.size // MiB):
                fh.write(os.urandom(MiB))
            os.fsync(fh.fileno())

    return act


def _setup(make_loop: Callable[..., Loop], policy: ErasePolicy, scramble: bool):  # type: ignore[no-untyped-def]
    loop = make_loop(32 * MiB)
    loop.plant()
    target = loop.target()
    plan = plan_nvme(
        parse_nvme_id_ctrl(fixture("nvme_id_ctrl_samsung_970_evo_plus_2t.txt")), loop.dev, policy
    )
    fmt = ["nvme", "format", loop.dev, "--ses=2", "--force"]
    runner = script((fmt, "", 0))
    if scramble:
        runner.actions[tuple(fmt)] = _scramble(loop)
    return loop, target, plan, runner


def test_firmware_erase_verified_by_reading_back(
    make_loop: Callable[..., Loop], options: Callable[..., WipeOptions]
) -> None:
    loop, target, plan, runner = _setup(make_loop, ErasePolicy(), scramble=True)
    opts = options(target, runner=runner, verify_percent=10)
    rec = wipe_one(target, opts, plan=plan).record
    assert rec.result is ErasureResult.ERASED, rec.notes
    assert rec.method == "nvme-format-crypto"
    assert rec.level is SanitizeLevel.PURGE
    assert rec.verification_method == "sampled-fingerprint" and rec.verification_passed
    assert rec.bytes_written == 0 and rec.passes == 0
    assert ("nvme", "format", loop.dev, "--ses=2", "--force") in runner.calls
    assert MARKER not in loop.read_image()


def test_firmware_that_erases_nothing_is_caught_and_overwritten(
    make_loop: Callable[..., Loop], options: Callable[..., WipeOptions]
) -> None:
    loop, target, plan, runner = _setup(make_loop, ErasePolicy(), scramble=False)
    rec = wipe_one(target, options(target, runner=runner), plan=plan).record
    text = " ".join(rec.notes)
    assert "still hold their old content" in text and "falling back" in text
    assert rec.method == "overwrite-zero" and rec.level is SanitizeLevel.CLEAR
    assert rec.result is ErasureResult.ERASED
    assert loop.read_image().count(0) == 32 * MiB


def test_firmware_failure_without_fallback_fails(
    make_loop: Callable[..., Loop], options: Callable[..., WipeOptions]
) -> None:
    policy = ErasePolicy(fallback_to_overwrite=False)
    loop, target, plan, runner = _setup(make_loop, policy, scramble=False)
    rec = wipe_one(target, options(target, runner=runner, policy=policy), plan=plan).record
    assert rec.result is ErasureResult.FAILED
    assert any(n.startswith("firmware erase failed") for n in rec.notes)
    assert loop.read_image().count(MARKER) == 32


def test_overwrite_after_firmware_by_policy(
    make_loop: Callable[..., Loop], options: Callable[..., WipeOptions]
) -> None:
    policy = ErasePolicy(overwrite_after_firmware=True)
    loop, target, plan, runner = _setup(make_loop, policy, scramble=True)
    rec = wipe_one(target, options(target, runner=runner, policy=policy), plan=plan).record
    assert rec.result is ErasureResult.ERASED, rec.notes
    assert rec.method == "nvme-format-crypto+overwrite-zero"
    assert rec.level is SanitizeLevel.PURGE
    assert rec.verification_method == "full"
    assert loop.read_image().count(0) == 32 * MiB


def test_interrupted_firmware_erase_is_reported_on_rerun(
    make_loop: Callable[..., Loop], options: Callable[..., WipeOptions], tmp_path: Path
) -> None:
    loop, target, plan, runner = _setup(make_loop, ErasePolicy(), scramble=True)
    fmt = ("nvme", "format", loop.dev, "--ses=2", "--force")
    journal = Journal(tmp_path / "state")

    def crash() -> None:
        # The station loses power while the drive formats: the journal must say so.
        saved, _ = journal.load(target.identity)
        assert saved is not None and saved.phase == "firmware"
        raise KeyboardInterrupt

    runner.actions[fmt] = crash
    with pytest.raises(KeyboardInterrupt):
        wipe_one(target, options(target, runner=runner), plan=plan)
    assert journal.path_for(target.identity).exists()

    rerun = script((list(fmt), "", 0))
    rerun.actions[fmt] = _scramble(loop)
    rec = wipe_one(target, options(target, runner=rerun), plan=plan).record
    assert rec.result is ErasureResult.ERASED, rec.notes
    assert rec.resumed
    assert any("nvme-format-crypto erase started" in n and "interrupted" in n for n in rec.notes)
    assert not journal.path_for(target.identity).exists()
