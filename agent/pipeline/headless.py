"""Unattended runs: the same pipeline as the TUI, driven by the station config.

For PXE benches, CI and the end-to-end VM test. Progress goes to a stream
as plain lines (one per stage, notice, and at most one per disk and phase
every few seconds), so a serial console or a log file stays readable.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from agent.config import StationConfig
from agent.errors import DigibenchError
from agent.pipeline.events import (
    DiskProgress,
    Event,
    EventSink,
    Finished,
    Notice,
    StageChanged,
    notice,
    tee,
)
from agent.pipeline.station import Pipeline
from agent.pipeline.unattended_checks import Checkers, run_unattended_checks
from agent.report.schema import ErasureResult, HelpdeskConsent, Mode, Peripherals, Report
from agent.runner import Runner

EXIT_OK = 0
EXIT_FAILED = 1


def _mb(n: float) -> str:
    return f"{n / 1e6:.0f} MB"


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class LinePrinter:
    """Turns pipeline events into progress lines."""

    def __init__(self, out: TextIO, *, every_s: float = 5.0) -> None:
        self.out = out
        self.every_s = every_s
        self._last: dict[tuple[str, str], float] = {}
        self._finished: set[tuple[str, str]] = set()

    def __call__(self, event: Event) -> None:
        if isinstance(event, StageChanged):
            extra = f": {event.message}" if event.message else ""
            self._line(f"== {event.stage.value}{extra}")
        elif isinstance(event, DiskProgress):
            key = (event.disk, event.phase)
            now = time.monotonic()
            finished = event.done_bytes >= event.total_bytes
            if finished:  # once, however often a phase reports that it is complete
                if key in self._finished:
                    return
                self._finished.add(key)
            elif now - self._last.get(key, float("-inf")) < self.every_s:
                return
            self._last[key] = now
            self._line(
                f"   {event.phase:<12} {event.disk}: {event.percent:5.1f} % "
                f"({_mb(event.done_bytes)} of {_mb(event.total_bytes)}, "
                f"{event.rate_bytes_s / 1e6:.0f} MB/s, ETA {_eta(event.eta_s)})"
            )
        elif isinstance(event, Notice):
            self._line(f"   {event.level}: {event.message}")
        elif isinstance(event, Finished):
            grade = event.grade
            if event.report.mode is Mode.CHECK:  # a resident's own laptop: never graded
                self._line("== helpdesk visit (no grade, no destination)")
            elif grade is not None and grade.grade and grade.destination:
                self._line(f"== grade {grade.grade} -> {grade.destination.value}")
                for fix in grade.to_fix:
                    self._line(f"   to fix: {fix}")
            state = "uploaded" if event.uploaded else "kept in the outbox"
            self._line(f"== report {state}; {event.outbox_pending} report(s) waiting")

    def _line(self, text: str) -> None:
        print(text, file=self.out, flush=True)


def succeeded(report: Report, config: StationConfig) -> bool:
    """Every confirmed disk erased (none refused on resume), and the OS verified if configured."""
    if report.mode is Mode.CHECK and not report.erasures:
        return True
    if not report.erasures or any(e.result is not ErasureResult.ERASED for e in report.erasures):
        return False
    if any(w.code == "run.target_refused" for w in report.warnings):
        return False  # a confirmed disk was refused on resume: it was not wiped
    if config.image.source:
        return bool(report.images) and report.images[-1].verified
    return True


def run_headless(
    config: StationConfig,
    *,
    runner: Runner,
    out: TextIO = sys.stdout,
    observe: EventSink | None = None,
    checkers: Checkers | None = None,
) -> int:
    """One unattended run (or the resumption of an interrupted one); exit status.

    ``observe`` also sees every pipeline event (the demo checks what was run);
    ``checkers`` reach the camera, sound and USB ports for ``[headless] checks``."""
    printer = LinePrinter(out)
    pipeline = Pipeline(config, runner=runner, emit=tee(printer, observe))
    if pipeline.pending_resume() is not None:
        report = pipeline.resume()
        return EXIT_OK if succeeded(report, config) else EXIT_FAILED
    pipeline.deliver_waiting()
    tag = config.headless.asset_tag
    if not tag:
        raise DigibenchError(
            "a headless run needs an asset tag",
            hint="set [headless] asset_tag in the station config",
        )
    mode = config.station.mode
    report = pipeline.inspect(asset_tag=tag, mode=mode)
    headless = config.headless
    tests = Pipeline.skipped_tests(headless.cosmetic)
    if headless.checks:
        sysfs = config.testing.profile_root or pipeline.root
        tests += run_unattended_checks(
            headless,
            pipeline.policy.checks,
            report.components.peripherals or Peripherals(),
            checkers or Checkers.on(runner, pipeline.root, sysfs),
            pipeline.emit,
        )
    pipeline.record_tests(tests)
    if mode is Mode.CHECK:
        consent = HelpdeskConsent(
            diagnosis=headless.consent_diagnosis, label=headless.consent_label
        )
        pipeline.record_consent(consent)
        if not headless.refresh:
            pipeline.finish()
            return EXIT_OK
        # the same confirmation as the TUI's refresh screen: refused without a copy
        pipeline.confirm_refresh(copy_made=headless.refresh_copy_made)
    if not config.headless.confirm_wipe:
        raise DigibenchError(
            "a headless intake run wipes disks only with explicit consent",
            hint="set [headless] confirm_wipe = true in the station config",
        )
    targets = pipeline.targets()
    for disk, why in pipeline.refused():
        printer(notice("info", "notice.not_touching", disk=disk.path, why=why))
    if not targets:
        raise DigibenchError("no disk may be wiped on this machine; nothing done")
    pipeline.confirm([d.name for d in targets])
    report = pipeline.run()
    return EXIT_OK if succeeded(report, config) else EXIT_FAILED
