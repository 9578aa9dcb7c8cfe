"""Donation batches, their four-eyes checks and the donor certificate."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from server.web import audit, batches, certificates, paging, vocabulary
from server.web.forms import BatchForm, SpotCheckForm, TagsForm
from server.web.models import Batch, Certificate, DeviceStatus, SpotCheck


@login_required
@permission_required("web.view_batch", raise_exception=True)
def batch_list(request: HttpRequest) -> HttpResponse:
    form = BatchForm()
    if request.method == "POST":
        if not request.user.has_perm("web.add_batch"):
            return HttpResponse(status=403)
        form = BatchForm(request.POST)
        if form.is_valid():
            batch = form.save(commit=False)
            batch.created_by = audit.staff(request)
            batch.save()
            audit.record(
                request.user,
                "batch.created",
                "batch",
                str(batch.pk),
                donor=batch.donor,
                expected=batch.expected_count,
            )
            return redirect("web:batch", pk=batch.pk)
    pager = paging.page(Batch.objects.all(), request.GET)
    progress = batches.progress_many(pager.rows)
    return render(
        request,
        "web/batch_list.html",
        {"batches": [(b, progress[b.pk]) for b in pager.rows], "pager": pager, "form": form},
    )


def _item_rows(items: list[tuple[str, DeviceStatus | None]], device_url: str) -> SafeString:
    """The laptops table's rows, escaped here: the template engine is ten times slower for
    the 500 rows of a big batch."""
    rows = []
    for tag, s in items:
        if s is None:
            rows.append(
                format_html("<tr><td>{}</td><td>–</td><td></td><td></td><td></td></tr>", tag)
            )
            continue
        rows.append(
            format_html(
                '<tr><td><a href="{}{}/">{}</a></td><td>{}</td><td>{}</td><td>{}</td>'
                "<td>{}</td></tr>",
                device_url,
                s.pk,
                tag,
                s.model or "–",
                vocabulary.grade_label(s.grade),
                s.destination_display,
                s.get_erasure_display(),
            )
        )
    return mark_safe("".join(rows))  # noqa: S308  (each row escaped by format_html)


@login_required
@permission_required("web.view_batch", raise_exception=True)
def batch_detail(request: HttpRequest, pk: int) -> HttpResponse:
    batch = get_object_or_404(Batch.objects.select_related("closed_by"), pk=pk)
    view = batches.overview(batch)  # reads only: the sample is drawn by a POST
    # one prefix instead of a URL lookup per laptop row (500 rows on a big batch)
    device_url = reverse("web:device", kwargs={"pk": 1})[:-2]
    context = {
        "batch": batch,
        "blockers": view.blockers,
        "steps": view.steps,
        "checks": view.checks,
        "sample_need": view.sample_need,
        "sample_have": view.sample_have,
        "failed_guidance": batches.FAILED_CHECK_GUIDANCE,
        "items": view.items,
        "blocker_groups": batches.grouped(view.blockers),
        "device_url": device_url,
        "item_rows": _item_rows(view.items, device_url),
        "tags_form": TagsForm(),
        "check_form": SpotCheckForm(auto_id=False),
        "certificates": Certificate.objects.filter(batch=batch).order_by("-issued_at"),
    }
    return render(request, "web/batch_detail.html", context)


@require_POST
@login_required
@permission_required("web.change_batch", raise_exception=True)
def batch_add_tags(request: HttpRequest, pk: int) -> HttpResponse:
    batch = get_object_or_404(Batch, pk=pk)
    form = TagsForm(request.POST)
    if form.is_valid():
        try:
            n = batches.add_tags(batch, form.cleaned_data["tags"], audit.staff(request))
            messages.success(request, _("%(n)d laptop(s) added.") % {"n": n})
        except batches.BatchError as exc:
            messages.error(request, str(exc))
    return redirect("web:batch", pk=pk)


@require_POST
@login_required
@permission_required("web.close_batch", raise_exception=True)
def batch_close(request: HttpRequest, pk: int) -> HttpResponse:
    batch = get_object_or_404(Batch, pk=pk)
    try:
        batches.close(batch, audit.staff(request))
        messages.success(request, _("Batch closed."))
    except batches.BatchError as exc:
        messages.error(request, str(exc))
    return redirect("web:batch", pk=pk)


@require_POST
@login_required
@permission_required("web.perform_spot_check", raise_exception=True)
def spot_check(request: HttpRequest, pk: int, check_id: int) -> HttpResponse:
    check = get_object_or_404(SpotCheck, pk=check_id, batch_id=pk)
    form = SpotCheckForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose the outcome of the check: passed or failed."))
        return redirect("web:batch", pk=pk)
    try:
        batches.record_check(
            check,
            audit.staff(request),
            form.cleaned_data["passed"],
            form.cleaned_data["remark"],
        )
    except batches.BatchError as exc:
        messages.error(request, str(exc))
    else:
        if not form.cleaned_data["passed"]:
            messages.warning(request, str(batches.FAILED_CHECK_GUIDANCE))
    return redirect("web:batch", pk=pk)


@require_POST
@login_required
@permission_required("web.change_batch", raise_exception=True)
def batch_sample(request: HttpRequest, pk: int) -> HttpResponse:
    """Draw (or top up) the four-eyes sample: the only way checks come into being."""
    batch = get_object_or_404(Batch, pk=pk)
    try:
        n = batches.draw_sample(batch, audit.staff(request))
    except batches.BatchError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("%(n)d disk(s) drawn for a four-eyes check.") % {"n": n})
    return redirect("web:batch", pk=pk)


@require_POST
@login_required
@permission_required("web.add_certificate", raise_exception=True)
def batch_certificate(request: HttpRequest, pk: int) -> HttpResponse:
    batch = get_object_or_404(Batch, pk=pk)
    try:
        cert = certificates.issue_donor(
            batch, audit.staff(request), print_donor=request.POST.get("print_donor") == "1"
        )
    except certificates.CertificateError as exc:
        messages.error(request, str(exc))
        return redirect("web:batch", pk=pk)
    audit.record(request.user, "certificate.issued", "batch", str(pk), certificate=str(cert.id))
    return redirect("web:certificate_pdf", cert_id=cert.id)
