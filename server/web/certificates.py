"""Signed certificates of data erasure: what they say, their signature and their PDF.

The payload is canonical JSON signed with the server's Ed25519 key (the same
scheme as the stations' reports, ``agent.signing``). The PDF and the public
``/verify/<id>/`` page are both rendered from the stored payload, so what the
page confirms is exactly what the paper says.
"""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import segno
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from fpdf import FPDF, FontFace

from agent.signing import load_or_create_key, load_private_key, public_key_b64, sign, verify
from server.ingest.models import Device, ErasureRecord, Run
from server.paths import data_dir
from server.web import audit, evidence, vocabulary
from server.web.models import Batch, Certificate, DeviceStatus, DiskDestruction, SpotCheck

_FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")


class CertificateError(Exception):
    """A certificate cannot be issued; the message says why."""


def key_dir() -> Path:
    configured = getattr(settings, "DIGIBENCH_CERT_KEY_DIR", "")
    return Path(configured) if configured else data_dir() / "certificate-key"


def server_key() -> Ed25519PrivateKey:
    """The server's signing key, made on first use (workers racing for it share one)."""
    try:
        return load_or_create_key(key_dir())
    except FileExistsError:
        return load_private_key(key_dir() / "station.key")


# --------------------------------------------------------------------------- payload


def _report_signature_ok(run: Run) -> bool:
    """Re-check the station's signature on the stored report, as received."""
    key = run.station.public_key
    if not key:
        return False
    try:
        data = json.loads(run.raw_body)
        value = data["signature"]["value"]
    except (ValueError, KeyError, TypeError):
        return False
    return verify(data, value, key)


def _disk_entry(rec: ErasureRecord) -> dict[str, Any]:
    return {
        "model": rec.disk_model,
        "serial": rec.disk_serial,
        "size_bytes": rec.disk_size_bytes,
        "method": rec.method,
        "level": rec.level,
        "verification": "passed"
        if rec.verification_passed
        else ("failed" if rec.verification_passed is False else "none"),
        "result": rec.result,
        "record_id": str(rec.record_id),
        "finished_at": rec.finished_at.isoformat() if rec.finished_at else None,
    }


def _laptop_entry(status: DeviceStatus) -> dict[str, Any]:
    run = evidence.latest_intake(status)
    disks = [_disk_entry(r) for r in run.erasures.order_by("id")] if run else []
    return {
        "asset_tag": status.asset_tag,
        "serial": status.serial,
        "model": status.model,
        "report_id": str(run.report_id) if run else None,
        "station": status.station,
        "disks": disks,
        "destroyed": [
            {"serial": d.disk_serial, "method": d.method}
            for d in DiskDestruction.objects.filter(device_id=status.pk).order_by("id")
        ],
    }


def _totals(laptops: list[dict[str, Any]]) -> dict[str, int]:
    disks = [d for lap in laptops for d in lap["disks"]]
    return {
        "laptops": len(laptops),
        "disks": len(disks),
        "purge": sum(d["level"] == "purge" for d in disks),
        "clear": sum(d["level"] == "clear" for d in disks),
        "verified": sum(d["verification"] == "passed" and d["result"] == "erased" for d in disks),
        "erased": sum(d["result"] == "erased" for d in disks),
        "exceptions": sum(d["result"] == "erased_with_exceptions" for d in disks),
        "failed": sum(d["result"] == "failed" for d in disks),
        "destroyed": sum(len(lap["destroyed"]) for lap in laptops),
    }


def _issue(
    kind: str,
    body: dict[str, Any],
    user: User,
    *,
    batch: Batch | None = None,
    device: Device | None = None,
) -> Certificate:
    key = server_key()
    cert = Certificate(kind=kind, batch=batch, device=device, issued_by=user)
    payload = {
        "type": "digibench-erasure-certificate",
        "version": 1,
        "id": str(cert.id),
        "kind": kind,
        "issued_at": timezone.now().replace(microsecond=0).isoformat(),
        "standard": "NIST SP 800-88 Rev.2 / IEEE 2883-2022",
        "organisation": _organisation(),
        #: issued only when every internal disk was proven erased or destroyed
        "result": "all-disks-erased-or-destroyed",
        **body,
    }
    cert.payload = payload
    cert.signature = sign(payload, key)
    cert.public_key = public_key_b64(key)
    cert.save()
    return cert


def _refuse_unproven(statuses: list[DeviceStatus]) -> None:
    """No certificate while any laptop on it lacks proof; the message lists what is missing."""
    problems = [
        f"{s.asset_tag or s.serial}: {evidence.say(missing)}"
        for s in statuses
        if (missing := evidence.erasure_missing(s))
    ]
    if problems:
        raise CertificateError(
            _("No certificate: erasure not proven for %(laptops)s.")
            % {"laptops": "; ".join(problems[:20])}
        )


def _organisation() -> str:
    return str(getattr(settings, "DIGIBENCH_ORGANISATION", "") or "Digibench")


def issue_donor(batch: Batch, user: User, *, print_donor: bool = False) -> Certificate:
    """The donation's certificate; the donor's name only when the coordinator chose to print it."""
    if batch.closed_at is None:
        raise CertificateError(_("The batch must be closed before its certificate is issued."))
    statuses = list(
        DeviceStatus.objects.filter(batch=batch).select_related("last_run").order_by("asset_tag")
    )
    _refuse_unproven(statuses)
    laptops = [_laptop_entry(s) for s in statuses]
    checks = list(SpotCheck.objects.filter(batch=batch))
    body = {
        "donor": batch.donor if print_donor else "",
        "batch": batch.pk,
        "received_on": batch.received_on.isoformat(),
        "laptops": laptops,
        "totals": _totals(laptops),
        "four_eyes": {
            "sampled": len(checks),
            "passed": sum(bool(c.passed) for c in checks),
        },
    }
    return _issue(Certificate.Kind.DONOR, body, user, batch=batch)


def issue_laptop(status: DeviceStatus, user: User) -> Certificate:
    _refuse_unproven([status])
    laptop = _laptop_entry(status)
    body = {"laptops": [laptop], "totals": _totals([laptop])}
    return _issue(Certificate.Kind.LAPTOP, body, user, device=status.device)


def revoke(cert: Certificate, user: User, reason: str, *, reissue: bool = False) -> Certificate:
    """Withdraw a certificate (with a reason); ``reissue`` replaces it by a fresh one."""
    reason = reason.strip()
    if not reason:
        raise CertificateError(_("Give a reason for withdrawing the certificate."))
    if cert.revoked_at is not None:
        raise CertificateError(_("This certificate was already withdrawn."))
    new: Certificate | None = None
    with transaction.atomic():
        if reissue:
            if cert.batch is not None:
                new = issue_donor(cert.batch, user, print_donor=bool(cert.payload.get("donor")))
            else:
                status = DeviceStatus.objects.select_related("last_run").get(pk=cert.device_id)
                new = issue_laptop(status, user)
        cert.revoked_at = timezone.now()
        cert.revoked_by = user
        cert.revoke_reason = reason
        cert.superseded_by = new
        cert.save(update_fields=["revoked_at", "revoked_by", "revoke_reason", "superseded_by"])
        audit.record(
            user,
            "certificate.revoked",
            "certificate",
            str(cert.id),
            reason=reason,
            superseded_by=str(new.id) if new else None,
        )
    return new or cert


# --------------------------------------------------------------------------- checking


def check(cert: Certificate) -> dict[str, Any]:
    """Both signatures: the server's on the certificate, the stations' on the reports."""
    current = public_key_b64(server_key())
    certificate_ok = cert.public_key == current and verify(
        cert.payload, cert.signature, cert.public_key
    )
    report_ids = [lap["report_id"] for lap in cert.payload.get("laptops", []) if lap["report_id"]]
    runs = Run.objects.filter(report_id__in=report_ids).select_related("station")
    reports_ok = sum(_report_signature_ok(r) for r in runs)
    return {
        "certificate_ok": certificate_ok,
        "revoked": cert.revoked_at is not None,
        "valid": certificate_ok and cert.revoked_at is None,
        "reports_total": len(report_ids),
        "reports_ok": reports_ok,
    }


# --------------------------------------------------------------------------- PDF


class _Pdf(FPDF):
    unicode = True

    def setup_font(self) -> None:
        regular, bold = _FONT_DIR / "DejaVuSans.ttf", _FONT_DIR / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            self.add_font("DejaVu", "", str(regular))
            self.add_font("DejaVu", "B", str(bold))
            self.set_font("DejaVu", size=9)
        else:
            self.unicode = False
            self.set_font("Helvetica", size=9)

    def text_(self, value: object) -> str:
        # Text is drawn literally (no markup); core fonts only know Latin-1.
        text = "" if value is None else str(value)
        return text if self.unicode else text.encode("latin-1", "replace").decode("latin-1")


def _size(n: int) -> str:
    return f"{n / 1e9:.0f} GB"


#: The PDF's sentences, marked for the catalogue (``_both`` translates them twice).
_PDF_WORDS = (
    gettext_noop("Certificate of data erasure - donation"),
    gettext_noop("Certificate %(id)s"),
    gettext_noop("Issued %(at)s by %(organisation)s"),
    gettext_noop(
        "Every internal disk of every laptop listed was erased with verification "
        "or physically destroyed."
    ),
    gettext_noop("Donor: %(donor)s (batch #%(batch)s, received on %(received)s)"),
    gettext_noop("Standard: %(standard)s"),
    gettext_noop("Laptop"),
    gettext_noop("Disk model"),
    gettext_noop("Disk serial"),
    gettext_noop("Size"),
    gettext_noop("Method"),
    gettext_noop("Level"),
    gettext_noop("Verification"),
    gettext_noop("Result"),
    gettext_noop("Destroy"),
    gettext_noop("destroyed"),
    gettext_noop(
        "Totals: %(laptops)s laptops, %(disks)s disks (%(purge)s Purge, %(clear)s "
        "Clear): %(erased)s erased, %(verified)s verified, %(failed)s failed, "
        "%(destroyed)s destroyed"
    ),
    gettext_noop("Four-eyes spot checks: %(passed)s of %(sampled)s sampled disks passed"),
    gettext_noop("Verify"),
    gettext_noop("Signed with Ed25519 over the canonical JSON of this certificate."),
    gettext_noop("Server public key"),
    gettext_noop("Signature"),
    gettext_noop("Certificate of data erasure"),
)


def _languages() -> tuple[str, ...]:
    """Dutch and English; for a reader who chose French, French first, then Dutch and English
    (Brussels: the donor may read either official language)."""
    if (translation.get_language() or "").split("-")[0] == "fr":
        return ("fr", "nl", "en")
    return ("nl", "en")


def _lines(message: str, **params: object) -> list[str]:
    """A sentence in each of the certificate's languages (one catalogue)."""
    texts: list[str] = []
    for language in _languages():
        with translation.override(language):
            text = translation.gettext(message)
            texts.append(text % params if params else text)
    return list(dict.fromkeys(texts))


def _both(message: str, **params: object) -> str:
    """A short word or heading in both languages on one line."""
    return " / ".join(_lines(message, **params))


def _word(kind: str, value: str) -> str:
    """An enum value of the certificate (level, verification, result) in both languages."""
    texts = []
    for language in _languages():
        with translation.override(language):
            texts.append(vocabulary.label(kind, value))
    return " / ".join(dict.fromkeys(texts))


def _local(iso: str) -> str:
    """The issue time as the organisation's clock shows it (Europe/Brussels)."""
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M %Z")


def render_pdf(cert: Certificate, verify_url: str) -> bytes:
    """The certificate in Dutch and English (and French first for a French reader), headed by
    the organisation's name (and logo)."""
    p = cert.payload
    pdf = _Pdf(orientation="L", format="A4")
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_page()
    pdf.setup_font()
    t = pdf.text_
    family = pdf.font_family
    organisation = p.get("organisation") or _organisation()
    logo = str(getattr(settings, "DIGIBENCH_ORGANISATION_LOGO", "") or "")
    if logo and Path(logo).is_file():
        pdf.image(logo, x=pdf.l_margin, y=8, h=14)
        pdf.set_y(24)
    pdf.set_font(family, "B", 12)
    pdf.cell(0, 7, t(organisation), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "B", 15)
    title = _lines(
        "Certificate of data erasure - donation"
        if p["kind"] == "donor"
        else "Certificate of data erasure"
    )
    pdf.cell(0, 8, t(title[0]), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "", 11)
    for text in title[1:]:
        pdf.cell(0, 6, t(text), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "", 9)
    lines: list[list[str]] = [
        _lines("Certificate %(id)s", id=p["id"]),
        _lines(
            "Issued %(at)s by %(organisation)s",
            at=_local(str(p["issued_at"])),
            organisation=organisation,
        ),
    ]
    if p.get("result") == "all-disks-erased-or-destroyed":
        lines.append(
            _lines(
                "Every internal disk of every laptop listed was erased with verification "
                "or physically destroyed."
            )
        )
    if p["kind"] == "donor":
        lines.insert(
            0,
            _lines(
                "Donor: %(donor)s (batch #%(batch)s, received on %(received)s)",
                donor=p["donor"] or "-",
                batch=p["batch"],
                received=p["received_on"],
            ),
        )
    lines.append(_lines("Standard: %(standard)s", standard=p["standard"]))
    for line in lines:
        for text in line:
            pdf.multi_cell(0, 5, t(text), new_x="LMARGIN", new_y="NEXT")
    qr = io.BytesIO()
    segno.make(verify_url, error="m").save(qr, kind="png", scale=3, border=2)
    qr.seek(0)
    pdf.image(qr, x=pdf.w - pdf.r_margin - 32, y=10, w=32)
    pdf.ln(4)
    headings = [
        _both("Laptop"),
        _both("Disk model"),
        _both("Disk serial"),
        _both("Size"),
        _both("Method"),
        _both("Level"),
        _both("Verification"),
        _both("Result"),
    ]
    with pdf.table(
        col_widths=(30, 46, 40, 16, 40, 22, 28, 36),
        text_align="LEFT",
        line_height=5,
        headings_style=FontFace(emphasis="BOLD", fill_color=(230, 236, 238)),
    ) as table:
        row = table.row()
        for h in headings:
            row.cell(t(h))
        for lap in p["laptops"]:
            label = lap["asset_tag"] or lap["serial"]
            for d in lap["disks"]:
                row = table.row()
                for value in (
                    label,
                    d["model"],
                    d["serial"],
                    _size(d["size_bytes"]),
                    d["method"],
                    _word("level", d["level"]),
                    _word("verification", d["verification"]),
                    _word("erasure_result", d["result"]),
                ):
                    row.cell(t(value))
            for d in lap["destroyed"]:
                row = table.row()
                for value in (
                    label,
                    "",
                    d["serial"],
                    "",
                    d["method"],
                    _both("Destroy"),
                    "-",
                    _both("destroyed"),
                ):
                    row.cell(t(value))
    tot = p["totals"]
    pdf.ln(3)
    pdf.set_font(family, "B", 10)
    totals = _lines(
        "Totals: %(laptops)s laptops, %(disks)s disks (%(purge)s Purge, %(clear)s "
        "Clear): %(erased)s erased, %(verified)s verified, %(failed)s failed, "
        "%(destroyed)s destroyed",
        **{
            k: tot.get(k, 0)
            for k in ("laptops", "disks", "purge", "clear", "erased", "verified", "failed")
        },
        destroyed=tot.get("destroyed", 0),
    )
    for text in totals:
        pdf.multi_cell(0, 6, t(text), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "", 8)
    if "four_eyes" in p:
        fe = p["four_eyes"]
        for text in _lines(
            "Four-eyes spot checks: %(passed)s of %(sampled)s sampled disks passed",
            passed=fe["passed"],
            sampled=fe["sampled"],
        ):
            pdf.multi_cell(0, 5, t(text), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    for footer in (
        f"{_both('Verify')}: {verify_url}",
        *_lines("Signed with Ed25519 over the canonical JSON of this certificate."),
        f"{_both('Server public key')}: {cert.public_key}",
        f"{_both('Signature')}: {cert.signature}",
    ):
        pdf.multi_cell(0, 4, t(footer), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
