"""Signals the ingest service sends, for the apps built on its rows.

``run_stored`` is sent inside the report's transaction once every row of the run
is stored, before the run's audit event: a receiver that writes rows of its own
(the device list, server/web/summary.py) locks them before the audit chain's
head, in the order every transaction takes its locks (server/ingest/audit_chain.py).
Its receivers get ``run``.
"""

from __future__ import annotations

from django.dispatch import Signal

run_stored = Signal()
