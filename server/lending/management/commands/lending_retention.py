"""Pseudonymise borrowers whose last loan ended longer ago than the retention period.

Run daily: ``server/lending/deploy/digibench-lending-retention.timer`` starts its service
(docs/production.md, "Borrowers' personal data"), or ``python -m django lending_retention``
from cron with the server's environment.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from server.lending import service


class Command(BaseCommand):
    help = "Pseudonymise borrowers past the retention period (counts and loans are kept)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--now", help="ISO date-time to act as now (for checks)")

    def handle(self, *args: Any, **options: Any) -> None:
        now = None
        if options["now"]:
            try:
                now = datetime.fromisoformat(options["now"])
            except ValueError as exc:
                raise CommandError(f"--now: {exc}") from exc
            if now.tzinfo is None:
                raise CommandError("--now needs a time zone, e.g. 2027-01-01T00:00+00:00")
        done = service.apply_retention(now)
        self.stdout.write(f"{done} borrower(s) pseudonymised")
