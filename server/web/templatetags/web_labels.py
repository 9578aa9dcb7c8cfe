"""``{{ value|label:"disk_verdict" }}``: an enum's raw value in the page's language."""

from __future__ import annotations

from django import template

from server.web import vocabulary

register = template.Library()


@register.filter(name="label")
def label(value: object, kind: str) -> str:
    return vocabulary.label(kind, value)
