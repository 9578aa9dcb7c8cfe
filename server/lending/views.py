"""The lending pages: borrowers, loans, learning path, returns, lists and numbers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from server.lending import agreement, lists, service
from server.lending.forms import BorrowerForm, CheckInForm, LoanForm, SessionForm
from server.lending.models import Attendance, Borrower, Loan, Programme, Session
from server.web import audit, exports, paging
from server.web.views import AmbiguousTag, find_status


def needs(perm: str) -> Callable[[Any], Any]:
    """Login plus one lending permission (403 without it, e.g. for technicians)."""

    def wrap(func: Any) -> Any:
        return login_required(permission_required(f"lending.{perm}", raise_exception=True)(func))

    return wrap


def _csv(name: str, header: list[str], rows: list[list[Any]]) -> HttpResponse:
    """Belgian Excel opens ``;``-separated UTF-8 only with a byte order mark: the one
    CSV writer of the server (server/web/exports.py), formulas neutralised."""
    return exports.csv_response(name, header, rows)


# --------------------------------------------------------------------------- loans


@needs("view_loan")
def index(request: HttpRequest) -> HttpResponse:
    view, qs = lists.loans(request.GET)
    context = {
        "view": view,
        "views": lists.VIEWS,
        "pager": paging.page(qs, request.GET),
        "programmes": Programme.choices,
        # ordered by partner: the model's ordering (reference) would make every borrower distinct
        "partners": Borrower.objects.exclude(partner="")
        .order_by("partner")
        .values_list("partner", flat=True)
        .distinct(),
        "query": request.GET.urlencode(),
    }
    return render(request, "lending/index.html", context)


@needs("export_lending")
def loans_csv(request: HttpRequest) -> HttpResponse:
    _view, qs = lists.loans(request.GET)
    header = [
        _("Loan"),
        _("Programme"),
        _("Wave"),
        _("Laptop"),
        _("Borrower"),
        _("Partner"),
        _("Start date"),
        _("Due back"),
        _("Returned"),
    ]
    rows = [
        [
            loan.pk,
            loan.get_programme_display(),
            loan.wave,
            loan.device.asset_tag or loan.device.serial,
            loan.borrower.reference,
            loan.borrower.partner,
            loan.start,
            loan.due or "",
            loan.checkin.at.date() if not loan.is_active else "",
        ]
        for loan in qs
    ]
    return _csv("loans.csv", header, rows)


@needs("export_lending")
def numbers(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "lending/numbers.html",
        {"rows": lists.numbers(), "columns": lists.NUMBER_COLUMNS},
    )


@needs("export_lending")
def numbers_csv(request: HttpRequest) -> HttpResponse:
    cols = lists.NUMBER_COLUMNS
    rows = [[row[k] for k, _label in cols] for row in lists.numbers()]
    return _csv("lending-numbers.csv", [str(label) for _k, label in cols], rows)


@needs("add_loan")
def lend(request: HttpRequest) -> HttpResponse:
    form = LoanForm(request.POST or None, initial={"laptop": request.GET.get("laptop", "")})
    problems: list[str] = []
    if request.method == "POST" and form.is_valid():
        fields = {k: v for k, v in form.cleaned_data.items() if k != "laptop"}
        try:
            status = find_status(key=form.cleaned_data["laptop"].strip())
            loan = service.lend(status.device, audit.staff(request), **fields)
        except Http404:
            problems = [_("No laptop with that asset tag.")]
        except AmbiguousTag:
            problems = [_("Several laptops carry this asset tag: resolve the tag conflict first.")]
        except service.LendingError as exc:
            problems = exc.problems
        else:
            messages.success(request, _("Loan recorded."))
            return redirect("lending:loan", pk=loan.pk)
    return render(request, "lending/lend.html", {"form": form, "problems": problems})


@needs("view_loan")
def loan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    loan = get_object_or_404(Loan.objects.select_related("borrower", "device"), pk=pk)
    context = {
        "loan": loan,
        "attended": service.attended(loan),
        "checkin": getattr(loan, "checkin", None),
        "checkin_form": CheckInForm(),
        "languages": agreement.LANGUAGES,
    }
    return render(request, "lending/loan.html", context)


@needs("view_loan")
def agreement_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    loan = get_object_or_404(Loan.objects.select_related("borrower", "device"), pk=pk)
    # normalised before it reaches the file name: the raw query value went into the header
    lang = agreement.language(request.GET.get("lang") or loan.borrower.language)
    pdf = agreement.render(loan, lang)
    audit.record(
        request.user, "loan.agreement_printed", "device", str(loan.device_id), loan=loan.pk
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="loan-{loan.pk}-{lang}.pdf"'
    return response


@require_POST
@needs("check_in_loan")
def check_in(request: HttpRequest, pk: int) -> HttpResponse:
    loan = get_object_or_404(Loan, pk=pk)
    form = CheckInForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, _("Fill in the return check: %(errors)s") % {"errors": form.errors.as_text()}
        )
    elif not loan.is_active:
        messages.error(request, _("This laptop was already returned."))
    else:
        service.check_in(loan, audit.staff(request), **form.cleaned_data)
        messages.success(
            request, _("Returned. The laptop needs a new intake run before it can be lent again.")
        )
    return redirect("lending:loan", pk=loan.pk)


# --------------------------------------------------------------------------- borrowers


@needs("view_borrower")
def borrowers(request: HttpRequest) -> HttpResponse:
    form = BorrowerForm(request.POST or None)
    if request.method == "POST":
        if not request.user.has_perm("lending.add_borrower"):
            return HttpResponse(status=403)
        if form.is_valid():
            b = form.save()
            audit.record(request.user, "borrower.created", "borrower", str(b.pk))
            return redirect("lending:borrower", pk=b.pk)
    return render(
        request,
        "lending/borrowers.html",
        {"form": form, "pager": paging.page(Borrower.objects.all(), request.GET)},
    )


@needs("view_borrower")
def borrower_detail(request: HttpRequest, pk: int) -> HttpResponse:
    b = get_object_or_404(Borrower, pk=pk)
    loans = [(loan, service.attended(loan)) for loan in b.loans.select_related("device")]
    return render(request, "lending/borrower.html", {"b": b, "loans": loans})


# --------------------------------------------------------------------------- learning path


@needs("view_loan")
def sessions(request: HttpRequest) -> HttpResponse:
    form = SessionForm(request.POST or None)
    if request.method == "POST":
        if not request.user.has_perm("lending.add_session"):
            return HttpResponse(status=403)
        if form.is_valid():
            s = form.save()
            audit.record(request.user, "session.created", "session", str(s.pk))
            return redirect("lending:session", pk=s.pk)
    return render(
        request,
        "lending/sessions.html",
        {"form": form, "pager": paging.page(Session.objects.all(), request.GET)},
    )


@needs("view_loan")
def session_detail(request: HttpRequest, pk: int) -> HttpResponse:
    s = get_object_or_404(Session, pk=pk)
    # everyone with a loan in this programme and wave (returned or not)
    people = Borrower.objects.filter(loans__programme=s.programme, loans__wave=s.wave).distinct()
    if request.method == "POST":
        if not request.user.has_perm("lending.change_attendance"):
            return HttpResponse(status=403)
        present = set(request.POST.getlist("present"))
        for b in people:
            Attendance.objects.update_or_create(
                session=s, borrower=b, defaults={"present": str(b.pk) in present}
            )
        audit.record(request.user, "session.attendance", "session", str(s.pk), present=len(present))
        messages.success(request, _("Attendance saved."))
        return redirect("lending:session", pk=s.pk)
    marked = set(s.attendance.filter(present=True).values_list("borrower_id", flat=True))
    return render(
        request,
        "lending/session.html",
        {"s": s, "people": [(b, b.pk in marked) for b in people]},
    )


@needs("view_loan")
def reminders(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    pager = paging.page(lambda start, stop: lists.reminders(today, start, stop), request.GET)
    return render(request, "lending/reminders.html", {"pager": pager})
