"""``python -m django webuser NAME --role coordinator``: a login for the web UI."""

from __future__ import annotations

import os
from typing import Any

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from server.web import roles


class Command(BaseCommand):
    help = (
        "Create or update a web UI user with one role; the password comes from $DIGIBENCH_PASSWORD."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--role", choices=sorted(roles.ROLES), required=True)
        parser.add_argument("--full-name", default="")

    def handle(self, *args: Any, **opts: Any) -> None:
        password = os.environ.get("DIGIBENCH_PASSWORD", "")
        if len(password) < 8:
            raise CommandError("set DIGIBENCH_PASSWORD (at least 8 characters)")
        roles.ensure_groups()
        user, _ = User.objects.get_or_create(username=opts["name"])
        first, _sep, last = opts["full_name"].partition(" ")
        user.first_name, user.last_name = first, last
        user.is_staff = opts["role"] == roles.ADMIN
        user.set_password(password)
        user.save()
        user.groups.set([Group.objects.get(name=opts["role"])])
        self.stdout.write(f"{user.username}: {opts['role']}")
