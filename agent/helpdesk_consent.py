"""What of a helpdesk visit may leave the station: only what the resident agreed to (issue #19).

A resident's own laptop is theirs. The station uploads a copy of the check-mode
report cut down to the resident's consent (:func:`visit_upload`): without a yes
only the anonymous minimum (which station, when, and a refresh's erasure
evidence without serial numbers or tags). The server applies the same rule
(:func:`uncovered`) to whatever it receives, strips what the consent does not
cover and audits that it did, so a hostile or buggy upload stores no more.
"""

from __future__ import annotations

from agent.helpdesk_summary import diagnose
from agent.policy import Policy
from agent.report.schema import (
    Components,
    DeviceIdentity,
    Diagnosis,
    ErasureRecord,
    Helpdesk,
    ImageRecord,
    Operator,
    Report,
)


def anonymous_label(report: Report) -> str:
    """What names a visit whose label the resident did not agree to keep."""
    return str(report.report_id)[:8]


def serials(report: Report) -> list[str]:
    """Every serial number in the report, longest first: none is kept for a resident's laptop."""
    d = report.device
    found = [d.serial, d.chassis_serial, d.board_serial, d.uuid]
    found += [disk.serial for disk in report.components.disks]
    found += [bat.serial for bat in report.components.batteries]
    memory = report.components.memory
    found += [m.serial for m in (memory.modules if memory else [])]
    found += [e.disk_serial for e in report.erasures] + [e.host_serial for e in report.erasures]
    return sorted({s for s in found if s and len(s) >= 4}, key=len, reverse=True)


def _scrub(text: str, known: list[str]) -> str:
    for serial in known:
        text = text.replace(f" ({serial})", "").replace(serial, "")
    return text


def without_serials(d: Diagnosis, known: list[str]) -> Diagnosis:
    """The diagnosis with every known serial number taken out of its findings."""
    findings = [
        r.model_copy(
            update={
                "message": _scrub(r.message, known),
                "params": {
                    k: _scrub(v, known) if isinstance(v, str) else v for k, v in r.params.items()
                },
            }
        )
        for r in d.findings
    ]
    return d.model_copy(update={"findings": findings})


def _evidence(record: ErasureRecord) -> ErasureRecord:
    """An erasure record without what identifies the disk, the laptop or the volunteer.

    Its own signature covered those fields, so it goes too; the report's
    signature still covers the record as sent.
    """
    return record.model_copy(
        update={
            "disk_serial": None,
            "disk_identity": None,
            "host_serial": None,
            "host_asset_tag": None,
            "operator": None,
            "signature": None,
        }
    )


def _image(record: ImageRecord) -> ImageRecord:
    return record.model_copy(update={"target_disk_serial": None, "hostname": None})


def visit_upload(report: Report, policy: Policy) -> Report:
    """The copy of a check-mode report that may go to the server (unsigned)."""
    helpdesk = report.helpdesk or Helpdesk()
    consent = helpdesk.consent
    diagnosis = None
    if consent.diagnosis:
        diagnosis = without_serials(diagnose(report, policy), serials(report))
        if not consent.label:
            diagnosis = diagnosis.model_copy(update={"visit": anonymous_label(report)})
    refreshed = helpdesk.refresh is not None
    return report.model_copy(
        update={
            "asset_tag": report.asset_tag if consent.label else None,
            "operator": Operator(),
            "device": DeviceIdentity(),
            "components": Components(),
            "tests": [],
            "grade": None,
            "warnings": [],
            "interruptions": [],  # they name disks by model and serial
            "erasures": [_evidence(r) for r in report.erasures] if refreshed else [],
            "images": [_image(i) for i in report.images] if refreshed else [],
            "helpdesk": helpdesk.model_copy(update={"diagnosis": diagnosis}),
            "signature": None,
        },
        deep=True,
    )


def uncovered(report: Report) -> list[str]:
    """What a check-mode ``report`` carries beyond its consent, by field name ([] = nothing).

    A visit keeps no inventory (device, components, tests, grade): the hardware
    facts the resident agreed to travel in the diagnosis.
    """
    helpdesk = report.helpdesk or Helpdesk()
    consent = helpdesk.consent
    found = []
    if report.asset_tag and not consent.label:
        found.append("asset_tag")
    if helpdesk.diagnosis is not None:
        if not consent.diagnosis:
            found.append("helpdesk.diagnosis")
        elif not consent.label and helpdesk.diagnosis.visit != anonymous_label(report):
            found.append("helpdesk.diagnosis.visit")
    for name in ("operator", "device", "components"):
        if getattr(report, name).model_dump(exclude_defaults=True):
            found.append(name)
    for name in ("tests", "warnings", "interruptions"):
        if getattr(report, name):
            found.append(name)
    if report.grade is not None:
        found.append("grade")
    if helpdesk.refresh is None:
        found += [name for name in ("erasures", "images") if getattr(report, name)]
    if any(_evidence(r) != r for r in report.erasures):
        found.append("erasures.identity")
    if any(_image(i) != i for i in report.images):
        found.append("images.identity")
    return found
