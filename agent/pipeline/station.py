"""The station pipeline: one laptop from inspection to report, as a state machine.

``inspect > tests > CONFIRM > wipe (+verify) > flash > grade > report > done``

Helpdesk (check) mode is a resident's own laptop: ``inspect > tests > grade >
report``, nothing wiped. Only a refresh, after the resident's separate
confirmation (:meth:`Pipeline.confirm_refresh`), goes on ``REFRESH > wipe >
flash``, with the same disk confirmation and refusals; what reaches the server
is only what the resident agreed to (:mod:`agent.helpdesk_consent`).

The TUI and headless mode both drive this one object, so interactive and
unattended runs take the same path. Every step goes through the transition
table of :mod:`agent.pipeline.lifecycle`; nothing destructive happens unless
:meth:`Pipeline.confirm` named the disks first. Each laptop gets its own
:class:`LaptopRun` (stop event, targets, upload flag), so nothing of one
laptop's run, a cancel least of all, reaches the next.

The state is persisted in the data directory after every step, so a run cut
short by a power loss resumes where it stopped (:mod:`agent.pipeline.resume`).

Usage (what a driver does)::

    pipeline = Pipeline(config, runner=SystemRunner(), emit=on_event)
    report = pipeline.inspect(asset_tag="DB-0042", mode=Mode.INTAKE)
    pipeline.record_tests([...])
    pipeline.confirm([d.name for d in pipeline.targets()])
    report = pipeline.run()
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent import __version__
from agent.config import StationConfig
from agent.erase.safety import RefusedError, Target, resolve
from agent.errors import DigibenchError
from agent.flash.engine import FlashFailedError, FlashOptions, flash
from agent.grading import grade_report
from agent.helpdesk_consent import visit_upload
from agent.inspect import inspect_machine
from agent.netboot.keys import station_key
from agent.pipeline.delivery import Delivery
from agent.pipeline.events import (
    EventSink,
    Finished,
    Stage,
    StageChanged,
    ignore,
    notice,
)
from agent.pipeline.hotplug import DiskWatcher
from agent.pipeline.kmod import load_modules
from agent.pipeline.laptop_run import LaptopRun, disk_label
from agent.pipeline.lifecycle import ENDED, Lifecycle, WrongStageError
from agent.pipeline.machine_checks import MachineChecks, merge, wanted
from agent.pipeline.progress import flash_relay
from agent.pipeline.run_state import STATE_FILE, ResumeInfo, RunState
from agent.pipeline.selection import allowed, candidates, mark_test_devices, recheck
from agent.pipeline.storage import Keeper
from agent.pipeline.wiping import wipe_targets
from agent.policy import Policy, load_policy
from agent.report.reasons import warning
from agent.report.schema import (
    Disk,
    Helpdesk,
    HelpdeskConsent,
    Interruption,
    MediaType,
    Mode,
    Operator,
    Reason,
    RefreshConfirmation,
    Report,
    Station,
    TestOutcome,
    TestResult,
)
from agent.runner import Runner
from agent.signing import public_key_b64
from agent.uplink.signed import report_json, sign_report

__all__ = [
    "STATE_FILE",
    "NotConfirmedError",
    "Pipeline",
    "ResumeInfo",
    "RunCancelledError",
    "WrongStageError",
    "disk_label",
]

log = logging.getLogger(__name__)

LIVE_ROOT = Path("/")
_MEDIA_RANK = {MediaType.NVME: 0, MediaType.SSD: 1, MediaType.EMMC: 2, MediaType.HDD: 3}


class NotConfirmedError(DigibenchError):
    """A destructive step was asked for without the explicit confirmation."""


class RunCancelledError(DigibenchError):
    """The operator stopped the run; nothing more is done to this laptop."""


class Pipeline:
    """Drives one laptop's run at a time; see the module docstring for the order of calls."""

    def __init__(
        self,
        config: StationConfig,
        *,
        runner: Runner,
        emit: EventSink = ignore,
        root: Path = LIVE_ROOT,
    ) -> None:
        self.config = config
        self.runner = runner
        self.emit = emit
        self.root = root
        self.policy: Policy = load_policy(config.policy)
        self.mode: Mode = config.station.mode
        self.language = config.station.language
        self.server_url = config.server.url.rstrip("/") if config.server.url else None
        self.keeper = Keeper(self._emit, config.storage.fallback_dir)
        self.state = RunState(config.state_dir, self.keeper, self._emit)
        self.delivery = Delivery(config, self._emit, self.keeper)
        self._run = LaptopRun()

    def _emit(self, event: object) -> None:
        self.emit(event)  # type: ignore[arg-type]  # late-bound: drivers replace emit

    # ------------------------------------------------------------------ what drivers read

    @property
    def stage(self) -> Stage:
        return self._run.life.stage

    @property
    def report(self) -> Report | None:
        return self._run.report

    @report.setter
    def report(self, value: Report | None) -> None:
        self._run.report = value

    @property
    def run_state(self) -> LaptopRun:
        """This laptop's run (stop event, targets, upload flag): new for every laptop."""
        return self._run

    def _move(self, stage: Stage, message: str = "", *, action: str | None = None) -> None:
        self._run.life.move(stage, action=action)
        self._persist()
        self.emit(self._stage_event(stage, message))

    def _stage_event(self, stage: Stage, message: str = "") -> StageChanged:
        """A stage change, naming the laptop (a bench view shows which one)."""
        report = self._run.report
        return StageChanged(stage, message, asset_tag=(report.asset_tag or "") if report else "")

    def _persist(self) -> None:
        run = self._run
        if run.report is None or run.life.stage in ENDED:
            return
        self.state.save(run)

    # ------------------------------------------------------------------ resume

    def pending_resume(self) -> ResumeInfo | None:
        """A confirmed run that did not finish (power loss, crash), if any."""
        return self.state.pending()

    def resume(self) -> Report:
        """Continue a run cut short from the stage it reached.

        Every confirmed disk is checked again with the rules of a fresh run;
        a disk whose erasure was verified is not wiped again, an interrupted
        wipe continues from its journal, an interrupted flash starts over, and
        grading and reporting continue from their stage. The report records
        the interruption and what was redone.
        """
        info = self.pending_resume()
        loaded = self.state.load_run() if info is not None else None
        if info is None or loaded is None:
            raise WrongStageError("there is no interrupted run to resume")
        run = loaded
        self._run = run
        report = run.require_report()
        self.mode = report.mode
        self.emit(notice("warning", "notice.resuming", tag=info.asset_tag or "?"))
        if run.signed is not None:  # signed: the report stays exactly as it is
            return self._guarded(lambda: self._finish(run, report, self._station_key(report)))
        interruption = Interruption(stage=info.stage.value, resumed_at=datetime.now(UTC))
        report.warnings.append(warning("run.resumed", stage=info.stage.value))
        unconfirmed = report.helpdesk is None or report.helpdesk.refresh is None
        if info.stage in (Stage.WIPE, Stage.FLASH) and report.mode is Mode.CHECK and unconfirmed:
            raise NotConfirmedError(
                "a resident's laptop is wiped only after the refresh confirmation",
                hint="the saved run has none: start the helpdesk check again",
            )
        if info.stage in (Stage.WIPE, Stage.FLASH):
            targets, bad = recheck(info.disks, self.config, self.root)
            for identity, disk, why in bad:
                name = disk_label(disk) if disk is not None else identity
                code = "notice.resume_disk_gone" if disk is None else "notice.resume_refused"
                self.emit(notice("error", code, disk=name, why=why.message))
                report.warnings.append(warning("run.target_refused", disk=name, why=why.message))
                interruption.refused.append(name)
            run.confirmed = targets
        else:
            interruption.redone.extend(["grade", "report"])
        report.interruptions.append(interruption)
        run.interruption = interruption
        start = info.stage if info.stage in (Stage.WIPE, Stage.FLASH) else Stage.GRADE
        return self._continue(run, start)

    # ------------------------------------------------------------------ steps

    def inspect(self, *, asset_tag: str, mode: Mode, operator: str | None = None) -> Report:
        """Inventory and health of the laptop on the bench; nothing is changed.

        Starts a new laptop's run: whatever the last one left (a cancel, its
        targets, its upload flag) stays with it.
        """
        asset_tag = asset_tag.strip()
        if not asset_tag:
            raise DigibenchError("an asset tag is needed", hint="scan or type the laptop's tag")
        if self._run.life.stage not in (Stage.START, *ENDED):
            raise WrongStageError(
                f"a new laptop cannot be inspected while the run is in '{self.stage.value}'",
                hint="finish or cancel this laptop's run first",
            )
        self._run = LaptopRun(life=Lifecycle(helpdesk=mode is Mode.CHECK))
        self.mode = mode
        self._run.life.move(Stage.INSPECT)
        self.emit(StageChanged(Stage.INSPECT, asset_tag=asset_tag))
        testing = self.config.testing
        try:
            for name in load_modules(self.runner, testing.modprobe, sys_root=self.root):
                self.emit(notice("info", "notice.modprobe_device", name=name))
            report = inspect_machine(
                runner=self.runner,
                policy=self.policy,
                root=testing.profile_root or self.root,
                block_root=self.root,
                smart_fixtures={k: v for k, v in testing.smart_fixtures.items()},
                mode=mode,
                asset_tag=asset_tag,
                station_name=self.config.station.name,
                operator=Operator(name=operator or self.config.station.operator),
            )
        except BaseException:
            self._fail()
            raise
        self._run.report = mark_test_devices(report, self.config)
        if wanted(self.policy.checks):  # memory and thermal run while the volunteer tests
            sensors = testing.profile_root or self.root
            self._run.machine_checks = MachineChecks(sensors, self.policy.checks).start()
            self.emit(notice("info", "notice.machine_checks"))
        self._move(Stage.TESTS)
        return self._run.report

    def _allowed(self, disk: Disk) -> bool:
        """Whether a test setup's ``allowed_devices`` names this disk (path, serial or model)."""
        return allowed(disk, self.config.testing.allowed_devices)

    def record_tests(self, tests: list[TestResult]) -> None:
        """The operator's quick tests and answers (keyboard, screen, cosmetic...)."""
        report = self._run.require_report()
        if self.stage is not Stage.TESTS:
            raise WrongStageError(f"tests are recorded after inspection, not in '{self.stage}'")
        report.tests = list(tests)
        self._move(Stage.CONFIRM)

    def _helpdesk_record(self, action: str) -> tuple[Report, Helpdesk]:
        report = self._run.require_report()
        if report.mode is not Mode.CHECK:
            raise WrongStageError(f"{action} is for a helpdesk visit (check mode) only")
        if self.stage not in (Stage.TESTS, Stage.CONFIRM, Stage.REFRESH):
            raise WrongStageError(f"{action} is not possible while the run is in '{self.stage}'")
        return report, report.helpdesk or Helpdesk()

    def record_consent(self, consent: HelpdeskConsent) -> None:
        """What the resident agreed the server may keep; before the visit is reported."""
        report, helpdesk = self._helpdesk_record("the resident's consent")
        report.helpdesk = helpdesk.model_copy(update={"consent": consent})
        self._persist()

    def confirm_refresh(self, *, copy_made: bool) -> None:
        """The resident's separate yes to a refresh: their files will be gone, a copy was made.

        Without a copy nothing is wiped (:class:`NotConfirmedError`). The disks are
        then confirmed as in an intake run, with the same refusals.
        """
        report, helpdesk = self._helpdesk_record("a refresh")
        if not copy_made:
            raise NotConfirmedError(
                "no copy of the resident's files was made: nothing is wiped",
                hint="make a copy of the files first, or finish the check without a refresh",
            )
        self._run.life.move(Stage.REFRESH, action="a refresh")
        confirmation = RefreshConfirmation(
            files_gone_understood=True, copy_made=True, confirmed_at=datetime.now(UTC)
        )
        report.helpdesk = helpdesk.model_copy(update={"refresh": confirmation})
        self._persist()
        self.emit(self._stage_event(Stage.REFRESH))

    def _confirm_stage(self) -> Stage:
        """Where confirmed disks wait: CONFIRM, or for a resident's laptop REFRESH."""
        return Stage.REFRESH if self._run.life.helpdesk else Stage.CONFIRM

    def _candidates(self) -> tuple[list[Disk], list[tuple[Disk, Reason]]]:
        report = self._run.report
        if report is None:
            return [], []
        return candidates(report.components.disks, self.config, self.root)

    def targets(self) -> list[Disk]:
        """The disks the confirm screen lists: internal, not in use, allowed."""
        return self._candidates()[0]

    def refused(self) -> list[tuple[Disk, str]]:
        """Disks that will not be touched, each with the reason in words."""
        return [(disk, why.message) for disk, why in self._candidates()[1]]

    def refusals(self) -> list[tuple[Disk, Reason]]:
        """:meth:`refused` with coded reasons, so a screen can word them in its language."""
        return self._candidates()[1]

    def confirm(self, disk_names: Sequence[str]) -> None:
        """The explicit consent to wipe exactly these disks (kernel names or paths).

        Only at the confirmation (reached after the tests, or straight from
        them when the operator skips them); never during or after a run.
        """
        run = self._run
        run.require_report()
        waiting = self._confirm_stage()
        if waiting is Stage.REFRESH and self.stage is not Stage.REFRESH:
            raise NotConfirmedError(
                "a resident's own laptop is wiped only after the refresh confirmation",
                hint="the resident confirms the refresh first (files gone, copy made)",
            )
        if not run.life.can(waiting):
            raise WrongStageError(
                f"disks are confirmed before the wipe, not in '{self.stage.value}'"
            )
        wanted = {Path(n).name for n in disk_names}
        if not wanted:
            raise NotConfirmedError("no disk was confirmed")
        by_name = {d.name: d for d in self.targets()}
        unknown = wanted - set(by_name)
        if unknown:
            raise NotConfirmedError(
                f"not a disk that may be wiped here: {', '.join(sorted(unknown))}"
            )
        confirmed = []
        for name in sorted(wanted):
            try:
                confirmed.append(resolve(by_name[name].path, self.root))
            except RefusedError as exc:
                raise NotConfirmedError(exc.message, hint=exc.hint) from exc
        run.confirmed = confirmed
        run.life.move(waiting)
        self._persist()
        labels = ", ".join(disk_label(t.disk) for t in confirmed)
        self.emit(notice("info", "notice.confirmed", disks=labels))

    def cancel(self) -> None:
        """Stop: before the confirmation nothing happened; during a wipe, stop it safely.

        Too late once grading started (the report is being made); a no-op when
        no run is going on.
        """
        run = self._run
        run.stop.set()
        if not run.life.can(Stage.CANCELLED):
            return
        run.life.move(Stage.CANCELLED)
        run.confirmed = []
        self.state.clear()
        self.emit(self._stage_event(Stage.CANCELLED))

    def _fail(self) -> None:
        """The run cannot go on: FAILED; its saved state stays, so a restart can resume."""
        if self._run.life.can(Stage.FAILED):
            self._run.life.move(Stage.FAILED)
            self.emit(self._stage_event(Stage.FAILED))

    # ------------------------------------------------------------------ destructive part

    def run(self) -> Report:
        """Wipe, verify, flash, grade and report; only after :meth:`confirm`."""
        run = self._run
        run.require_report()
        if not run.confirmed:
            raise NotConfirmedError(
                "nothing is wiped without confirmation", hint="confirm the disks first"
            )
        if self.stage is not self._confirm_stage():
            raise WrongStageError(f"run() follows confirm(), not '{self.stage.value}'")
        return self._continue(run, Stage.WIPE)

    def finish(self) -> Report:
        """Grade and report without wiping: helpdesk (check) mode, or nothing to wipe."""
        run = self._run
        report = run.require_report()
        if run.confirmed:
            raise WrongStageError("disks were confirmed for wiping: call run()")
        key = self._station_key(report)
        return self._guarded(lambda: self._finish(run, report, key))

    def _continue(self, run: LaptopRun, start: Stage) -> Report:
        """From ``start`` on: wipe (what is not verified erased yet), flash, grade, report."""
        report = run.require_report()
        key = self._station_key(report)

        def steps() -> Report:
            if start in (Stage.WIPE, Stage.FLASH):
                self._move(Stage.WIPE)
                self._wipe(run, report, key)
                self._stop_if_cancelled(run)
                self._move(Stage.FLASH)
                self._flash(run, report)
                self._stop_if_cancelled(run)
            return self._finish(run, run.require_report(), key)

        return self._guarded(steps)

    def _guarded(self, steps: Callable[[], Report]) -> Report:
        """Run ``steps`` with the disk watcher on; FAILED (state kept for a resume) on an error."""
        run = self._run
        watcher = DiskWatcher(
            self.root, self._emit, self.config.station.data_dir, on_stick_back=self.keeper.retry
        )
        watcher.start()
        try:
            return steps()
        except RunCancelledError:
            raise
        except BaseException:
            if run.life.stage not in ENDED:
                self._fail()
            raise
        finally:
            watcher.stop()

    def _stop_if_cancelled(self, run: LaptopRun) -> None:
        if run.stop.is_set():
            self.emit(notice("warning", "notice.cancelled"))
            raise RunCancelledError("the run was stopped; nothing more is done to this laptop")

    def _station_key(self, report: Report) -> Ed25519PrivateKey:
        key = station_key(self.config)
        report.station = Station(
            name=self.config.station.name,
            hostname=socket.gethostname() or None,
            agent_version=__version__,
            public_key=public_key_b64(key),
        )
        return key

    def _wipe(self, run: LaptopRun, report: Report, key: Ed25519PrivateKey) -> None:
        wipe_targets(self, run, report, key)

    def _flash_target(self, run: LaptopRun) -> Target | None:
        ok = [t for t in run.confirmed if run.verified_erased(t.identity)]
        want = self.config.image.target
        if want != "auto":
            real = os.path.realpath(want)
            chosen = [t for t in ok if t.disk.path == real]
            return chosen[0] if chosen else None
        ok.sort(key=lambda t: (_MEDIA_RANK.get(t.disk.media_type, 9), -t.disk.size_bytes))
        return ok[0] if ok else None

    def _flash(self, run: LaptopRun, report: Report) -> None:
        source = self.config.image.source
        if not source:
            self.emit(notice("info", "notice.no_image"))
            return
        if run.interruption is not None and report.images and report.images[-1].verified:
            return  # flashed and verified before the interruption
        target = self._flash_target(run)
        if target is None:
            self.emit(notice("error", "notice.no_flash_target"))
            return
        if run.interruption is not None:
            run.interruption.redone.append("flash")
        opts = FlashOptions(
            image=source,
            device=target.disk.path,
            asset_tag=report.asset_tag,
            provision=self.config.image.provision,
            cache_dir=self.config.cache_dir,
            stamp_dir=self.config.stamp_dir,
            sys_root=self.root,
            # what this run's wipe proved about this very disk lets the flash leave the
            # image's zero runs alone; not after an interruption (a half-done flash or
            # provisioning may have written there since)
            zeroed_by=run.latest_erasure(target.identity) if run.interruption is None else None,
        )
        try:
            outcome = flash(
                opts, self.runner, progress=flash_relay(self.emit, disk_label(target.disk))
            )
        except FlashFailedError as exc:
            self.emit(notice("error", "notice.flash_failed", detail=str(exc)))
            if exc.record is not None:
                report.images.append(exc.record)
            self._persist()
            return
        except DigibenchError as exc:
            self.emit(notice("error", "notice.flash_failed", detail=str(exc)))
            return
        report.images.append(outcome.record)
        self._persist()

    def _finish(self, run: LaptopRun, report: Report, key: Ed25519PrivateKey) -> Report:
        """Grade, sign, spool and upload; a resumed run that signed already only delivers."""
        if run.signed is None:
            self._move(Stage.GRADE)
            if run.machine_checks is not None:
                report.tests = merge(report.tests, run.machine_checks.results())
                run.machine_checks = None
            report.grade = grade_report(report, self.policy)
            report.finished_at = datetime.now(UTC)
            signed = sign_report(report, key)
            # a resident's laptop: the server gets only what they agreed to, signed anew
            sent = signed if report.mode is not Mode.CHECK else self._visit_upload(report, key)
            run.report, run.signed = signed, report_json(sent)
        self._move(Stage.REPORT)
        final = run.require_report()
        report_id = str(final.report_id)
        if not run.spooled:
            run.spooled = self.delivery.spool(report_id, run.signed)
            self._persist()
        run.uploaded, pending = self.delivery.upload(report_id) if run.spooled else (False, 1)
        if run.spooled:
            self.state.clear()
        run.life.move(Stage.DONE)
        self.emit(self._stage_event(Stage.DONE))
        self.emit(Finished(final, final.grade, run.uploaded, pending))
        return final

    def _visit_upload(self, report: Report, key: Ed25519PrivateKey) -> Report:
        return sign_report(visit_upload(report, self.policy), key)

    # ------------------------------------------------------------------ outbox

    def deliver_waiting(self) -> int:
        """Upload what earlier runs left on the stick (the server was down); how many still wait.

        Called when a headless run starts, so a report reaches the server on the
        next boot even when that run then fails; never raises for a server that is down.
        """
        return self.delivery.deliver_waiting()

    def outbox_pending(self) -> int:
        """Reports on the stick that the server has not acknowledged yet."""
        return self.delivery.pending()

    @staticmethod
    def skipped_tests(cosmetic: str | None) -> list[TestResult]:
        """What an unattended run records: nobody pressed keys or looked at the screen."""
        tests = [
            TestResult(name=n, outcome=TestOutcome.SKIPPED, details="unattended run")
            for n in ("keyboard", "screen")
        ]
        if cosmetic:
            tests.append(
                TestResult(name="cosmetic", outcome=TestOutcome.PASS, answers={"code": cosmetic})
            )
        return tests
