"""Console-safe drawing: big letters and QR codes from block characters.

The bare Linux console has a 512-glyph font: full and half blocks
('█', '▀', '▄') and light/double box lines are in it; eighth blocks, rounded
corners and emoji are not. Everything drawn here uses only those glyphs.
"""

from __future__ import annotations

import segno

# 4 columns x 5 rows per letter; only what grades and short words need.
_FONT: dict[str, tuple[str, str, str, str, str]] = {
    "A": (" ██ ", "█  █", "████", "█  █", "█  █"),
    "B": ("███ ", "█  █", "███ ", "█  █", "███ "),
    "C": (" ███", "█   ", "█   ", "█   ", " ███"),
    "D": ("███ ", "█  █", "█  █", "█  █", "███ "),
    "E": ("████", "█   ", "███ ", "█   ", "████"),
    "F": ("████", "█   ", "███ ", "█   ", "█   "),
    "L": ("█   ", "█   ", "█   ", "█   ", "████"),
    "P": ("███ ", "█  █", "███ ", "█   ", "█   "),
    "R": ("███ ", "█  █", "███ ", "█ █ ", "█  █"),
    "S": (" ███", "█   ", " ██ ", "   █", "███ "),
    "T": ("████", " ██ ", " ██ ", " ██ ", " ██ "),
    "Y": ("█  █", "█  █", " ██ ", " ██ ", " ██ "),
    "+": ("    ", " █  ", "███ ", " █  ", "    "),
    "-": ("    ", "    ", "███ ", "    ", "    "),
    " ": ("    ", "    ", "    ", "    ", "    "),
}
BIG_HEIGHT = 5

#: glyphs the TUI may put on screen besides printable Latin-1 (a test checks this)
CONSOLE_GLYPHS = frozenset("█▀▄░▒▓▌▐─│┌┐└┘├┤┬┴┼═║╔╗╚╝╠╣╦╩╬·•→←↑↓")


def big_text(text: str, *, widen: int = 1) -> list[str] | None:
    """``text`` in 5-row block letters, each column ``widen`` times as wide, or
    None if a letter has no glyph."""
    letters = text.upper()
    if not letters or any(ch not in _FONT for ch in letters):
        return None
    return [
        " ".join("".join(c * widen for c in _FONT[ch][row]) for ch in letters)
        for row in range(BIG_HEIGHT)
    ]


def qr_lines(data: str, *, border: int = 2) -> list[str]:
    """A QR code as text, two modules per character cell ('▀', '▄', '█').

    Dark modules are drawn in the foreground colour, so the widget showing this
    must use a dark foreground on a light background for phones to read it.
    """
    qr = segno.make(data, error="l", micro=False)
    rows = [list(row) for row in qr.matrix_iter(scale=1, border=border)]
    if len(rows) % 2:
        rows.append([0] * len(rows[0]))
    cells = {(False, False): " ", (True, False): "▀", (False, True): "▄", (True, True): "█"}
    out = []
    for top, bottom in zip(rows[0::2], rows[1::2], strict=True):
        out.append("".join(cells[bool(a), bool(b)] for a, b in zip(top, bottom, strict=True)))
    return out
