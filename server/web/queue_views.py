"""The review queue page ("Te beslissen"): every laptop that needs a human, by reason.

Decisions post to the single-laptop destination view (the same evidence rules
and audit), which returns here with the focus on the next row.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import format_html_join

from server.web import review
from server.web.models import Destination
from server.web.views import viewer


@viewer
def queue(request: HttpRequest) -> HttpResponse:
    groups = review.queue()
    base = reverse("web:queue")
    # After deciding a row, come back to the row below it (the same laptop may stay when
    # another reason still holds, e.g. a failing disk after its destination was decided).
    for group in groups:
        for i, row in enumerate(group.rows):
            following = group.rows[i + 1] if i + 1 < len(group.rows) else None
            target = f"{group.reason.key}-{following.pk}" if following else group.reason.key
            row.next_url = f"{base}?focus={target}#q-{target}"  # type: ignore[attr-defined]
            row.focus_key = f"{group.reason.key}-{row.pk}"  # type: ignore[attr-defined]
    # The same options on every row: rendered once, not once per laptop.
    options = format_html_join(
        "",
        '<option value="{}" data-key="{}">{} · {}</option>',
        ((value, i, i, label) for i, (value, label) in enumerate(Destination.choices, 1)),
    )
    context = {
        "groups": groups,
        "focus": request.GET.get("focus", ""),
        "options": options,
        # URL prefixes instead of a URL lookup per row
        "laptop_url": reverse("web:device", kwargs={"pk": 1})[:-2],
        "batch_url": reverse("web:batch", kwargs={"pk": 1})[:-2],
    }
    return render(request, "web/queue.html", context)
