"""Numbered pages for the short lists (loans, borrowers, sessions, reminders, batches, visits).

These lists hold thousands of rows at most, so an OFFSET costs little; one row more than
a page tells whether there is a next one, without counting. (The device list, 100,000
rows, pages by keyset instead: server/web/listing.py.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.http import QueryDict

PAGE_SIZE = 50


@dataclass
class Page:
    rows: list[Any]
    number: int
    #: the query string of the previous and next page ("" when there is none)
    prev_query: str
    next_query: str


def number(params: QueryDict) -> int:
    """The asked page (1 for anything that is not a sensible page number)."""
    text = params.get("page", "")
    return int(text) if text.isascii() and text.isdigit() and 0 < len(text) < 7 else 1


def _query(params: QueryDict, page: int) -> str:
    p = params.copy()
    p["page"] = str(page)
    return p.urlencode()


def page(
    source: QuerySet[Any] | Sequence[Any] | Callable[[int, int], list[Any]],
    params: QueryDict,
    size: int = PAGE_SIZE,
) -> Page:
    """Rows of the asked page: ``source`` is a queryset (sliced) or ``f(start, stop)``."""
    n = number(params)
    start = (n - 1) * size
    rows = list(
        source(start, start + size + 1) if callable(source) else source[start : start + size + 1]
    )
    more = len(rows) > size
    return Page(
        rows=rows[:size],
        number=n,
        prev_query=_query(params, n - 1) if n > 1 else "",
        next_query=_query(params, n + 1) if more else "",
    )
