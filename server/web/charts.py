"""Charts drawn on the server as SVG: no script, no CDN, and they print.

Every bar carries its number as text and a ``<title>`` (a tooltip and what a
screen reader says); series of a stacked bar differ by pattern as well as by
shade, so nothing depends on colour; and each chart comes with its numbers as a
table (in a ``<details>``, opened when printing) for who cannot see the picture.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

#: drawing area width in SVG units; the picture scales to its box
WIDTH = 480
ROW = 22
LABEL_W = 120
VALUE_W = 56
#: series fills: shade plus a pattern, so a black-and-white print still tells them apart
FILLS = ("solid-dark", "hatch", "solid-light", "dots", "cross", "solid-mid", "empty")


@dataclass(frozen=True)
class Chart:
    """A chart ready for a template: ``{{ chart.html }}``."""

    html: SafeString

    def __str__(self) -> str:
        return str(self.html)


def _e(text: object) -> str:
    return str(escape(str(text)))


def _defs(chart_id: str) -> str:
    """The pattern fills of one chart (ids prefixed, several charts share a page)."""
    p = _e(chart_id)
    return (
        "<defs>"
        f'<pattern id="{p}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#333" stroke-width="2.5"/></pattern>'
        f'<pattern id="{p}-dots" width="5" height="5" patternUnits="userSpaceOnUse">'
        '<rect width="5" height="5" fill="#fff"/><circle cx="2.5" cy="2.5" r="1.4" fill="#333"/>'
        "</pattern>"
        f'<pattern id="{p}-cross" width="6" height="6" patternUnits="userSpaceOnUse">'
        '<rect width="6" height="6" fill="#ddd"/>'
        '<path d="M0 0L6 6M6 0L0 6" stroke="#333" stroke-width="1"/></pattern>'
        "</defs>"
    )


def _fill(chart_id: str, index: int) -> str:
    kind = FILLS[index % len(FILLS)]
    return {
        "solid-dark": "#2b4c7e",
        "solid-light": "#b8c7de",
        "solid-mid": "#6b86b3",
        "empty": "#fff",
    }.get(kind, f"url(#{_e(chart_id)}-{kind})")


def _table(head: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    header = "".join(f'<th scope="col">{_e(h)}</th>' for h in head)
    return (
        f'<details class="chart-data"><summary>{_e(_("Numbers"))}</summary>'
        f"<table><tr>{header}</tr>{cells}</table></details>"
    )


def _svg(chart_id: str, title: str, height: int, body: str) -> str:
    p = _e(chart_id)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{p}" class="chart" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" preserveAspectRatio="xMinYMin meet" '
        f'aria-labelledby="{p}-title" font-family="sans-serif" font-size="12">'
        f'<title id="{p}-title">{_e(title)}</title>{_defs(chart_id)}{body}</svg>'
    )


def bars(chart_id: str, title: str, rows: Sequence[tuple[str, int]], head: str) -> Chart:
    """Horizontal bars, one per (label, count), each with its count written next to it."""
    top = max((n for _label, n in rows), default=0) or 1
    span = WIDTH - LABEL_W - VALUE_W
    parts = []
    for i, (label, n) in enumerate(rows):
        y = i * ROW
        w = round(span * n / top, 1)
        parts.append(
            f'<g class="bar" data-label="{_e(label)}" data-value="{n}">'
            f"<title>{_e(label)}: {n}</title>"
            f'<text x="{LABEL_W - 6}" y="{y + 15}" text-anchor="end">{_e(label)}</text>'
            f'<rect x="{LABEL_W}" y="{y + 3}" width="{w}" height="{ROW - 6}" '
            f'fill="{_fill(chart_id, 0)}" stroke="#000" stroke-width="0.5"/>'
            f'<text x="{LABEL_W + w + 4}" y="{y + 15}">{n}</text></g>'
        )
    if not rows:
        parts.append(f'<text x="{LABEL_W}" y="15">–</text>')
    svg = _svg(chart_id, title, max(1, len(rows)) * ROW + 4, "".join(parts))
    data = _table([head, "#"], rows)
    return Chart(mark_safe(f'<figure class="chart-box">{svg}{data}</figure>'))  # noqa: S308


def columns(chart_id: str, title: str, rows: Sequence[tuple[str, int]], head: str) -> Chart:
    """Vertical columns over time (oldest left), each with its count on top."""
    height, axis = 170, 30
    top = max((n for _label, n in rows), default=0) or 1
    n_cols = max(1, len(rows))
    slot = (WIDTH - 10) / n_cols
    label_every = max(1, round(n_cols / 12))
    base = height - axis
    parts = [f'<line x1="5" y1="{base}" x2="{WIDTH - 5}" y2="{base}" stroke="#000"/>']
    for i, (label, n) in enumerate(rows):
        h = round((height - axis - 18) * n / top, 1)
        x = round(5 + i * slot + slot * 0.15, 1)
        w = round(slot * 0.7, 1)
        y = height - axis - h
        cx = round(x + w / 2, 1)
        shown = (
            f'<text x="{cx}" y="{base + 14}" text-anchor="middle" font-size="10">{_e(label)}</text>'
            if i % label_every == 0
            else ""
        )
        count = (
            f'<text x="{cx}" y="{y - 3}" text-anchor="middle" font-size="10">{n}</text>'
            if n
            else ""
        )
        parts.append(
            f'<g class="bar" data-label="{_e(label)}" data-value="{n}">'
            f"<title>{_e(label)}: {n}</title>"
            f'<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="{_fill(chart_id, 0)}" '
            f'stroke="#000" stroke-width="0.5"/>{count}{shown}</g>'
        )
    svg = _svg(chart_id, title, height, "".join(parts))
    data = _table([head, "#"], rows)
    return Chart(mark_safe(f'<figure class="chart-box">{svg}{data}</figure>'))  # noqa: S308


def stacked(
    chart_id: str,
    title: str,
    rows: Sequence[tuple[str, Sequence[int]]],
    keys: Sequence[str],
    head: str,
) -> Chart:
    """One horizontal bar per row, split into ``keys``; a legend names each pattern."""
    top = max((sum(values) for _label, values in rows), default=0) or 1
    span = WIDTH - LABEL_W - VALUE_W
    legend_h = ROW
    parts = []
    x = 0
    for k, key in enumerate(keys):
        parts.append(
            f'<g class="legend"><rect x="{x}" y="4" width="12" height="12" '
            f'fill="{_fill(chart_id, k)}" stroke="#000" stroke-width="0.5"/>'
            f'<text x="{x + 16}" y="14">{_e(key)}</text></g>'
        )
        x += 24 + 7 * len(key)
    for i, (label, values) in enumerate(rows):
        y = legend_h + i * ROW
        parts.append(f'<text x="{LABEL_W - 6}" y="{y + 15}" text-anchor="end">{_e(label)}</text>')
        left = float(LABEL_W)
        for k, (key, n) in enumerate(zip(keys, values, strict=True)):
            if not n:
                continue
            w = round(span * n / top, 1)
            text = (
                f'<text x="{round(left + w / 2, 1)}" y="{y + 15}" text-anchor="middle" '
                f'font-size="10" stroke="#fff" stroke-width="2.5" paint-order="stroke">'
                f"{_e(key)}</text>"
                if w >= 8 * len(key) + 4
                else ""
            )
            parts.append(
                f'<g class="bar" data-label="{_e(label)}" data-key="{_e(key)}" data-value="{n}">'
                f"<title>{_e(label)}, {_e(key)}: {n}</title>"
                f'<rect x="{round(left, 1)}" y="{y + 3}" width="{w}" height="{ROW - 6}" '
                f'fill="{_fill(chart_id, k)}" stroke="#000" stroke-width="0.5"/>{text}</g>'
            )
            left += w
        parts.append(f'<text x="{round(left + 4, 1)}" y="{y + 15}">{sum(values)}</text>')
    svg = _svg(chart_id, title, legend_h + max(1, len(rows)) * ROW + 4, "".join(parts))
    data = _table([head, *keys], [(label, *values) for label, values in rows])
    return Chart(mark_safe(f'<figure class="chart-box">{svg}{data}</figure>'))  # noqa: S308
