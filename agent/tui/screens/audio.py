"""The sound test: a tone left, then right; the microphone listens; one key answers.

The tones play in a worker thread as soon as the screen opens (F5 plays them
again). The station measures the microphone itself; the volunteer only says
whether they heard a tone on each side (F2), not at all (F3), or one side only
(F6: the left stayed silent, F7: the right): still one key. Dismisses with one
:class:`TestResult` named ``audio``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Footer, Static

from agent.checks.audio_loopback import Loopback
from agent.report.schema import TestOutcome, TestResult
from agent.tui.i18n import N_, _
from agent.tui.screens.base import StationScreen

MIC_WORDS = {
    "ok": N_("Microphone: it heard the tones ({margin:.0f} dB above the background noise)."),
    "silent": N_("Microphone: it did not hear the tones."),
    "unmeasurable": N_("Microphone: not measurable (it recorded pure digital silence)."),
    "no_recording": N_("Microphone: nothing was recorded ({error})."),
}


class AudioScreen(StationScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "answer('pass')", N_("Heard both"), id="audio-heard"),
        Binding("f3", "answer('fail')", N_("Not heard"), id="audio-not-heard"),
        Binding("f4", "answer('skipped')", N_("Skip"), id="audio-skip"),
        # not in the footer (at 80 columns they would push F9/F10 off the screen, cut in
        # the middle): the instruction above names them
        Binding("f5", "again", N_("Play again"), id="audio-again", show=False),
        Binding("f6", "answer('left')", N_("Left silent"), id="audio-left-silent", show=False),
        Binding("f7", "answer('right')", N_("Right silent"), id="audio-right-silent", show=False),
    ]

    def __init__(self, play: Callable[[], Loopback]) -> None:
        super().__init__()
        self.play = play
        self.found: Loopback | None = None
        self.playing = False

    def compose(self) -> ComposeResult:
        with Vertical(id="check-box"):
            yield Static(_("Sound test"), classes="title")
            yield Static(
                _(
                    "Listen: a tone on the left speaker, then on the right. F2: heard both; "
                    "F6 or F7: the left or the right one stayed silent. F5: play again."
                ),
                markup=False,
            )
            yield Static(self._status(), id="audio-status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.action_again()

    def action_again(self) -> None:
        if self.playing:
            return
        self.playing = True
        self.query_one("#audio-status", Static).update(self._status())
        self.run_worker(self._play, thread=True, group="audio")

    def _play(self) -> None:
        found = self.play()
        self.app.call_from_thread(self._show, found)

    def _show(self, found: Loopback) -> None:
        self.found, self.playing = found, False
        self.query_one("#audio-status", Static).update(self._status())

    def _status(self) -> str:
        found = self.found
        if self.playing or found is None:
            return _("Playing the tones...")
        lines = (
            []
            if found.played
            else [_("No sound could be played: {error}").format(error=found.error or "")]
        )
        margin = (found.tone_db or 0.0) - (found.floor_db or 0.0)
        lines.append(_(MIC_WORDS[found.mic]).format(margin=margin, error=found.error or ""))
        return "\n".join(lines)

    def action_answer(self, outcome: str) -> None:
        found = self.found
        if found is None or self.playing:
            if outcome == "skipped":
                self.dismiss(
                    TestResult(name="audio", outcome=TestOutcome.SKIPPED, details="not waited for")
                )
            return
        if outcome in ("left", "right"):
            self.dismiss(found.result(False, silent="left" if outcome == "left" else "right"))
            return
        self.dismiss(found.result(None if outcome == "skipped" else outcome == "pass"))
