"""``{{ value|label:"disk_verdict" }}``: an enum's raw value in the page's language."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone

from server.web import reason_words, vocabulary

register = template.Library()


@register.filter(name="label")
def label(value: object, kind: str) -> str:
    return vocabulary.label(kind, value)


@register.filter(name="reason_text")
def reason_text(item: object) -> str:
    """A station reason (code and facts) in the page's language."""
    return reason_words.reason_text(item)


@register.simple_tag
def fix_texts(reasons: list[object], to_fix: list[str]) -> list[str]:
    return reason_words.fix_texts(list(reasons or []), list(to_fix or []))


@register.filter(name="when")
def when(value: object) -> str:
    """An ISO time from a signed payload, on the organisation's clock (Europe/Brussels)."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


@register.simple_tag
def audit_facts(event: object) -> list[tuple[str, str]]:
    return vocabulary.audit_facts(str(getattr(event, "action", "")), getattr(event, "details", {}))
