"""The acceptance test of issue #14: random cancels, power cuts, changed allowed lists
and a full stick, over real loop devices, with the promises checked after every step.

Per example: two target loop disks and a sentinel loop disk that is never a target.
A "power cut" raises out of the run at a random progress event and the station
restarts as a new Pipeline object on the saved state directory.
"""

from __future__ import annotations

import errno
import hashlib
import os
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from agent import fsutil
from agent.config import StationConfig
from agent.demo.profile import build_profile
from agent.pipeline.events import DiskProgress, Event, Finished, Stage
from agent.pipeline.lifecycle import ENDED
from agent.pipeline.station import Pipeline, RunCancelledError
from agent.report.schema import ErasureResult, Mode, Report
from agent.runner import SystemRunner
from agent.uplink.outbox import Outbox
from tests.flash.images import build_image, compress, missing_tools
from tests.pipeline.conftest import FIX, count_markers, needs_root, plant_markers

pytestmark = needs_root
MiB = 1 << 20
SIZES = (40 * MiB, 16 * MiB)  # the OS image fits on the first


#: the OS image's manifest, built once for the module (see the fixture below)
IMAGE: list[str] = []


@pytest.fixture(scope="module", autouse=True)
def os_image(tmp_path_factory: pytest.TempPathFactory) -> None:
    if os.geteuid() != 0 or missing_tools():
        pytest.skip("needs root and image tools")
    image = build_image(tmp_path_factory.mktemp("stateful-image"), size_mib=32, data_mib=1)
    IMAGE[:] = [str(image.manifest(compress(image.raw, "zst")))]


class PowerCut(BaseException):
    pass


def _digest(dev: str) -> str:
    with open(dev, "rb", buffering=0) as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def _attach(path: Path, size: int) -> str:
    with path.open("wb") as fh:
        fh.truncate(size)
    out = subprocess.run(["losetup", "--find", "--show", str(path)], capture_output=True, text=True)
    return out.stdout.strip()


class StationRuns(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.work = Path(tempfile.mkdtemp(prefix="dgb-stateful-"))
        self.disks = [_attach(self.work / f"d{i}.raw", size) for i, size in enumerate(SIZES)]
        self.sizes = dict(zip(self.disks, SIZES, strict=True))
        self.sentinel = _attach(self.work / "sentinel.raw", 8 * MiB)
        plant_markers(self.sentinel, 8 * MiB)
        self.sentinel_digest = _digest(self.sentinel)
        profile = build_profile(
            self.work / "profile",
            dmi_tree=FIX / "sysroots" / "dmi-thinkpad-a485",
            battery_uevent=FIX / "battery" / "dell_samsungsdi_m7r9677_uevent_98pct_cnx31.txt",
        )
        policy = self.work / "policy.toml"
        policy.write_text("[grading]\nstorage_lend_gb = 0.01\nstorage_a_gb = 0.01\n")
        self.config = StationConfig.model_validate(
            {
                "policy": policy,
                "station": {"name": "prop", "mode": "intake", "data_dir": self.work / "data"},
                "wipe": {"verify_percent": 100, "checkpoint_s": 0.05},
                "image": {"source": IMAGE[0] if IMAGE else None},
                "storage": {"fallback_dir": self.work / "spare"},
                "testing": {"allowed_devices": list(self.disks), "profile_root": profile},
            }
        )
        self.pipeline = self._new_pipeline()
        self.finished: list[Report] = []
        self.full = False
        self.tag = 0
        #: reports only in memory (stick full) when the station restarted: the spare copy counts
        self.spared: set[str] = set()

    # ------------------------------------------------------------------ helpers

    def _new_pipeline(self) -> Pipeline:
        return Pipeline(self.config, runner=SystemRunner(), emit=self._on_event)

    def _on_event(self, event: Event) -> None:
        if isinstance(event, Finished):
            self.finished.append(event.report)
        if isinstance(event, DiskProgress) and self.cut_at is not None:
            self.cut_at -= 1
            if self.cut_at <= 0:
                self.cut_at = None
                raise PowerCut

    cut_at: int | None = None

    def _allowed(self) -> list[str]:
        return list(self.config.testing.allowed_devices)

    def _guarded(self, action: str) -> None:
        """Run one pipeline action; disks not allowed now must come out untouched."""
        untouched = {d: _digest(d) for d in self.disks if d not in self._allowed()}
        try:
            if action == "resume":
                self.pipeline.resume()
            else:
                self.pipeline.run()
        except PowerCut:
            self._reboot()
        except RunCancelledError:
            pass
        for dev, digest in untouched.items():
            assert _digest(dev) == digest, f"{dev} was written while not allowed"

    def _reboot(self) -> None:
        """The station restarts: what only lived in memory is gone (the spare copy stays)."""
        self.spared |= {p.stem for p in self.pipeline.keeper.held if p.parent.name == "outbox"}
        self.pipeline = self._new_pipeline()

    def _saved_resume(self) -> bool:
        return Pipeline(self.config, runner=SystemRunner()).pending_resume() is not None

    def _idle(self) -> bool:
        return self.pipeline.stage in (Stage.START, *ENDED)

    # ------------------------------------------------------------------ rules

    # Which rules apply never depends on how a run went: where a power cut lands follows
    # progress events, which come by the clock, so a slow machine cuts at other places.
    # Hypothesis replays a case's draws and needs the same rules enabled each time (else
    # FlakyStrategyDefinition), so a rule looks at the station's state itself, as the
    # volunteer would: a restarted station that offers to resume is resumed first.

    @rule(cut=st.one_of(st.none(), st.integers(1, 12)), cancel=st.booleans())
    def next_laptop(self, cut: int | None, cancel: bool) -> None:
        if self._saved_resume():
            self.restart_and_resume(cut)
            return
        assert self._idle()
        for dev in self._allowed():
            plant_markers(dev, self.sizes[dev])  # a new donor's data
        self.tag += 1
        self.pipeline.inspect(asset_tag=f"DB-P-{self.tag}", mode=Mode.INTAKE)
        self.pipeline.record_tests(Pipeline.skipped_tests("C5"))
        targets = self.pipeline.targets()
        assert {d.path for d in targets} <= set(self._allowed())
        assert self.sentinel not in {d.path for d in targets}
        if not targets:
            self.pipeline.cancel()
            return
        self.pipeline.confirm([d.name for d in targets])
        if cancel:
            self.pipeline.cancel()
            return
        self.cut_at = cut
        self._guarded("run")

    @rule(cut=st.one_of(st.none(), st.integers(1, 12)))
    def restart_and_resume(self, cut: int | None) -> None:
        self._reboot()
        if not self._saved_resume():
            return  # nothing was interrupted: the station starts afresh
        event("a run resumed")
        self.cut_at = cut
        self._guarded("resume")

    @rule(index=st.integers(0, 1))
    def disallow(self, index: int) -> None:
        dev = self.disks[index]
        self.config.testing.allowed_devices = [d for d in self._allowed() if d != dev]

    @rule(index=st.integers(0, 1))
    def allow(self, index: int) -> None:
        if self.disks[index] not in self._allowed():
            self.config.testing.allowed_devices = [*self._allowed(), self.disks[index]]

    @precondition(lambda self: not self.full)
    @rule()
    def stick_fills(self) -> None:
        def full(path: Path) -> None:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        fsutil.fault_hook = full
        self.full = True

    @precondition(lambda self: self.full)
    @rule()
    def space_again(self) -> None:
        fsutil.fault_hook = None
        self.full = False
        self.pipeline.keeper.retry()

    # ------------------------------------------------------------------ promises

    @invariant()
    def sentinel_untouched(self) -> None:
        assert _digest(self.sentinel) == self.sentinel_digest

    @invariant()
    def records_are_true_and_lend_is_earned(self) -> None:
        for report in self.finished:
            latest = {}
            for record in report.erasures:
                latest[record.disk_path] = record
            verified = [
                r
                for r in report.erasures
                if r.result is ErasureResult.ERASED and r.verification_passed
            ]
            ids = [r.disk_identity for r in verified]
            assert len(ids) == len(set(ids)), "a verified-erased disk was wiped again"
            grade = report.grade
            if grade is not None and grade.destination == "lend":
                event("a laptop earned lend")
                assert report.images and report.images[-1].verified, "lend without the OS"
                internal = [d for d in report.components.disks if d.internal]
                assert internal
                for disk in internal:
                    record = latest.get(disk.path)
                    assert record is not None and record.result is ErasureResult.ERASED
                    assert record.verification_passed
        last = self.finished[-1] if self.finished else None
        if last is not None and last is self.pipeline.report:
            for record in last.erasures:
                if record.result is ErasureResult.ERASED and record.disk_path:
                    assert count_markers(record.disk_path) == 0, "an erased disk holds data"

    @invariant()
    def every_report_reaches_the_outbox_once(self) -> None:
        if self.full:
            return
        self.pipeline.keeper.retry()
        outbox = Outbox(self.config.outbox_dir)
        waiting = [e.report_id for e in outbox.pending()]
        assert len(waiting) == len(set(waiting))
        spare = self.config.storage.fallback_dir
        assert spare is not None
        for report in self.finished:
            rid = str(report.report_id)
            if rid in self.spared and rid not in waiting:
                assert (spare / f"{rid}.json").exists(), "a report lost with the stick full"
            else:
                assert waiting.count(rid) == 1, "a signed report is not in the outbox"

    def teardown(self) -> None:
        fsutil.fault_hook = None
        for dev in [*self.disks, self.sentinel]:
            subprocess.run(["losetup", "-d", dev], capture_output=True, check=False)
        subprocess.run(["rm", "-rf", str(self.work)], check=False)


StationRuns.TestCase.settings = settings(
    max_examples=15,
    stateful_step_count=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_station_runs = StationRuns.TestCase


def test_the_machine_is_collected() -> None:
    assert issubclass(test_station_runs, object)
    pytest.importorskip("hypothesis")
