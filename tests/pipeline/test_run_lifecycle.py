"""The run's lifecycle on loop devices: cancel, power cuts, resume, a full stick.

Each test here was written for a defect of issue #14 and fails on the code before it.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from agent.pipeline.events import DiskProgress, Event, Notice, Stage
from agent.pipeline.headless import LinePrinter
from agent.pipeline.lifecycle import WrongStageError
from agent.pipeline.station import NotConfirmedError, Pipeline, disk_label
from agent.report.reasons import CATALOG
from agent.report.schema import Mode, Report
from agent.runner import SystemRunner
from agent.uplink.outbox import Outbox
from tests.pipeline.conftest import MARKER, Bench, count_markers, needs_root

pytestmark = needs_root


class PowerCut(BaseException):
    """The laptop dies: nothing after this line of the run happens."""


def _names(bench: Bench) -> list[str]:
    return [Path(d).name for d in bench.disks]


def _digest(dev: str) -> str:
    with open(dev, "rb", buffering=0) as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def _start(bench: Bench, emit: object = None, tag: str = "DB-L-1") -> Pipeline:
    events: list[Event] = []
    pipeline = Pipeline(bench.config, runner=SystemRunner(), emit=emit or events.append)  # type: ignore[arg-type]
    pipeline.inspect(asset_tag=tag, mode=Mode.INTAKE)
    pipeline.record_tests(Pipeline.skipped_tests("C5"))
    return pipeline


def test_a_cancel_does_not_stop_the_next_laptops_wipe(bench: Bench) -> None:
    bench.config.image.source = None
    pipeline = _start(bench)
    pipeline.confirm(_names(bench))
    pipeline.cancel()  # the volunteer changed their mind: nothing was wiped
    for dev in bench.disks:
        assert count_markers(dev) > 0
    pipeline.inspect(asset_tag="DB-L-2", mode=Mode.INTAKE)  # "Volgende laptop"
    pipeline.record_tests(Pipeline.skipped_tests("C5"))
    pipeline.confirm(_names(bench))
    report = pipeline.run()
    assert [e.result.value for e in report.erasures] == ["erased", "erased"]
    for dev in bench.disks:
        assert count_markers(dev) == 0


def test_every_step_goes_through_the_transition_table(bench: Bench) -> None:
    bench.config.image.source = None
    events: list[Event] = []
    pipeline = Pipeline(bench.config, runner=SystemRunner(), emit=events.append)
    with pytest.raises(WrongStageError):
        pipeline.record_tests([])
    pipeline.inspect(asset_tag="DB-L-3", mode=Mode.INTAKE)
    with pytest.raises(NotConfirmedError):
        pipeline.run()
    pipeline.record_tests(Pipeline.skipped_tests("C5"))
    with pytest.raises(WrongStageError, match="after inspection"):
        pipeline.record_tests([])  # twice
    pipeline.confirm(_names(bench))
    pipeline.run()
    assert pipeline.stage is Stage.DONE
    for call in (lambda: pipeline.confirm(_names(bench)), pipeline.run):
        with pytest.raises(WrongStageError):
            call()  # nothing more happens to a finished laptop
    with pytest.raises(WrongStageError):
        pipeline.resume()


def test_a_failing_step_ends_in_failed(bench: Bench, monkeypatch: pytest.MonkeyPatch) -> None:
    import agent.pipeline.station as station

    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("grading bug")

    monkeypatch.setattr(station, "grade_report", broken)
    bench.config.image.source = None
    pipeline = _start(bench)
    pipeline.confirm(_names(bench))
    with pytest.raises(RuntimeError):
        pipeline.run()
    assert pipeline.stage is Stage.FAILED
    assert pipeline.pending_resume() is not None  # the evidence so far is kept for a resume


def test_a_power_cut_during_the_flash_redoes_only_the_flash(
    bench: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    import agent.pipeline.station as station

    real_flash = station.flash  # type: ignore[attr-defined]

    def cut(*args: object, **kwargs: object) -> object:
        raise PowerCut

    monkeypatch.setattr(station, "flash", cut)
    pipeline = _start(bench)
    pipeline.confirm(_names(bench))
    with pytest.raises(PowerCut):
        pipeline.run()
    monkeypatch.setattr(station, "flash", real_flash)
    wiped = {dev: _digest(dev) for dev in bench.disks}

    written: list[str] = []
    again = Pipeline(
        bench.config,
        runner=SystemRunner(),
        emit=lambda e: written.append(e.phase) if isinstance(e, DiskProgress) else None,
    )
    assert again.pending_resume() is not None
    report = again.resume()
    assert "wipe" not in written and "verify" not in written
    assert any(p.startswith("flash") for p in written)
    assert len(report.erasures) == 2  # not 4: no disk was wiped again
    (cut_short,) = report.interruptions
    assert cut_short.stage == "flash" and cut_short.redone == ["flash"]
    assert len(cut_short.kept) == 2
    assert report.images and report.images[-1].verified
    assert report.grade is not None and report.grade.destination == "lend"
    flashed = [d for d in bench.disks if _digest(d) != wiped[d]]
    assert len(flashed) == 1  # only the OS disk changed
    assert len(Outbox(bench.config.outbox_dir).pending()) == 1


def _cut_during_wipe(bench: Bench) -> tuple[Pipeline, str]:
    """Run until one disk's wipe is under way, then cut the power; the disk being wiped."""
    hit: list[str] = []
    pipeline: Pipeline

    def emit(event: Event) -> None:
        if (
            isinstance(event, DiskProgress)
            and event.phase == "wipe"
            and 0 < event.done_bytes < event.total_bytes
            and not hit
        ):
            hit.append(event.disk)
            raise PowerCut

    bench.config.wipe.checkpoint_s = 0.05
    pipeline = _start(bench, emit)
    pipeline.confirm(_names(bench))
    with pytest.raises(PowerCut):
        pipeline.run()
    (label,) = hit
    (target,) = [t for t in pipeline.run_state.confirmed if disk_label(t.disk) == label]
    return pipeline, target.disk.path


def test_resume_refuses_a_disk_no_longer_allowed(bench: Bench) -> None:
    bench.config.image.source = None
    _, cut_disk = _cut_during_wipe(bench)
    before = _digest(cut_disk)
    bench.config.testing.allowed_devices = [d for d in bench.disks if d != cut_disk]
    events: list[Event] = []
    report = Pipeline(bench.config, runner=SystemRunner(), emit=events.append).resume()
    assert _digest(cut_disk) == before, "a disk no longer allowed was written on resume"
    assert any(w.code == "run.target_refused" for w in report.warnings)
    assert report.interruptions[0].refused
    assert report.grade is not None and report.grade.destination != "lend"
    assert any(isinstance(e, Notice) and e.code == "notice.resume_refused" for e in events)


def test_resume_after_a_cut_mid_wipe_wipes_each_disk_once(bench: Bench) -> None:
    bench.config.image.source = None
    _cut_during_wipe(bench)
    report = Pipeline(bench.config, runner=SystemRunner()).resume()
    for dev in bench.disks:
        assert count_markers(dev) == 0
    assert [e.result.value for e in report.erasures].count("erased") == 2
    assert len({e.disk_identity for e in report.erasures}) == 2
    assert report.grade is not None  # no OS image here, so no lend; but the wipe is in order
    assert not [r for r in report.grade.reasons if r.code.startswith("grade.wipe_")]


@contextmanager
def _tmpfs(where: Path, size: str) -> Iterator[Path]:
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


def _fill(directory: Path) -> Path:
    filler = directory / "filler"
    with filler.open("wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError:
            pass
    return filler


def test_a_full_data_partition_loses_nothing(bench: Bench, tmp_path: Path) -> None:
    """The stick fills up during the wipe: no traceback, records and report kept and saved later."""
    bench.config.image.source = None
    spare = tmp_path / "spare"
    bench.config.storage.fallback_dir = spare
    with _tmpfs(tmp_path / "stick", "4m") as stick:
        bench.config.station.data_dir = stick
        out = io.StringIO()
        printer = LinePrinter(out)
        fillers: list[Path] = []

        def emit(event: Event) -> None:
            printer(event)
            if isinstance(event, DiskProgress) and event.phase == "wipe" and not fillers:
                fillers.append(_fill(stick))

        pipeline = _start(bench, emit)
        pipeline.confirm(_names(bench))
        report = pipeline.run()  # no traceback
        log = out.getvalue()
        assert "Cannot save the erasure record" in log and "No space left" in log
        assert "free space on the stick" in log
        assert len(report.erasures) == 2 and report.signature is not None
        assert Outbox(bench.config.outbox_dir).pending() == []  # it did not fit
        assert len(list(spare.glob("*.json"))) >= 3  # records and report at the spare place
        fillers[0].unlink()  # space again
        pipeline.keeper.retry()
        (entry,) = Outbox(bench.config.outbox_dir).pending()
        assert Report.model_validate_json(entry.path.read_bytes()) == report
        assert len(list(bench.config.record_dir.glob("erasure-*.json"))) == 2


def test_a_read_only_stick_is_told_not_crashed(
    bench: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from agent import fsutil

    bench.config.image.source = None
    pipeline = _start(bench)
    pipeline.confirm(_names(bench))

    def read_only(path: Path) -> None:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(fsutil, "fault_hook", read_only)
    events: list[Event] = []
    pipeline.emit = events.append
    report = pipeline.run()
    said = [e for e in events if isinstance(e, Notice) and e.code == "notice.storage_failed"]
    assert said and "read-only" in said[0].message
    monkeypatch.setattr(fsutil, "fault_hook", None)
    pipeline.keeper.retry()
    (entry,) = Outbox(bench.config.outbox_dir).pending()
    assert entry.report_id == str(report.report_id)


def test_every_notice_has_a_code_with_words(bench: Bench) -> None:
    events: list[Event] = []
    bench.config.image.source = None
    pipeline = Pipeline(bench.config, runner=SystemRunner(), emit=events.append)
    pipeline.inspect(asset_tag="DB-L-4", mode=Mode.INTAKE)
    pipeline.record_tests(Pipeline.skipped_tests("C5"))
    pipeline.confirm(_names(bench))
    pipeline.run()
    notices = [e for e in events if isinstance(e, Notice)]
    assert notices
    for n in notices:
        assert n.code in CATALOG, n


def test_marker_constant_is_the_demo_one() -> None:
    assert MARKER
