"""Small console-safe widgets: verdict badges, the keyboard map, disk progress, QR."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget
from textual.widgets import Static

from agent.pipeline.events import DiskProgress
from agent.tui.glyphs import big_text, qr_lines
from agent.tui.i18n import N_, _
from agent.tui.keyboards import Layout
from agent.tui.text import human_duration

_PHASES = {
    "firmware": N_("firmware erase"),
    "wipe": N_("wipe"),
    "verify": N_("verify"),
    "flash": N_("flash"),
    "flash-verify": N_("flash check"),
    "provision": N_("set up"),
}


def phase_text(phase: str) -> str:
    return _(_PHASES.get(phase, phase))


class Badge(Static):
    """A verdict in a coloured box; the colour class is the verdict value."""

    def __init__(self, verdict: str, text: str) -> None:
        super().__init__(f" {text.upper()} ", classes=f"badge verdict-{verdict}")


class BigText(Static):
    """A word in 5-row block letters (the grade), plain text if a glyph is missing."""

    def __init__(self, text: str, *, id: str | None = None, classes: str | None = None) -> None:
        lines = big_text(text, widen=2 if len(text) <= 2 else 1)  # a grade letter: bolder
        super().__init__("\n".join(lines) if lines else text.upper(), id=id, classes=classes)


class QRCode(Static):
    """A QR code in half blocks; the .tcss gives it dark-on-light colours."""

    def __init__(self, data: str, *, id: str | None = None) -> None:
        super().__init__("\n".join(qr_lines(data)), id=id)
        self.data = data


class KeyboardMap(Widget):
    """The laptop keyboard: every key lights up once it has been pressed."""

    def __init__(self, layout: Layout, pressed: set[str], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.keymap = layout
        self.pressed = pressed

    def render(self) -> Text:
        text = Text()
        for index, row in enumerate(self.keymap.rows):
            if index:
                text.append("\n")
            text.append(" " * index)
            for key in row:
                style = "black on green" if key.id in self.pressed else "white on blue"
                text.append(key.label.center(key.width), style=style)
                text.append(" ")
        return text


class DiskBar(Widget):
    """One disk's line: label, phase, a block bar, percent, MB/s and time left."""

    BAR = 24

    def __init__(self, label: str, *, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self.label = label
        self.progress: DiskProgress | None = None

    def update_progress(self, progress: DiskProgress) -> None:
        self.progress = progress
        self.refresh()

    def render(self) -> Text:
        text = Text(self.label + "\n", style="bold")
        p = self.progress
        if p is None:
            text.append(_("waiting"))
            return text
        filled = round(self.BAR * min(p.percent, 100.0) / 100)
        text.append(f"{phase_text(p.phase)[:13]:<13} ")
        text.append("█" * filled, style="green")
        text.append("░" * (self.BAR - filled), style="white")
        rate = p.rate_bytes_s / 1e6
        text.append(f" {p.percent:5.1f}% {rate:7.1f} MB/s ")
        text.append(_("{time} left").format(time=human_duration(p.eta_s)))
        if p.message:
            text.append("\n" + p.message)
        return text
