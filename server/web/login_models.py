"""Failed logins, kept in the database so every gunicorn worker sees the same count."""

from __future__ import annotations

from typing import ClassVar

from django.db import models


class LoginFailure(models.Model):
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    #: lower-cased user name as typed (it need not exist)
    username = models.CharField(max_length=150, db_index=True)
    address = models.CharField(max_length=64, db_index=True)

    class Meta:
        app_label = "web"
        ordering: ClassVar[list[str]] = ["-at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.address}"
