from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.utils.translation import gettext_lazy as _

from server.lending.models import Borrower, CheckIn, Loan, Session

_DATE = forms.DateInput(attrs={"type": "date"})


class BorrowerForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Borrower
        fields: ClassVar[list[str]] = [
            "reference",
            "name",
            "contact",
            "partner",
            "language",
            "consent",
            "consent_on",
        ]
        widgets: ClassVar[dict[str, Any]] = {"consent_on": _DATE}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (data.get("name") or data.get("contact")) and not data.get("consent"):
            raise forms.ValidationError(_("A name or contact needs the borrower's consent."))
        if data.get("consent") and not data.get("consent_on"):
            self.add_error("consent_on", _("Give the date of the consent."))
        return data


class LoanForm(forms.ModelForm):  # type: ignore[type-arg]
    laptop = forms.CharField(label=_("Laptop (asset tag)"), max_length=256)

    class Meta:
        model = Loan
        fields: ClassVar[list[str]] = [
            "borrower",
            "programme",
            "wave",
            "start",
            "due",
            "condition",
            "min_attendance",
            "charger",
            "bag",
            "mouse",
            "handover_state",
        ]
        widgets: ClassVar[dict[str, Any]] = {"start": _DATE, "due": _DATE}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.order_fields(["laptop", "borrower"])
        self.fields["borrower"].queryset = Borrower.objects.filter(pseudonymised_at__isnull=True)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("due") and not data.get("condition"):
            raise forms.ValidationError(_("Give a due date or a condition."))
        return data


class CheckInForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = CheckIn
        fields: ClassVar[list[str]] = [
            "charger_back",
            "bag_back",
            "mouse_back",
            "condition",
            "damage",
            "notes",
        ]


class SessionForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Session
        fields: ClassVar[list[str]] = ["programme", "wave", "title", "on"]
        widgets: ClassVar[dict[str, Any]] = {"on": _DATE}
