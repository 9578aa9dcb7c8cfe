"""The loan agreement and the hand-over sheet, printed together as one PDF.

Rendered in the borrower's language (Dutch by default; French and English available)
from the lending app's catalogue; the organisation's own conditions come from the
``DIGIBENCH_LOAN_CONDITIONS_FILE`` setting, else the built-in ones.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from server.lending.models import Loan
from server.lending.service import attended
from server.web.certificates import _Pdf
from server.web.models import DeviceStatus

LANGUAGES = ("nl", "fr", "en")


def language(lang: str | None) -> str:
    """``lang`` when the agreement is printed in it, else Dutch: the one language the PDF,
    its file name and the audit event all name."""
    return lang if lang in LANGUAGES else "nl"


def conditions(lang: str) -> list[str]:
    """The organisation's conditions in ``lang`` (one per line), else the built-in ones."""
    path = getattr(settings, "DIGIBENCH_LOAN_CONDITIONS_FILE", "")
    if path and Path(path).is_file():
        configured = json.loads(Path(path).read_text(encoding="utf-8"))
        text = configured.get(lang) or configured.get("nl") or ""
        if text:
            return [line for line in str(text).splitlines() if line.strip()]
    return [
        _("The laptop stays the property of the programme; it is lent, not given."),
        _("Look after the laptop and its accessories; report damage or loss at once."),
        _("Do not lend the laptop to others and do not sell it."),
        _("Bring the laptop back by the due date, or when the programme asks for it."),
        _("The laptop is erased and reinstalled when it comes back: keep copies of your files."),
    ]


def _line(pdf: _Pdf, text: str, h: float = 6) -> None:
    pdf.multi_cell(0, h, pdf.text_(text), new_x="LMARGIN", new_y="NEXT")


def render(loan: Loan, lang: str = "nl") -> bytes:
    lang = language(lang)
    status = DeviceStatus.objects.filter(device=loan.device).first()
    tag = status.asset_tag if status else loan.device.asset_tag
    serial = status.serial if status else loan.device.serial
    model = status.model if status else loan.device.product_name
    with translation.override(lang):
        pdf = _Pdf(format="A4")
        pdf.set_auto_page_break(auto=True, margin=15)
        pdf.add_page()
        pdf.setup_font()
        family = pdf.font_family
        pdf.set_font(family, "B", 15)
        _line(pdf, _("Loan agreement") + f" - {loan.get_programme_display()}", 9)
        pdf.set_font(family, "", 10)
        b = loan.borrower
        accessories = [
            name
            for name, on in (
                (_("charger"), loan.charger),
                (_("bag"), loan.bag),
                (_("mouse"), loan.mouse),
            )
            if on
        ]
        for label, value in (
            (_("Loan"), f"#{loan.pk}"),
            (_("Borrower"), f"{b.name} ({b.reference})" if b.name else b.reference),
            (_("Wave"), str(loan.wave)),
            (_("Laptop"), tag),
            (_("Model"), model),
            (_("Serial number"), serial),
            (_("Accessories"), ", ".join(accessories) or "-"),
            (_("State at hand-over"), loan.handover_state or "-"),
            (_("Start date"), loan.start.isoformat()),
            (_("Due back"), loan.due.isoformat() if loan.due else "-"),
            (_("Condition"), loan.condition or "-"),
        ):
            _line(pdf, f"{label}: {value}")
        if loan.min_attendance:
            _line(
                pdf,
                _("Learning path: attend at least %(n)d sessions (attended so far: %(done)d).")
                % {"n": loan.min_attendance, "done": attended(loan)},
            )
        pdf.ln(3)
        pdf.set_font(family, "B", 11)
        _line(pdf, _("Conditions"))
        pdf.set_font(family, "", 10)
        for i, cond in enumerate(conditions(lang), 1):
            _line(pdf, f"{i}. {cond}")
        pdf.ln(10)
        for who in (_("Signature of the borrower"), _("Signature for the programme")):
            _line(pdf, f"{who}: ______________________________    " + _("Date") + ": __________")
            pdf.ln(6)

        pdf.add_page()
        pdf.set_font(family, "B", 15)
        _line(pdf, _("Your laptop: getting started"), 9)
        pdf.set_font(family, "", 10)
        _line(pdf, f"{_('Laptop')}: {tag} · {model} · {_('Serial number')}: {serial}")
        pdf.ln(2)
        helpdesk = getattr(settings, "DIGIBENCH_HELPDESK", "") or _("your programme's help point")
        for title, body in (
            (
                _("First login"),
                _(
                    "Switch the laptop on and wait for the login screen. Choose "
                    "the account Gebruiker: it has no password yet, so you are "
                    "asked straight away to choose one."
                ),
            ),
            (
                _("Choosing a password"),
                _(
                    "Type your new password twice. Pick a long one you can "
                    "remember, for example three or four words, write it down "
                    "somewhere safe, away from the laptop, and do not share it. "
                    "Only you know it."
                ),
            ),
            (
                _("Wi-Fi"),
                _(
                    "Click the network icon at the top right, choose your network "
                    "and type its password (often on a sticker on your modem)."
                ),
            ),
            (
                _("Where to get help"),
                _(
                    "Questions or problems? Contact %(helpdesk)s. Do not take the "
                    "laptop to a shop for repair: the programme repairs it for "
                    "free."
                )
                % {"helpdesk": helpdesk},
            ),
        ):
            pdf.set_font(family, "B", 11)
            _line(pdf, title)
            pdf.set_font(family, "", 10)
            _line(pdf, body)
            pdf.ln(2)
    return bytes(pdf.output())
