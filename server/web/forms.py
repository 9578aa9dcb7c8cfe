from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.utils.translation import gettext_lazy as _

from server.web.models import Batch
from server.web.vocabulary import GRADE_LABELS, Decision

GRADES = list(GRADE_LABELS.items())


class GradeOverrideForm(forms.Form):
    grade = forms.ChoiceField(label=_("New grade"), choices=GRADES)
    reason = forms.CharField(
        label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def clean_reason(self) -> str:
        reason = str(self.cleaned_data["reason"]).strip()
        if len(reason) < 3:
            raise forms.ValidationError(_("Give a reason for the override."))
        return reason


class DestinationForm(forms.Form):
    destination = forms.ChoiceField(label=_("Destination"), choices=Decision.choices)
    reason = forms.CharField(label=_("Reason"), max_length=2000, required=False)


class NoteForm(forms.Form):
    text = forms.CharField(
        label=_("Note"), max_length=5000, widget=forms.Textarea(attrs={"rows": 2})
    )


class DestructionForm(forms.Form):
    disk_serial = forms.CharField(label=_("Disk serial"), max_length=256)
    method = forms.CharField(label=_("How it was destroyed"), max_length=200)


class BatchForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Batch
        fields: ClassVar[list[str]] = ["donor", "received_on", "expected_count", "sample_percent"]
        labels: ClassVar[dict[str, Any]] = {
            "donor": _("Donor"),
            "received_on": _("Received on"),
            "expected_count": _("Expected laptops"),
            "sample_percent": _("Four-eyes sample (%)"),
        }
        widgets: ClassVar[dict[str, forms.Widget]] = {
            "received_on": forms.DateInput(attrs={"type": "date"})
        }

    def clean_sample_percent(self) -> object:
        value = self.cleaned_data["sample_percent"]
        if value < 5 or value > 100:
            raise forms.ValidationError(_("Between 5 and 100 %."))
        return value


class TagsForm(forms.Form):
    tags = forms.CharField(
        label=_("Asset tags (scan one per line, or a range DG-000010..DG-000020)"),
        max_length=200_000,
        widget=forms.Textarea(attrs={"rows": 3, "autofocus": True}),
    )


class SpotCheckForm(forms.Form):
    #: no outcome preselected: the checker must say which it was
    passed = forms.TypedChoiceField(
        label=_("Outcome"),
        choices=[("1", _("passed")), ("0", _("failed"))],
        coerce=lambda v: v == "1",
        widget=forms.RadioSelect,
    )
    remark = forms.CharField(label=_("Remark"), max_length=2000, required=False)
