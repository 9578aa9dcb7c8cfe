"""Asset-tag ranges as a coordinator types or scans them: ``DG-0001`` to ``DG-0120``.

One reading for every place that takes a range (donation batches, label printing)."""

from __future__ import annotations

import re

from agent.errors import DigibenchError

#: More tags than this in one range is a typo, not a print run or a donation.
MAX_LABELS = 2000
_NUMBERED = re.compile(r"^(?P<prefix>.*?)(?P<number>\d+)$")


class TagRangeError(DigibenchError):
    """A tag range that cannot be expanded (different prefixes, reversed, too long)."""


def expand_range(first: str, last: str, *, limit: int = MAX_LABELS) -> list[str]:
    """Every tag from ``first`` to ``last``, keeping the prefix and the zero padding."""
    first, last = first.strip(), last.strip()
    a, b = _NUMBERED.match(first), _NUMBERED.match(last)
    if a is None or b is None:
        raise TagRangeError(f"a tag range needs tags ending in a number: {first!r} .. {last!r}")
    if a["prefix"] != b["prefix"]:
        raise TagRangeError(f"the tags {first!r} and {last!r} have different prefixes")
    start, end = int(a["number"]), int(b["number"])
    if end < start:
        raise TagRangeError(f"{last!r} comes before {first!r}")
    if end - start + 1 > limit:
        raise TagRangeError(f"{end - start + 1} tags is more than {limit} at once")
    width = len(a["number"])
    return [f"{a['prefix']}{n:0{width}d}" for n in range(start, end + 1)]
