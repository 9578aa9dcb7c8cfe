"""Guided quick tests: keyboard, screen, touchpad and the cosmetic question.

Each screen dismisses with a :class:`TestResult` (names ``keyboard``,
``screen``, ``touchpad``, ``cosmetic``). Answers are function keys (F2 works,
F3 broken, F4 skip) because every letter key is itself under test.
"""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Footer, Static

from agent.report.schema import SkipCause, TestOutcome, TestResult
from agent.tui.i18n import N_, _
from agent.tui.keyboards import LAYOUTS, Layout
from agent.tui.screens.base import StationScreen
from agent.tui.widgets import KeyboardMap

PASS = Binding("f2", "answer('pass')", N_("Works"), id="test-works")
FAIL = Binding("f3", "answer('fail')", N_("Broken"), id="test-broken")
SKIP = Binding("f4", "answer('skipped')", N_("Skip"), id="test-skip")


class CheckScreen(StationScreen):
    """A test screen; ``action_answer`` dismisses it with the outcome."""

    test_name = ""

    def details(self, outcome: TestOutcome) -> str | None:
        return None

    def action_answer(self, outcome: str) -> None:
        result = TestOutcome(outcome)
        cause = SkipCause.OPERATOR if result is TestOutcome.SKIPPED else None
        self.dismiss(
            TestResult(
                name=self.test_name, outcome=result, details=self.details(result), skipped_by=cause
            )
        )


class KeyboardScreen(CheckScreen):
    test_name = "keyboard"
    BINDINGS: ClassVar[list[BindingType]] = [
        PASS,
        FAIL,
        SKIP,
        Binding("f5", "layout", N_("Other layout"), id="keyboard-layout"),
    ]

    def __init__(self, layouts: tuple[Layout, ...] = LAYOUTS) -> None:
        super().__init__()
        self.layouts = layouts
        self.layout_index = 0
        self.pressed: set[str] = set()

    @property
    def keymap(self) -> Layout:
        return self.layouts[self.layout_index]

    def compose(self) -> ComposeResult:
        with Vertical(id="check-box"):
            yield Static(_("Keyboard test"), classes="title")
            yield Static(
                _("Press the keys: each one turns green. Layout: {layout}").format(
                    layout=self.keymap.title
                ),
                markup=False,
            )
            yield KeyboardMap(self.keymap, self.pressed, id="keymap")
            yield Static(self._count_text(), id="count", markup=False)
        yield Footer()

    def _count_text(self) -> str:
        total = len(self.keymap.all_keys())
        return _("{done} of {total} keys pressed").format(done=len(self.pressed), total=total)

    def on_key(self, event: events.Key) -> None:
        key = self.keymap.match(event.key, event.character)
        if key is None:
            return  # function keys and the like: leave them to the bindings
        event.stop()
        event.prevent_default()
        if key.id not in self.pressed:
            self.pressed.add(key.id)
            self.query_one(KeyboardMap).refresh()
            self.query_one("#count", Static).update(self._count_text())

    async def action_layout(self) -> None:
        self.layout_index = (self.layout_index + 1) % len(self.layouts)
        self.pressed.clear()
        await self.recompose()

    def details(self, outcome: TestOutcome) -> str | None:
        keys = self.keymap.all_keys()
        missing = [k.label for k in keys if k.id not in self.pressed]
        text = f"{self.keymap.name}: {len(keys) - len(missing)}/{len(keys)} keys pressed"
        if outcome is TestOutcome.FAIL and missing:
            text += "; not pressed: " + " ".join(missing)
        return text


#: the colours cycled on screen; backgrounds the Linux console can show
SCREEN_COLOURS = ("white", "red", "green", "blue", "black")
#: seconds each colour stays on screen before the next one (the station's setting)
SCREEN_TEST_INTERVAL_S = 1.5


class ScreenTestScreen(CheckScreen):
    """Solid colours fill the screen one after the other, to spot dead pixels."""

    test_name = "screen"
    BINDINGS: ClassVar[list[BindingType]] = [
        PASS,
        FAIL,
        Binding("space", "next_colour", N_("Next colour"), id="screen-next-colour"),
    ]

    def __init__(self, interval: float | None = SCREEN_TEST_INTERVAL_S) -> None:
        super().__init__()
        self.interval = interval
        self.colour_index = 0

    def compose(self) -> ComposeResult:
        yield Static(
            _("Look for dots that stay dark or bright. F2: all fine, F3: faults."),
            id="colour-fill",
            classes=f"fill-{SCREEN_COLOURS[self.colour_index]}",
            markup=False,
        )
        yield Footer()

    def on_mount(self) -> None:
        if self.interval:
            self.set_interval(self.interval, self.action_next_colour)

    def action_next_colour(self) -> None:
        self.colour_index = (self.colour_index + 1) % len(SCREEN_COLOURS)
        self.query_one("#colour-fill", Static).set_classes(
            f"fill-{SCREEN_COLOURS[self.colour_index]}"
        )


class TouchpadScreen(CheckScreen):
    """Optional: move the pointer into each corner. Needs mouse events (gpm, or a
    graphical terminal); on a bare console without them, skip it."""

    test_name = "touchpad"
    BINDINGS: ClassVar[list[BindingType]] = [PASS, FAIL, SKIP]
    CORNERS = ("top-left", "top-right", "bottom-left", "bottom-right")

    def __init__(self) -> None:
        super().__init__()
        self.reached: set[str] = set()

    def compose(self) -> ComposeResult:
        with Vertical(id="check-box"):
            yield Static(_("Touchpad test (optional)"), classes="title")
            yield Static(
                _("Move the pointer into each corner of the screen, then click."),
                markup=False,
            )
            yield Static(self._corner_text(), id="corners", markup=False)
        yield Footer()

    def _corner_text(self) -> str:
        names = {
            "top-left": _("top left"),
            "top-right": _("top right"),
            "bottom-left": _("bottom left"),
            "bottom-right": _("bottom right"),
        }
        return "\n".join(f"[{'x' if c in self.reached else ' '}] {names[c]}" for c in self.CORNERS)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        width, height = self.size
        horizontal = (
            "left"
            if event.screen_x < width / 4
            else "right"
            if event.screen_x >= width * 3 / 4
            else ""
        )
        vertical = (
            "top"
            if event.screen_y < height / 4
            else "bottom"
            if event.screen_y >= height * 3 / 4
            else ""
        )
        if horizontal and vertical:
            self.reached.add(f"{vertical}-{horizontal}")
            self.query_one("#corners", Static).update(self._corner_text())

    def details(self, outcome: TestOutcome) -> str | None:
        return f"corners reached: {len(self.reached)}/4"


#: R2v3 (REC) cosmetic codes a laptop can get at the bench; higher is better
COSMETIC_CODES = (
    ("C1", N_("Damaged: broken casing, screen or hinges; materials recovery only")),
    ("C2", N_("Poor: cracks, dents or missing parts (keys, feet, covers)")),
    ("C3", N_("Fair: heavy wear, deep scratches, worn keys, but complete")),
    ("C4", N_("Good: moderate wear, scratches visible at arm's length")),
    ("C5", N_("Very good: light wear, a few small scratches")),
    ("C6", N_("Excellent: hardly any sign of use")),
)
#: digits, and what the unshifted number row types on Belgian AZERTY
_COSMETIC_KEYS = {
    **{str(i + 1): code for i, (code, _text) in enumerate(COSMETIC_CODES)},
    **{ch: COSMETIC_CODES[i][0] for i, ch in enumerate("&é\"'(§")},
}


class CosmeticScreen(CheckScreen):
    test_name = "cosmetic"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(str(i + 1), f"pick('{code}')", code, id=f"cosmetic-{code.lower()}")
        for i, (code, _text) in enumerate(COSMETIC_CODES)
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="check-box"):
            yield Static(_("Cosmetic condition"), classes="title")
            yield Static(_("How does the laptop look? Press 1 to 6."), markup=False)
            for index, (code, text) in enumerate(COSMETIC_CODES):
                yield Static(f" {index + 1}  {code}  {_(text)}", markup=False, classes="choice")
        yield Footer()

    def on_key(self, event: events.Key) -> None:
        code = _COSMETIC_KEYS.get(event.character or "")
        if code is None:
            return
        event.stop()
        self.action_pick(code)

    def action_pick(self, code: str) -> None:
        self.dismiss(
            TestResult(name=self.test_name, outcome=TestOutcome.PASS, answers={"code": code})
        )
