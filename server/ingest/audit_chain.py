"""The audit log as a hash chain: each event carries the hash of the one before it.

An event's hash covers its canonical fields plus the previous event's hash, so
editing, deleting or reordering any stored row breaks every later link and
``digibench-server verify-audit`` names the first broken event. Appending takes a
lock on the chain head (PostgreSQL advisory lock; SQLite's writer lock, taken at
BEGIN IMMEDIATE) so two concurrent writers never link to the same predecessor.

The lock order, for every transaction that writes: rows first, in this order,
then the audit event last (the head's lock is held to the commit):

    Device  ->  Batch  ->  DeviceStatus  ->  Station  ->  the audit chain's head

A report's upload takes its device, the laptop's list row and its station, then
its audit event; a coordinator's action takes the batch before the laptop's row,
and the audit event once its rows are written. Two writers that meet then wait
for each other in turn, never in a circle (PostgreSQL would end one of them with
"deadlock detected"). tests/web/test_lock_order.py holds one writer between its
locks while another arrives.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connection

#: the "previous hash" of the first event
GENESIS = "0" * 64
#: pg_advisory_xact_lock key for the chain head ("DGBAUDIT" as a number)
_PG_LOCK = 0x4447424155444954 & 0x7FFFFFFFFFFFFFFF


def _when(at: datetime) -> str:
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    # Milliseconds: what Django's serializers keep, so a backup restores to the same hash.
    return at.astimezone(UTC).isoformat(timespec="milliseconds")


def now() -> datetime:
    """The current time at the precision the hash covers."""
    from django.utils import timezone

    at = timezone.now()
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


def event_hash(
    *,
    at: datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    details: Any,
    prev_hash: str,
) -> str:
    """sha256 over the event's canonical JSON (sorted keys, UTC microseconds) and its link."""
    payload = {
        "at": _when(at),
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "details": details,
        "prev": prev_hash,
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def hash_of(event: Any, prev_hash: str) -> str:
    return event_hash(
        at=event.at,
        actor=event.actor,
        action=event.action,
        object_type=event.object_type,
        object_id=event.object_id,
        details=event.details,
        prev_hash=prev_hash,
    )


def lock_head() -> None:
    """Serialize appends until the surrounding transaction ends."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [_PG_LOCK])
    # SQLite: the settings open every transaction with BEGIN IMMEDIATE (the writer lock).


@dataclass(frozen=True)
class Break:
    event_id: int
    at: datetime
    action: str
    reason: str


def find_breaks(events: Iterable[Any]) -> Iterator[Break]:
    """Every broken link, in id order (``events`` must come in id order)."""
    prev = GENESIS
    for event in events:
        if event.prev_hash != prev:
            yield Break(event.pk, event.at, event.action, "does not link to the event before it")
        elif hash_of(event, prev) != event.hash:
            yield Break(event.pk, event.at, event.action, "was changed after it was written")
        prev = event.hash
