"""The lending status has only the values the loans set (server/lending/service.py).

"needs re-wipe" was a value nothing set: a returned laptop already needs a new,
erasure-proven intake run before it is lent again (server/lending/rules.py; the
evidence rule's own test is tests/web/test_evidence.py).
"""

from __future__ import annotations

from server.web import vocabulary
from server.web.models import LENDING_NEXT, DeviceStatus, Lending


def test_lending_status_holds_only_what_a_loan_sets() -> None:
    assert set(Lending.values) == {"in_stock", "lent", "returned"}
    assert set(LENDING_NEXT) == set(Lending.values)
    assert {n for nexts in LENDING_NEXT.values() for n in nexts} <= set(Lending.values)
    field = DeviceStatus._meta.get_field("lending")
    assert {value for value, _label in field.choices or []} == set(Lending.values)


def test_every_lending_status_has_words_and_no_more() -> None:
    assert set(vocabulary.LABELS["lending"]) == set(Lending.values)
