"""Certificate PDFs for staff, and the public verification page behind the QR code."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from server.web import audit, certificates
from server.web.models import Certificate, DeviceStatus
from server.web.views import laptop_view, viewer


def verify_url(request: HttpRequest, cert: Certificate) -> str:
    path = reverse("web:verify", kwargs={"cert_id": cert.id})
    base = settings.DIGIBENCH_PUBLIC_URL
    return f"{base}{path}" if base else request.build_absolute_uri(path)


@viewer
def certificate_pdf(request: HttpRequest, cert_id: uuid.UUID) -> HttpResponse:
    cert = get_object_or_404(Certificate, pk=cert_id)
    pdf = certificates.render_pdf(cert, verify_url(request, cert))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="certificate-{cert.id}.pdf"'
    return response


@require_POST
@login_required
@permission_required("web.add_certificate", raise_exception=True)
@laptop_view
def laptop_certificate(request: HttpRequest, status: DeviceStatus) -> HttpResponse:
    try:
        cert = certificates.issue_laptop(status, audit.staff(request))
    except certificates.CertificateError as exc:
        messages.error(request, str(exc))
        return redirect("web:device", pk=status.pk)
    audit.record(
        request.user, "certificate.issued", "device", str(status.pk), certificate=str(cert.id)
    )
    return redirect("web:certificate_pdf", cert_id=cert.id)


@require_POST
@login_required
@permission_required("web.add_certificate", raise_exception=True)
def revoke_certificate(request: HttpRequest, cert_id: uuid.UUID) -> HttpResponse:
    """Withdraw a certificate, or replace it by a new one, with a reason."""
    cert = get_object_or_404(Certificate, pk=cert_id)
    try:
        certificates.revoke(
            cert,
            audit.staff(request),
            request.POST.get("reason", ""),
            reissue=request.POST.get("reissue") == "1",
        )
        messages.success(request, _("Certificate withdrawn."))
    except certificates.CertificateError as exc:
        messages.error(request, str(exc))
    if cert.batch_id is not None:
        return redirect("web:batch", pk=cert.batch_id)
    return redirect("web:device", pk=cert.device_id)


def verify(request: HttpRequest, cert_id: uuid.UUID) -> HttpResponse:
    """Public: no login, and nothing beyond what the certificate itself says."""
    cert = get_object_or_404(Certificate, pk=cert_id)
    result = certificates.check(cert)
    return render(
        request,
        "web/verify.html",
        {"cert": cert, "p": cert.payload, "result": result},
    )


def verify_json(request: HttpRequest, cert_id: uuid.UUID) -> HttpResponse:
    """Public: the signed payload itself, so anyone can check it offline (agent.signing)."""
    cert = get_object_or_404(Certificate, pk=cert_id)
    return JsonResponse(
        {
            "certificate": cert.payload,
            "signature": {
                "algorithm": "ed25519",
                "public_key": cert.public_key,
                "value": cert.signature,
            },
        }
    )
