"""One borrower's rights: ``export`` everything held (JSON) or ``erase`` the personal data.

``python -m django lending_borrower export <reference>`` and
``python -m django lending_borrower erase <reference> --yes``.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from server.lending import service
from server.lending.models import Borrower


class Command(BaseCommand):
    help = "Export (right of access) or erase (right to erasure) one borrower's data."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["export", "erase"])
        parser.add_argument("reference", help="the programme's reference of the borrower")
        parser.add_argument("--yes", action="store_true", help="confirm the erasure")
        parser.add_argument("--by", default="admin", help="who asked (for the audit log)")

    def handle(self, *args: Any, **options: Any) -> None:
        borrower = Borrower.objects.filter(reference=options["reference"]).first()
        if borrower is None:
            raise CommandError(f"no borrower with reference {options['reference']!r}")
        if options["action"] == "export":
            data = service.export_borrower(borrower)
            self.stdout.write(json.dumps(data, ensure_ascii=False, indent=2))
            return
        if not options["yes"]:
            raise CommandError("erasing cannot be undone: add --yes")
        service.erase_borrower(borrower, actor=f"cli:{options['by']}")
        self.stdout.write(f"borrower {borrower.pk} erased; loans kept as {borrower.reference}")
