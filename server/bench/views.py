"""The Werkbank page: every laptop on the bench, the one that needs a person first.

Plain HTML that reloads itself (no script, so it works under a strict CSP, on a wall
screen and on a volunteer's phone); ``?compact=1`` drops everything but tag, stage, wait;
``?station=NAME`` shows one station's laptops (a bench with several sticks or a bench
server shares the page with others).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from server.bench.api import STALE
from server.bench.models import URGENCY, Attention, Heartbeat
from server.web.reason_words import code_text
from server.web.views import viewer

#: how each stage and attention reads on the page (Dutch through the catalogue)
STAGE_WORDS = {
    "start": _("starting"),
    "inspect": _("inspecting the hardware"),
    "tests": _("tests by the volunteer"),
    "confirm": _("waiting for confirmation to wipe"),
    "wipe": _("wiping"),
    "flash": _("installing the OS"),
    "grade": _("grading"),
    "report": _("reporting"),
    "done": _("finished"),
    "cancelled": _("cancelled"),
    "failed": _("failed"),
}
ATTENTION_WORDS = {
    Attention.ERROR: _("needs help: an error"),
    Attention.CONFIRM: _("confirm the wipe"),
    Attention.TESTS: _("do the tests"),
    Attention.DONE: _("take it off the bench"),
}
REFRESH_S = 5


@dataclass(frozen=True)
class Row:
    beat: Heartbeat
    stage: str
    attention: str
    waited: str
    eta: str
    #: which error, in the page's language (the station's catalogue), when it has one
    error: str = ""


def error_text(code: str) -> str:
    """The station's error named by its code, in words; a code with no words, said so."""
    if not code:
        return ""
    words = code_text(code)
    if words is None:
        return str(_("an error this server has no words for (%(code)s)") % {"code": code})
    return words


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def ordered(beats: list[Heartbeat], now: datetime) -> list[Heartbeat]:
    """Who needs a person first (error, confirm, tests, done), longest waiting first;
    then the laptops at work, the one finishing soonest first."""

    def key(b: Heartbeat) -> tuple[int, float, float]:
        urgency = URGENCY.get(Attention(b.attention), 9) if b.attention else 9
        waited = (now - b.waiting_since).total_seconds() if b.waiting_since else 0.0
        return (urgency, -waited, float(b.eta_s) if b.eta_s is not None else 1e12)

    return sorted(beats, key=key)


@viewer
def werkbank(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    beats = list(
        Heartbeat.objects.filter(updated_at__gte=now - STALE)
        .exclude(stage__in=["cancelled"])
        .select_related("station")
    )
    stations = sorted({b.station.name for b in beats})
    station = request.GET.get("station", "")
    if station:
        beats = [b for b in beats if b.station.name == station]
    rows = [
        Row(
            beat=b,
            stage=str(STAGE_WORDS.get(b.stage, b.stage)),
            attention=str(ATTENTION_WORDS.get(Attention(b.attention), "")) if b.attention else "",
            waited=_duration((now - b.waiting_since).total_seconds()) if b.waiting_since else "",
            eta=_duration(b.eta_s) if b.eta_s is not None else "",
            error=error_text(b.message_code) if b.attention == Attention.ERROR else "",
        )
        for b in ordered(beats, now)
    ]
    context = {
        "rows": rows,
        "compact": request.GET.get("compact") == "1",
        "stations": stations if len(stations) > 1 or station else [],
        "station": station,
        "refresh_s": REFRESH_S,
        "waiting": sum(1 for r in rows if r.attention),
    }
    return render(request, "bench/werkbank.html", context)
