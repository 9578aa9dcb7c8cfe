"""Writers that meet on the same rows: a report arriving while a coordinator acts.

Every transaction locks rows first and the audit chain's head last (the order
server/ingest/audit_chain.py states). These tests hold a coordinator's action
between its row lock and its audit event, let a report or a second coordinator
arrive, and check that both finish, neither undoes the other, and nothing lands
in a batch that closed in the meantime.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone

from agent.report.schema import Report
from server.web import batches, decisions
from server.web.models import Batch, BatchItem, DeviceStatus

pytestmark = pytest.mark.django_db


def _new_report_id(report: Report) -> None:
    report.report_id = uuid.uuid4()


def _someone_waits_for_a_lock(timeout_s: float = 60.0) -> None:
    """Until another session of this database waits for a lock (PostgreSQL's own view)."""
    deadline = time.monotonic() + timeout_s
    with connection.cursor() as cur:
        while time.monotonic() < deadline:
            cur.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid() "
                "AND datname = current_database()"
            )
            if cur.fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError("the second writer never waited for the first")


def _in_thread(work: Callable[[], Any], errors: list[BaseException]) -> threading.Thread:
    def run() -> None:
        try:
            work()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgresql
def test_a_report_during_a_grade_override_neither_deadlocks_nor_undoes_it(
    store: Callable[..., DeviceStatus], coordinator: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    status = store(1)
    assert status.report_grade and status.grade_override == ""
    new_grade = "C" if status.report_grade != "C" else "B"
    holding, go = threading.Event(), threading.Event()
    check = decisions.check_grade

    def held_check(*args: Any) -> list[str]:
        holding.set()  # the override holds the laptop's row; its audit event is next
        assert go.wait(60)
        return check(*args)

    monkeypatch.setattr(decisions, "check_grade", held_check)
    errors: list[BaseException] = []
    override = _in_thread(
        lambda: decisions.override_grade(status, new_grade, "screen cracked", coordinator), errors
    )
    assert holding.wait(60)
    report = _in_thread(lambda: store(1, _new_report_id), errors)
    _someone_waits_for_a_lock()  # the report waits for the laptop's row
    go.set()
    override.join(60)
    report.join(60)
    assert not errors, errors  # a deadlock ends one of the two with an error
    row = DeviceStatus.objects.get(pk=status.pk)
    assert row.last_run_id != status.last_run_id  # the report's refresh ran
    assert row.grade_override == new_grade
    assert row.grade == new_grade  # not the report's grade written over the override


def test_tags_never_join_a_batch_that_closed_after_it_was_loaded(coordinator: User) -> None:
    batch = Batch.objects.create(
        donor="Stad Antwerpen", received_on=timezone.now().date(), created_by=coordinator
    )
    loaded = Batch.objects.get(pk=batch.pk)  # the page's copy, loaded while open
    Batch.objects.filter(pk=batch.pk).update(closed_at=timezone.now(), closed_by=coordinator)
    with pytest.raises(batches.BatchError, match="closed"):
        batches.add_tags(loaded, "DG-000009", coordinator)
    assert not BatchItem.objects.exists()
