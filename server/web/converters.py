"""``<id:pk>`` in URLs: a row id, or no match (404) when no row can have it.

Django's ``<int:...>`` takes any number of digits, and a number past 64 bits then
fails inside the database (500) instead of finding nothing.
"""

from __future__ import annotations

from server.web.listing import MAX_ID


class IdConverter:
    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_ID:
            raise ValueError("no row has this id")  # the URL does not match: 404
        return number

    def to_url(self, value: int) -> str:
        return str(value)
