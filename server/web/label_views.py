"""The labels page: asset-tag labels for a tag range or a donation batch."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from agent.asset_tags import MAX_LABELS, TagRangeError, expand_range
from server.web import labels
from server.web.models import Batch, BatchItem
from server.web.views import viewer

FORMATS = ("pdf", "ql")


def _tags(request: HttpRequest) -> list[str]:
    """The tags asked for; raises ValueError with a Dutch (or English) sentence."""
    batch = request.GET.get("batch", "").strip()
    if batch:
        if not batch.isdigit() or len(batch) > 12:
            raise ValueError(_("Unknown donation batch."))
        tags = list(
            BatchItem.objects.filter(batch_id=int(batch))
            .order_by("asset_tag")
            .values_list("asset_tag", flat=True)[: MAX_LABELS + 1]
        )
        if not Batch.objects.filter(pk=int(batch)).exists():
            raise ValueError(_("Unknown donation batch."))
        if not tags:
            raise ValueError(_("This batch has no asset tags yet."))
        if len(tags) > MAX_LABELS:
            raise ValueError(_("More than %(n)d labels at once.") % {"n": MAX_LABELS})
        return tags
    first, last = request.GET.get("first", ""), request.GET.get("last", "") or ""
    if not first:
        raise ValueError(_("Give a first asset tag, or choose a batch."))
    try:
        return expand_range(first, last or first)
    except TagRangeError:
        raise ValueError(
            _(
                "Give two asset tags with the same prefix ending in a number, the first"
                " one first (at most %(n)d labels)."
            )
            % {"n": MAX_LABELS}
        ) from None


@viewer
def label_page(request: HttpRequest) -> HttpResponse:
    context = {
        "sheets": labels.SHEETS,
        "default_sheet": labels.DEFAULT_SHEET,
        "batches": Batch.objects.order_by("-received_on", "-id")[:200],
        "organisation": labels.organisation(),
    }
    return render(request, "web/labels.html", context)


@viewer
def label_file(request: HttpRequest) -> HttpResponse:
    """The PDF sheet (``format=pdf``) or Brother QL raster (``format=ql``) for the tags."""
    fmt = request.GET.get("format", "pdf")
    sheet = labels.SHEETS.get(request.GET.get("sheet", labels.DEFAULT_SHEET))
    skip_text = request.GET.get("skip", "0") or "0"
    try:
        if fmt not in FORMATS or sheet is None:
            raise ValueError(_("Unknown label format."))
        if not skip_text.isdigit() or int(skip_text) >= sheet.per_page:
            raise ValueError(_("The first free position must be on the sheet."))
        tags = _tags(request)
    except ValueError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    chosen = labels.tag_labels(tags)
    if fmt == "ql":
        body, kind, ext = labels.tape_raster(chosen), "application/octet-stream", "bin"
    else:
        body, kind, ext = (
            labels.sheet_pdf(chosen, sheet, skip=int(skip_text)),
            "application/pdf",
            "pdf",
        )
    response = HttpResponse(body, content_type=kind)
    name = f"labels-{tags[0]}-{tags[-1]}.{ext}".replace("/", "_").replace('"', "")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
