"""The station pipeline: one laptop from inspection to report, as a state machine.

``inspect > tests > CONFIRM > wipe (+verify) > flash > grade > report > done``

The TUI and headless mode both drive this one object, so interactive and
unattended runs take the same path. Nothing destructive happens unless
:meth:`Pipeline.confirm` named the disks first. The state is persisted in the
data directory after every step, so a run cut short by a power loss resumes:
the wipe engine's journal continues each disk where it stopped, and the
report says so.

Usage (what a driver does)::

    pipeline = Pipeline(config, runner=SystemRunner(), emit=on_event)
    report = pipeline.inspect(asset_tag="DB-0042", mode=Mode.INTAKE)
    pipeline.record_tests([...])
    pipeline.confirm([d.name for d in pipeline.targets()])
    report = pipeline.run()
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from agent import __version__
from agent.config import StationConfig
from agent.erase.engine import WipeOptions, wipe_all
from agent.erase.overwrite import Pattern
from agent.erase.progress import WipeProgress
from agent.erase.safety import RefusedError, Target, resolve, stable_identity
from agent.errors import DigibenchError
from agent.flash.engine import FlashFailedError, FlashOptions, flash
from agent.flash.writer import Progress as FlashProgress
from agent.fsutil import write_atomic
from agent.grading import grade_report
from agent.inspect import inspect_machine
from agent.pipeline.events import (
    DiskProgress,
    EventSink,
    Finished,
    Notice,
    ProgressPhase,
    Stage,
    StageChanged,
    ignore,
)
from agent.pipeline.kmod import load_modules
from agent.policy import Policy, load_policy
from agent.probes.block import device_in_use, list_disks
from agent.report.reasons import reason, warning
from agent.report.schema import (
    Disk,
    ErasureResult,
    MediaType,
    Mode,
    Operator,
    Reason,
    Report,
    Station,
    TestOutcome,
    TestResult,
)
from agent.runner import Runner
from agent.signing import load_or_create_key, public_key_b64
from agent.uplink.client import UplinkConfig, Uploader, flush
from agent.uplink.outbox import Outbox
from agent.uplink.signed import report_json, sign_report

log = logging.getLogger(__name__)

STATE_FILE = "run.json"
LIVE_ROOT = Path("/")
_MEDIA_RANK = {MediaType.NVME: 0, MediaType.SSD: 1, MediaType.EMMC: 2, MediaType.HDD: 3}


class NotConfirmedError(DigibenchError):
    """A destructive step was asked for without the explicit confirmation."""


class WrongStageError(DigibenchError):
    """A step was asked for out of order."""


def disk_label(disk: Disk) -> str:
    """How a volunteer recognises a disk: model and serial, never sdX alone."""
    name = " ".join(x for x in (disk.vendor, disk.model) if x) or disk.path
    return f"{name} ({disk.serial})" if disk.serial else name


@dataclass
class ResumeInfo:
    """A run that was cut short: which laptop, how far it got."""

    asset_tag: str | None
    stage: Stage
    disks: list[str]


def _in_use(disk: Disk, detail: str) -> Reason:
    """Why a disk that something holds is refused: the main fact coded, the rest in detail."""
    if disk.holds_root:
        return reason("refuse.holds_root", "error", detail=detail)
    if disk.is_boot_medium:
        return reason("refuse.boot_medium", "error", detail=detail)
    if disk.mountpoints:
        return reason("refuse.mounted", "error", detail=detail)
    return reason("refuse.in_use", "error", detail=detail)


class Pipeline:
    """One laptop's run; see the module docstring for the order of calls."""

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
        self.stage = Stage.START
        self.mode: Mode = config.station.mode
        self.language = config.station.language
        self.server_url = config.server.url.rstrip("/") if config.server.url else None
        self.report: Report | None = None
        self._confirmed: list[Target] = []
        self._resumed = False
        self._stop = threading.Event()
        self._uploaded = False

    # ------------------------------------------------------------------ state

    @property
    def _state_path(self) -> Path:
        return self.config.state_dir / STATE_FILE

    def _set_stage(self, stage: Stage, message: str = "") -> None:
        self.stage = stage
        self._persist()
        self.emit(StageChanged(stage, message))

    def _persist(self) -> None:
        """Write the run's state atomically, so a power cut loses no step."""
        if self.report is None:
            return
        state = {
            "stage": self.stage.value,
            "report": self.report.model_dump(mode="json"),
            "confirmed": [t.identity for t in self._confirmed],
        }
        self.config.state_dir.mkdir(parents=True, exist_ok=True)
        write_atomic(self._state_path, json.dumps(state).encode())

    def _clear_state(self) -> None:
        self._state_path.unlink(missing_ok=True)

    def _load_state(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self._state_path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            self.emit(Notice("warning", f"Ignoring an unreadable run state: {exc}"))
            return None
        return data if isinstance(data, dict) else None

    def pending_resume(self) -> ResumeInfo | None:
        """A confirmed run that did not finish (power loss, crash), if any."""
        state = self._load_state()
        if not state or state.get("stage") not in {
            s.value for s in (Stage.WIPE, Stage.FLASH, Stage.GRADE, Stage.REPORT)
        }:
            return None
        report = state.get("report") or {}
        return ResumeInfo(
            asset_tag=report.get("asset_tag"),
            stage=Stage(state["stage"]),
            disks=[str(d) for d in state.get("confirmed", [])],
        )

    def resume(self) -> Report:
        """Continue a run cut short, with the disks confirmed then (found by identity)."""
        state = self._load_state()
        info = self.pending_resume()
        if state is None or info is None:
            raise WrongStageError("there is no interrupted run to resume")
        try:
            self.report = Report.model_validate(state["report"])
        except ValidationError as exc:
            raise WrongStageError(f"the interrupted run's state is damaged: {exc}") from exc
        self.mode = self.report.mode
        by_identity: dict[str, Disk] = {}
        for disk in list_disks(self.root):
            identity = stable_identity(disk, self.root)
            if identity:
                by_identity[identity] = disk
        self._confirmed = []
        for identity in info.disks:
            found = by_identity.get(identity)
            if found is None:
                self.emit(Notice("error", f"Disk {identity} from the interrupted run is gone."))
                continue
            self._confirmed.append(Target(found, identity))
        self._resumed = True
        self.report.warnings.append(warning("run.resumed", stage=info.stage.value))
        self.stage = Stage.CONFIRM
        self.emit(Notice("warning", f"Resuming the interrupted run of {info.asset_tag or '?'}."))
        return self.run()

    # ------------------------------------------------------------------ steps

    def inspect(self, *, asset_tag: str, mode: Mode, operator: str | None = None) -> Report:
        """Inventory and health of the laptop on the bench; nothing is changed."""
        asset_tag = asset_tag.strip()
        if not asset_tag:
            raise DigibenchError("an asset tag is needed", hint="scan or type the laptop's tag")
        self.mode = mode
        self._confirmed = []
        self._resumed = False
        self._stop.clear()  # a cancelled earlier laptop must not stop this one's wipe
        self._uploaded = False
        self.emit(StageChanged(Stage.INSPECT))
        self.stage = Stage.INSPECT
        testing = self.config.testing
        for name in load_modules(self.runner, testing.modprobe, sys_root=self.root):
            self.emit(Notice("info", f"Test setup: /dev/{name} appeared after modprobe."))
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
        report = self._mark_test_devices(report)
        self.report = report
        self._set_stage(Stage.TESTS)
        return report

    def _mark_test_devices(self, report: Report) -> Report:
        """In a test setup, the allowed devices play the laptop's internal disks."""
        if not self.config.testing.allowed_devices:
            return report
        disks = []
        for disk in report.components.disks:
            if self._allowed(disk):
                disk = disk.model_copy(update={"internal": True})
                report.warnings.append(warning("testing.device", path=disk.path))
            else:
                disk = disk.model_copy(update={"internal": False})
            disks.append(disk)
        report.components.disks = disks
        return report

    def _allowed(self, disk: Disk) -> bool:
        """Whether a test setup's ``allowed_devices`` names this disk (path, serial or model)."""
        for entry in self.config.testing.allowed_devices:
            kind, _, value = entry.partition(":")
            if kind == "serial" and value:
                if disk.serial is not None and disk.serial.strip() == value:
                    return True
            elif kind == "model" and value:
                if disk.model is not None and disk.model.strip() == value:
                    return True
            elif os.path.realpath(entry) == disk.path:
                return True
        return False

    def record_tests(self, tests: list[TestResult]) -> None:
        """The operator's quick tests and answers (keyboard, screen, cosmetic...)."""
        if self.report is None:
            raise WrongStageError("inspect the laptop first")
        self.report.tests = list(tests)
        self._set_stage(Stage.CONFIRM)

    def _candidates(self) -> tuple[list[Disk], list[tuple[Disk, Reason]]]:
        if self.report is None:
            return [], []
        testing = bool(self.config.testing.allowed_devices)
        ok: list[Disk] = []
        refused: list[tuple[Disk, Reason]] = []
        for disk in self.report.components.disks:
            if testing and not self._allowed(disk):
                if disk.internal or not disk.is_loop:
                    refused.append((disk, reason("refuse.not_allowed", "error")))
                continue
            if not disk.internal:
                if not disk.is_loop:
                    refused.append((disk, reason("refuse.not_internal", "error")))
                continue
            in_use = disk.in_use_reason or device_in_use(self.root, disk.name)
            if in_use:
                refused.append((disk, _in_use(disk, in_use)))
            else:
                ok.append(disk)
        return ok, refused

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
        """The explicit consent to wipe exactly these disks (kernel names or paths)."""
        if self.report is None:
            raise WrongStageError("inspect the laptop first")
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
        self._confirmed = confirmed
        self.stage = Stage.CONFIRM
        self._persist()
        self.emit(Notice("info", f"Confirmed: {', '.join(disk_label(t.disk) for t in confirmed)}"))

    def cancel(self) -> None:
        """Stop: before the confirmation nothing happened; during a wipe, stop it safely."""
        self._stop.set()
        self._confirmed = []
        self.stage = Stage.CANCELLED
        self._clear_state()
        self.emit(StageChanged(Stage.CANCELLED))

    # ------------------------------------------------------------------ destructive part

    def run(self) -> Report:
        """Wipe, verify, flash, grade and report; only after :meth:`confirm`."""
        if self.report is None:
            raise WrongStageError("inspect the laptop first")
        if not self._confirmed:
            raise NotConfirmedError(
                "nothing is wiped without confirmation", hint="confirm the disks first"
            )
        report = self.report
        key = self._station_key(report)
        self._set_stage(Stage.WIPE)
        self._wipe(report, key)
        self._set_stage(Stage.FLASH)
        self._flash(report)
        return self._finish(report, key)

    def finish(self) -> Report:
        """Grade and report without wiping: helpdesk (check) mode, or nothing to wipe."""
        if self.report is None:
            raise WrongStageError("inspect the laptop first")
        if self._confirmed:
            raise WrongStageError("disks were confirmed for wiping: call run()")
        return self._finish(self.report, self._station_key(self.report))

    def _station_key(self, report: Report) -> Ed25519PrivateKey:
        key = load_or_create_key(self.config.key_dir)
        report.station = Station(
            name=self.config.station.name,
            hostname=socket.gethostname() or None,
            agent_version=__version__,
            public_key=public_key_b64(key),
        )
        return key

    def _finish(self, report: Report, key: Ed25519PrivateKey) -> Report:
        self._set_stage(Stage.GRADE)
        report.grade = grade_report(report, self.policy)
        report.finished_at = datetime.now(UTC)
        self._set_stage(Stage.REPORT)
        report, pending = self._deliver(report, key)
        self.report = report
        self._clear_state()
        self.stage = Stage.DONE
        self.emit(StageChanged(Stage.DONE))
        self.emit(Finished(report, report.grade, self._uploaded, pending))
        return report

    def _progress(self, labels: dict[str, str]) -> Callable[[WipeProgress], None]:
        def on_progress(p: WipeProgress) -> None:
            if p.phase == "done":
                self.emit(Notice("info", f"{labels.get(p.disk, p.disk)}: {p.message}"))
                return
            phase: ProgressPhase = p.phase
            self.emit(
                DiskProgress(
                    labels.get(p.disk, p.disk),
                    phase,
                    p.done_bytes,
                    p.total_bytes,
                    p.rate_bytes_s,
                    p.eta_s,
                    p.message,
                )
            )

        return on_progress

    def _wipe(self, report: Report, key: Ed25519PrivateKey) -> None:
        cfg = self.config
        opts = WipeOptions(
            pattern=Pattern.RANDOM if cfg.wipe.pattern == "random" else Pattern.ZERO,
            verify_percent=cfg.wipe.verify_percent,
            checkpoint_every_s=cfg.wipe.checkpoint_s,
            key=key,
            record_dir=cfg.record_dir,
            state_dir=cfg.state_dir,
            operator=report.operator.name,
            station=cfg.station.name,
            host_serial=report.device.serial,
            host_asset_tag=report.asset_tag,
            root=self.root,
            confirmed=frozenset(t.identity for t in self._confirmed),
        )
        labels = {t.identity: disk_label(t.disk) for t in self._confirmed}
        outcomes = wipe_all(self._confirmed, opts, self._progress(labels), self._stop)
        self._erased = {
            t.identity
            for t, o in zip(self._confirmed, outcomes, strict=True)
            if o.record.result is ErasureResult.ERASED
        }
        done = {r.record_id for r in report.erasures}
        report.erasures.extend(o.record for o in outcomes if o.record.record_id not in done)
        self._persist()

    def _flash_target(self) -> Target | None:
        ok = [t for t in self._confirmed if t.identity in self._erased]
        want = self.config.image.target
        if want != "auto":
            real = os.path.realpath(want)
            chosen = [t for t in ok if t.disk.path == real]
            return chosen[0] if chosen else None
        ok.sort(key=lambda t: (_MEDIA_RANK.get(t.disk.media_type, 9), -t.disk.size_bytes))
        return ok[0] if ok else None

    def _flash(self, report: Report) -> None:
        source = self.config.image.source
        if not source:
            self.emit(Notice("info", "No OS image configured: not flashing."))
            return
        target = self._flash_target()
        if target is None:
            self.emit(Notice("error", "No verified-erased disk to install the OS on."))
            return
        label = disk_label(target.disk)
        opts = FlashOptions(
            image=source,
            device=target.disk.path,
            asset_tag=report.asset_tag,
            provision=self.config.image.provision,
            cache_dir=self.config.cache_dir,
            sys_root=self.root,
        )

        try:
            outcome = flash(opts, self.runner, progress=self._flash_progress(label))
        except FlashFailedError as exc:
            self.emit(Notice("error", f"Installing the OS failed: {exc}"))
            if exc.record is not None:
                report.images.append(exc.record)
            return
        except DigibenchError as exc:
            self.emit(Notice("error", f"Installing the OS failed: {exc}"))
            return
        report.images.append(outcome.record)
        self._persist()

    def _flash_progress(self, label: str) -> Callable[[FlashProgress], None]:
        """The flash writer's polled counters, as rate-limited progress events."""
        started = {"write": time.monotonic()}
        last = [0.0]

        def on_flash(p: FlashProgress) -> None:
            verifying = p.phase == "verify"
            key = "verify" if verifying else "write"
            now = time.monotonic()
            t0 = started.setdefault(key, now)
            done = p.verified if verifying else p.written
            if now - last[0] < 0.5 and done < p.to_write:
                return
            last[0] = now
            rate = done / (now - t0) if now > t0 else 0.0
            eta = (p.to_write - done) / rate if rate > 0 else None
            phase: ProgressPhase = "flash-verify" if verifying else "flash"
            self.emit(DiskProgress(label, phase, done, p.to_write, rate, eta))

        return on_flash

    def _deliver(self, report: Report, key: Ed25519PrivateKey) -> tuple[Report, int]:
        """Sign, spool to the outbox on the stick, then try to upload everything waiting.

        The report is on disk (atomically, fsynced) before any upload, and leaves
        the outbox only when the server acknowledged it; returns the signed report
        and how many reports still wait.
        """
        signed = sign_report(report, key)
        outbox = Outbox(self.config.outbox_dir)
        outbox.put(report_json(signed), source=f"report {signed.report_id}")
        self._uploaded = False
        acknowledged, remaining = self._flush(outbox)
        self._uploaded = str(signed.report_id) in acknowledged
        if self._uploaded:
            self.emit(Notice("info", "Report delivered to the server."))
        return signed, remaining

    def deliver_waiting(self) -> int:
        """Upload what earlier runs left on the stick (the server was down); how many still wait.

        Called when a headless run starts, so a report reaches the server on the
        next boot even when that run then fails; never raises for a server that is down.
        """
        outbox = Outbox(self.config.outbox_dir)
        waiting = len(outbox.pending())
        if not waiting:
            return 0
        self.emit(Notice("info", f"{waiting} report(s) from earlier runs wait on the stick."))
        acknowledged, remaining = self._flush(outbox)
        if acknowledged:
            self.emit(Notice("info", f"Delivered {len(acknowledged)} waiting report(s)."))
        return remaining

    def _flush(self, outbox: Outbox) -> tuple[set[str], int]:
        """Try to upload everything in the outbox: (acknowledged report ids, still waiting)."""
        server = self.config.server
        if not server.url or not server.token:
            self.emit(Notice("warning", "No server configured: the report stays in the outbox."))
            return set(), len(outbox.pending())
        try:
            uploader = Uploader(
                UplinkConfig(
                    server_url=server.url,
                    token=server.token,
                    ca_file=server.ca_file,
                    timeout_s=server.timeout_s,
                    retries=2,
                )
            )
        except DigibenchError as exc:
            self.emit(Notice("error", f"Cannot upload: {exc}"))
            return set(), len(outbox.pending())
        try:
            result = flush(outbox, uploader)
        finally:
            uploader.close()
        if result.error:
            self.emit(Notice("warning", f"Report(s) kept in the outbox: {result.error}"))
        return set(result.acknowledged), result.remaining

    def outbox_pending(self) -> int:
        """Reports on the stick that the server has not acknowledged yet."""
        return len(Outbox(self.config.outbox_dir).pending())

    # used by drivers for messages about tests
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
