"""The station TUI: one thin driver of the pipeline, screen by screen.

Blocking pipeline calls (inspect, run) run in worker threads; everything they
report comes back as messages on the app's queue, in order, through the
:class:`EventBridge` (events) or ``post_message`` (return values).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.scrollbar import ScrollBar, ScrollBarRender

from agent.checks.audio_loopback import Loopback, loopback
from agent.checks.camera_frame import CameraFrame, grab_frame
from agent.checks.charger import unplugged
from agent.checks.devices import device_checks
from agent.checks.locks import lock_warnings
from agent.checks.usb_ports import PortWatch
from agent.config import StationConfig
from agent.errors import DigibenchError
from agent.helpdesk_summary import write_summary_pdf
from agent.pipeline.events import DiskProgress, EventSink, Finished, Notice, tee
from agent.pipeline.station import Pipeline
from agent.pipeline.station import disk_label as progress_label
from agent.policy import ChecksPolicy, EffectsPolicy
from agent.probes.camera import camera_nodes
from agent.report.schema import Disk, Grade, HelpdeskConsent, Mode, Reason, Report, TestResult
from agent.runner import Runner
from agent.tui import i18n
from agent.tui.driver import EventBridge, PipelineEvent, StationPipeline
from agent.tui.i18n import N_, _
from agent.tui.keyboards import LAYOUTS, Layout
from agent.tui.screens.ask import AskScreen
from agent.tui.screens.audio import AudioScreen
from agent.tui.screens.base import StationModal, StationScreen
from agent.tui.screens.camera import CameraScreen
from agent.tui.screens.checks import (
    SCREEN_TEST_INTERVAL_S,
    CosmeticScreen,
    KeyboardScreen,
    ScreenTestScreen,
    TouchpadScreen,
)
from agent.tui.screens.confirm import ConfirmScreen
from agent.tui.screens.consent import ConsentScreen
from agent.tui.screens.devices import DevicesScreen
from agent.tui.screens.progress import ProgressScreen
from agent.tui.screens.refresh import RefreshScreen
from agent.tui.screens.result import ResultScreen
from agent.tui.screens.start import StartScreen
from agent.tui.screens.stopped import StoppedScreen
from agent.tui.screens.summary import SummaryScreen
from agent.tui.screens.usb_ports import UsbPortsScreen
from agent.tui.screens.working import ErrorScreen, WorkingScreen

if TYPE_CHECKING:  # the labels (and PIL) are only loaded by `digibench run`'s label sink
    from agent.labels.finished import LabelFailed, LabelOnFinish, LabelOutcome

log = logging.getLogger(__name__)


class ConsoleScrollBarRender(ScrollBarRender):
    """Scrollbar ends drawn with half blocks: the console font has no eighths."""

    VERTICAL_BARS: ClassVar[list[str]] = ["▄"] * 4 + [" "] * 4
    HORIZONTAL_BARS: ClassVar[list[str]] = ["▐"] * 4 + [" "] * 4


ScrollBar.renderer = ConsoleScrollBarRender

#: notices that say the server refuses this station itself (agent.pipeline.delivery)
STATION_REFUSED = frozenset(
    {"notice.station_revoked", "notice.station_suspended", "notice.station_unknown"}
)

_KEY_NAMES = {"enter": N_("Enter"), "escape": N_("Esc"), "tab": N_("Tab"), "space": N_("Space")}


def key_display(binding: Binding, default: Callable[[Binding], str]) -> str:
    """A key's name in the footer, in words (the console font has no arrow glyphs)."""
    if binding.key_display:
        return binding.key_display
    if binding.key in _KEY_NAMES:
        return _(_KEY_NAMES[binding.key])
    return default(binding).upper()


class Inspected(Message):
    def __init__(self, report: Report) -> None:
        super().__init__()
        self.report = report


class RunReturned(Message):
    def __init__(self, report: Report) -> None:
        super().__init__()
        self.report = report


class PipelineFailed(Message):
    def __init__(self, message: str, *, during_run: bool) -> None:
        super().__init__()
        self.message = message
        self.during_run = during_run


def error_text(error: BaseException) -> str:
    if isinstance(error, DigibenchError):
        hint = getattr(error, "hint", None)
        return f"{error}" + (f"\n{hint}" if hint else "")
    return f"{type(error).__name__}: {error}"


class DigibenchApp(App[None]):
    """``DigibenchApp(pipeline, bridge)``; the pipeline must emit into ``bridge``."""

    CSS_PATH = "digibench.tcss"
    TITLE = "Digibench"
    ENABLE_COMMAND_PALETTE = False  # a kiosk: every action is on the footer
    BINDINGS: ClassVar[list[BindingType]] = [
        # named by the language it switches to, in that language ("English" on a Dutch
        # screen): whoever cannot read the screen finds their own language's name
        Binding("f9", "switch_language", N_("Other language"), id="language"),
        Binding("f10", "ask_quit", N_("Quit"), id="quit"),
        # the usual quit keys ask the same question (Ctrl+C would copy in the tag field)
        Binding("ctrl+q", "ask_quit", N_("Quit"), show=False, priority=True, id="quit-ctrl-q"),
        Binding("ctrl+c", "ask_quit", N_("Quit"), show=False, priority=True, id="quit-ctrl-c"),
    ]

    def __init__(
        self,
        pipeline: StationPipeline,
        bridge: EventBridge | None = None,
        *,
        runner: Runner,
        swappable_disks: bool = False,
        layouts: tuple[Layout, ...] = LAYOUTS,
        screen_test_interval: float | None = SCREEN_TEST_INTERVAL_S,
        touchpad_test: bool | None = None,
        helpdesk_summary: Callable[[Report], Path | None] | None = None,
        device_checks: ChecksPolicy | None = None,
        locks_policy: EffectsPolicy | None = None,
        camera_test: Callable[[], CameraFrame] | None = None,
        audio_test: Callable[[], Loopback] | None = None,
        usb_ports: PortWatch | None = None,
        charger: Callable[[], bool | None] | None = None,
        label_of: Callable[[Report], LabelOutcome | LabelFailed | None] | None = None,
    ) -> None:
        super().__init__()
        #: whether the charger is out now (the devices screen's unplug step); None: not asked
        self.charger = charger
        #: what became of a finished laptop's label (printed, saved, failed), for the result
        self.label_of = label_of
        #: plays the tones and records the microphone for the sound screen
        self.audio_test = audio_test
        #: the sockets to expect and the kernel's insertions, for the USB map
        self.usb_ports = usb_ports
        #: grabs one webcam frame for the camera screen (None: the camera is only listed)
        self.camera_test = camera_test
        #: which firmware locks the confirm screen names; None: none shown
        self.locks_policy = locks_policy
        #: the device checks step (issue #19), as the policy sets it; None: left out
        self.device_checks = device_checks
        #: writes the resident's one-page PDF after a helpdesk check (None: not written)
        self.helpdesk_summary = helpdesk_summary
        self.theme = "ansi-dark"
        self.pipeline = pipeline
        self.runner = runner  # for switching off; never a real one in tests
        self.swappable_disks = swappable_disks
        self.bridge = bridge or EventBridge()
        self.layouts = layouts
        self.screen_test_interval = screen_test_interval
        # The bare Linux console reports no mouse, so the touchpad test is left
        # out there (one keystroke less); elsewhere it is offered (skippable).
        self.touchpad_test = (
            os.environ.get("TERM") != "linux" if touchpad_test is None else touchpad_test
        )
        self.asset_tag = ""
        self.mode = pipeline.mode
        self.report: Report | None = None
        self.tests: list[TestResult] = []
        self.targets: list[Disk] = []
        self.result_shown = False
        self.working = False  # a pipeline step runs behind the progress screen
        self.stopping = False  # cancel() was called; waiting for the step to return
        self.quit_after_stop = False
        self.progress_seen: dict[str, DiskProgress] = {}
        #: the server refused this station (revoked, suspended): said on the result screen
        self.station_refused: Notice | None = None

    # ------------------------------------------------------------------ plumbing

    def on_mount(self) -> None:
        i18n.set_language(self.pipeline.language)
        self.bridge.attach(self)
        self.push_screen(StartScreen(self.mode, outbox_pending=self._outbox()))
        resume = self.pipeline.pending_resume()
        if resume is not None:
            # A confirmed run was cut short: it continues without a keypress.
            self.asset_tag = resume.asset_tag or "?"
            self._start_work(self.pipeline.resume)

    def on_unmount(self) -> None:
        self.bridge.detach()

    def get_key_display(self, binding: Binding) -> str:
        return key_display(binding, super().get_key_display)

    def _outbox(self) -> int:
        try:
            return self.pipeline.outbox_pending()
        except Exception:  # only a display figure: never let it stop the station
            self.log.warning("outbox_pending failed")
            return 0

    def on_pipeline_event(self, message: PipelineEvent) -> None:
        event = message.event
        if isinstance(event, DiskProgress):
            self.progress_seen[event.disk] = event
        if isinstance(event, Notice) and event.code in STATION_REFUSED:
            self.station_refused = event
        if self.stopping:
            if isinstance(self.screen, StationScreen):
                self.screen.pipeline_event(event)
            return  # the stopped screen follows when the step has returned
        if isinstance(event, Finished):
            self.show_result(event.report, event.grade, event.uploaded, event.outbox_pending)
        elif isinstance(self.screen, StationScreen):
            self.screen.pipeline_event(event)

    async def action_switch_language(self) -> None:
        i18n.set_language(i18n.next_language())
        for screen in self.screen_stack:
            if isinstance(screen, StationScreen | StationModal):
                await screen.relabel()
        self.refresh_bindings()

    def _show(self, screen: StationScreen) -> None:
        """Replace the current screen, closing a question that was open over it."""
        while isinstance(self.screen, StationModal):
            self.pop_screen()
        self.switch_screen(screen)

    def back_to_start(self, error: str = "") -> None:
        self.report = None
        self.result_shown = False
        self._show(StartScreen(self.mode, outbox_pending=self._outbox(), error=error))

    # ------------------------------------------------------------------ the way out

    def action_ask_quit(self) -> None:
        """F10, Ctrl+Q, Ctrl+C: ask first (the answer starts on "no"); a run is stopped first."""
        if self.stopping or isinstance(self.screen, AskScreen):
            return
        if self.working:
            question = _("Stop the run and quit Digibench?")
            detail = _("Disks that are not finished are NOT erased.")
        else:
            question, detail = _("Quit Digibench?"), ""
        ask = AskScreen(question, detail, yes=_("Quit"), no=_("Do not quit"))
        self.push_screen(ask, self._quit_answered)

    def _quit_answered(self, yes: bool | None) -> None:
        if not yes:
            return
        if self.working:
            self._stop_run(quitting=True)
        else:
            self.exit()

    def on_progress_screen_stop(self, _message: ProgressScreen.Stop) -> None:
        if self.stopping or not self.working or isinstance(self.screen, AskScreen):
            return
        ask = AskScreen(
            _("Stop the run?"),
            _("Disks that are not finished are NOT erased."),
            yes=_("Stop"),
            no=_("Continue"),
        )
        self.push_screen(ask, self._stop_answered)

    def _stop_answered(self, yes: bool | None) -> None:
        if yes and self.working and not self.stopping:
            self._stop_run(quitting=False)

    def _stop_run(self, *, quitting: bool) -> None:
        """Cancel through the pipeline; the stopped screen follows once its step returned."""
        self.stopping = True
        self.quit_after_stop = quitting
        self.pipeline.cancel()
        if isinstance(self.screen, ProgressScreen):
            self.screen.stopping()

    def _show_stopped(self, report: Report | None) -> None:
        self.stopping = False
        stopped = StoppedScreen(
            self.asset_tag, report, dict(self.progress_seen), quitting=self.quit_after_stop
        )
        self._show(stopped)

    def on_stopped_screen_next(self, _message: StoppedScreen.Next) -> None:
        self.back_to_start()

    def on_result_screen_power_off(self, _message: ResultScreen.PowerOff) -> None:
        self._show(WorkingScreen(_("Switching off"), _("The laptop switches off in a moment.")))
        self.run_worker(self._power_off, thread=True, group="power")

    def _power_off(self) -> None:
        try:
            self.runner.run(["systemctl", "poweroff"], check=True)
        except DigibenchError as error:
            self.post_message(PipelineFailed(error_text(error), during_run=True))

    # ------------------------------------------------------------------ inspect

    def on_start_screen_submitted(self, message: StartScreen.Submitted) -> None:
        self.asset_tag, self.mode = message.asset_tag, message.mode
        self.switch_screen(WorkingScreen(_("Inspecting {tag}").format(tag=self.asset_tag)))
        self.run_worker(
            partial(self._inspect, self.asset_tag, self.mode), thread=True, group="pipeline"
        )

    def _inspect(self, asset_tag: str, mode: Mode) -> None:
        try:
            report = self.pipeline.inspect(asset_tag=asset_tag, mode=mode)
        except Exception as error:  # the volunteer must see any failure, not a crash
            self.post_message(PipelineFailed(error_text(error), during_run=False))
        else:
            self.post_message(Inspected(report))

    def on_inspected(self, message: Inspected) -> None:
        self.report = message.report
        self.switch_screen(SummaryScreen(message.report))

    def on_pipeline_failed(self, message: PipelineFailed) -> None:
        if not message.during_run:
            self.back_to_start(message.message)
            return
        self.working = False
        if self.stopping:  # the step ended on the cancel; the engine recorded the disks
            log.warning("the stopped run ended with: %s", message.message)
            self._show_stopped(None)
            return
        self._show(ErrorScreen(_("Something went wrong"), message.message))

    def on_error_screen_next(self, _message: ErrorScreen.Next) -> None:
        self.back_to_start()

    # ------------------------------------------------------------------ tests

    def on_summary_screen_next(self, _message: SummaryScreen.Next) -> None:
        if self.mode is Mode.CHECK:
            # Helpdesk: nothing is erased; what the resident lets the server keep, then
            # grade and report what was found.
            self.push_screen(ConsentScreen(self.asset_tag), self._consent_then_finish)
            return
        self.tests = []
        skips = self.device_checks.skips if self.device_checks else (lambda _name: False)
        checks: list[StationScreen] = []
        if not skips("keyboard"):
            checks.append(KeyboardScreen(self.layouts))
        if not skips("screen"):
            checks.append(ScreenTestScreen(self.screen_test_interval))
        if self.touchpad_test and not skips("touchpad"):
            checks.append(TouchpadScreen())
        checks.extend(self._device_steps())
        checks.append(CosmeticScreen())
        self._next_check(checks)

    def _device_steps(self) -> list[StationScreen]:
        """Camera picture, tones, USB map (where the station can do them), then the list
        of the other devices; a device judged on its own screen is not listed again."""
        peripherals = self.report.components.peripherals if self.report else None
        policy = self.device_checks
        if policy is None or peripherals is None:
            return []
        proposed = device_checks(peripherals, policy)
        names = {c.name for c in proposed}
        steps: list[StationScreen] = []
        if self.camera_test is not None and peripherals.cameras and "camera" in names:
            steps.append(CameraScreen(self.camera_test))
            names.discard("camera")
        if self.audio_test is not None and peripherals.sound_cards and "audio" in names:
            steps.append(AudioScreen(self.audio_test))
            names.discard("audio")
        usb = self.usb_ports
        if usb is not None and not policy.skips("usb_ports") and usb.available():
            steps.append(UsbPortsScreen(usb))
        listed = [c for c in proposed if c.name in names]
        if listed:
            steps.append(DevicesScreen(listed, self.charger, policy.charger_unplug_s))
        return steps

    def _next_check(self, remaining: list[StationScreen]) -> None:
        if not remaining:
            self.pipeline.record_tests(self.tests)
            self._ask_confirm()
            return
        screen, rest = remaining[0], remaining[1:]

        def answered(result: TestResult | list[TestResult] | None) -> None:
            if isinstance(result, list):
                self.tests.extend(result)
            elif result is not None:
                self.tests.append(result)
            self._next_check(rest)

        self.push_screen(screen, answered)

    # ------------------------------------------------------------------ helpdesk

    def _record_consent(self, consent: HelpdeskConsent | None) -> bool:
        try:
            self.pipeline.record_consent(consent or HelpdeskConsent())
        except DigibenchError as error:
            self._show(ErrorScreen(_("Something went wrong"), error_text(error)))
            return False
        return True

    def _consent_then_finish(self, consent: HelpdeskConsent | None) -> None:
        if self._record_consent(consent):
            self._start_work(self.pipeline.finish)

    def on_summary_screen_reinstall(self, _message: SummaryScreen.Reinstall) -> None:
        """Helpdesk: a refresh is offered only after its own confirmation (files gone, copy)."""
        self.push_screen(RefreshScreen(self.asset_tag), self._refresh_answered)

    def _refresh_answered(self, copy_made: bool | None) -> None:
        if not copy_made:
            return  # back on the summary; nothing happened
        try:
            self.pipeline.confirm_refresh(copy_made=True)
        except DigibenchError as error:
            self._show(ErrorScreen(_("Something went wrong"), error_text(error)))
            return
        self.push_screen(ConsentScreen(self.asset_tag), self._consent_then_confirm)

    def _consent_then_confirm(self, consent: HelpdeskConsent | None) -> None:
        if self._record_consent(consent):
            self._ask_confirm()

    # ------------------------------------------------------------------ confirm and run

    def _ask_confirm(self) -> None:
        self.targets = self.pipeline.targets()
        screen = ConfirmScreen(
            self.asset_tag, self.targets, self.pipeline.refusals(), self._lock_warnings()
        )
        self.push_screen(screen, self._confirmed)

    def _lock_warnings(self) -> list[Reason]:
        if self.report is None or self.locks_policy is None:
            return []
        return lock_warnings(self.report.components.locks, self.locks_policy)

    def _confirmed(self, confirmed: bool | None) -> None:
        if not confirmed:
            self.pipeline.cancel()
            self.back_to_start()
            return
        if not self.targets:
            self._start_work(self.pipeline.finish)
            return
        try:
            self.pipeline.confirm([disk.name for disk in self.targets])
        except DigibenchError as error:
            self.switch_screen(ErrorScreen(_("Something went wrong"), error_text(error)))
            return
        # one bar per disk from the start, labelled as the pipeline's events label them
        self._start_work(self.pipeline.run, [progress_label(d) for d in self.targets])

    def _start_work(self, step: Callable[[], Report], labels: list[str] | None = None) -> None:
        """Run a blocking pipeline step (run, resume, finish) behind the progress screen."""
        self.result_shown = False
        self.working = True
        self.progress_seen = {}
        self.switch_screen(ProgressScreen(self.asset_tag, labels or []))
        self.run_worker(partial(self._work, step), thread=True, group="pipeline")

    def _work(self, step: Callable[[], Report]) -> None:
        try:
            report = step()
        except Exception as error:  # shown on screen; the pipeline keeps its own state
            self.post_message(PipelineFailed(error_text(error), during_run=True))
        else:
            self.post_message(RunReturned(report))

    def on_run_returned(self, message: RunReturned) -> None:
        # Finished normally arrives first (same queue); this covers a pipeline that
        # returned without emitting it.
        report = message.report
        self.working = False
        if self.stopping:
            self._show_stopped(report)
            return
        self.show_result(report, report.grade, False, self._outbox())

    def show_result(
        self, report: Report, grade: Grade | None, uploaded: bool, outbox_pending: int
    ) -> None:
        if self.result_shown or self.stopping:
            return
        self.result_shown = True
        self.report = report
        self._show(
            ResultScreen(
                report,
                grade,
                server_url=self.pipeline.server_url,
                outbox_pending=outbox_pending,
                uploaded=uploaded,
                swappable_disks=self.swappable_disks,
                summary_pdf=self._summary_pdf(report),
                station_refused=self.station_refused,
                label=self._label(report),
            )
        )

    def _label(self, report: Report) -> LabelOutcome | LabelFailed | None:
        if self.label_of is None:
            return None
        try:
            return self.label_of(report)
        except Exception:  # a line on the screen only: never let it stop the station
            self.log.warning("label outcome failed")
            return None

    def _summary_pdf(self, report: Report) -> Path | None:
        if report.mode is not Mode.CHECK or self.helpdesk_summary is None:
            return None
        try:
            return self.helpdesk_summary(report)
        except Exception:  # the diagnosis on screen still stands; never crash the station
            self.log.warning("helpdesk summary PDF failed")
            return None

    def on_result_screen_next(self, _message: ResultScreen.Next) -> None:
        self.back_to_start()


def run_station(
    config: StationConfig,
    *,
    runner: Runner,
    observe: EventSink | None = None,
    labels: LabelOnFinish | None = None,
) -> None:
    """``digibench run``: the station TUI on this machine, until the volunteer quits.

    ``observe`` also sees every pipeline event (the demo checks what was run); ``labels``
    makes a finished laptop's label, which the result screen then names."""
    bridge = EventBridge()
    sink = tee(bridge, observe)
    if labels is not None:
        sink = tee(labels, sink)  # first: the label is made when the result screen asks
    pipeline = Pipeline(config, runner=runner, emit=sink)

    def summary(report: Report) -> Path:
        name = f"{report.asset_tag or report.report_id}".replace("/", "_")
        path = config.station.data_dir / "helpdesk" / f"{name}.pdf"
        return write_summary_pdf(report, pipeline.policy, path, language=i18n.language())

    sysfs = config.testing.profile_root or pipeline.root

    def camera() -> CameraFrame:
        nodes = camera_nodes(sysfs)
        device = nodes[0][0] if nodes else "/dev/video0"
        return grab_frame(runner, device)

    DigibenchApp(
        pipeline,
        bridge,
        runner=runner,
        swappable_disks=config.station.swappable_disks,
        helpdesk_summary=summary,
        device_checks=pipeline.policy.checks,
        locks_policy=pipeline.policy.effects,
        camera_test=camera,
        audio_test=lambda: loopback(runner),
        usb_ports=PortWatch(pipeline.root),
        charger=lambda: unplugged(sysfs),
        label_of=labels.outcome if labels is not None else None,
    ).run()
