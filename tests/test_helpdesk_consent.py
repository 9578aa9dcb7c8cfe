"""The station's upload of a helpdesk visit carries exactly what its consent covers, and the
server's rule (``uncovered``) finds everything beyond it (issue #19)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agent.helpdesk_consent import anonymous_label, serials, uncovered, visit_upload
from agent.policy import load_policy
from agent.report.samples import sample_report
from agent.report.schema import Helpdesk, HelpdeskConsent, Mode, RefreshConfirmation, Report

WHEN = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)


def _visit(consent: HelpdeskConsent, refreshed: bool) -> Report:
    report = sample_report(7, asset_tag="Marie 06-1234")
    refresh = (
        RefreshConfirmation(files_gone_understood=True, copy_made=True, confirmed_at=WHEN)
        if refreshed
        else None
    )
    update = {"mode": Mode.CHECK, "helpdesk": Helpdesk(consent=consent, refresh=refresh)}
    if not refreshed:
        update |= {"erasures": [], "images": []}
    return report.model_copy(update=update, deep=True)


@pytest.mark.parametrize("refreshed", [False, True])
@pytest.mark.parametrize("diagnosis", [False, True])
@pytest.mark.parametrize("label", [False, True])
def test_the_upload_is_covered_by_its_consent(
    diagnosis: bool, label: bool, refreshed: bool
) -> None:
    full = _visit(HelpdeskConsent(diagnosis=diagnosis, label=label), refreshed)
    assert "components" in uncovered(full)  # the station's own report: never sent as it is
    sent = visit_upload(full, load_policy())
    assert uncovered(sent) == []
    raw = sent.model_dump_json()
    assert all(serial not in raw for serial in serials(full))
    assert ("Marie" in raw) is label
    assert sent.helpdesk is not None
    assert (sent.helpdesk.diagnosis is not None) is diagnosis
    if sent.helpdesk.diagnosis is not None and not label:
        assert sent.helpdesk.diagnosis.visit == anonymous_label(full)
    assert len(sent.erasures) == (len(full.erasures) if refreshed else 0)
    assert sent.grade is None and not sent.components.disks and sent.device.serial is None


def test_erasures_without_a_refresh_confirmation_are_not_covered() -> None:
    report = visit_upload(_visit(HelpdeskConsent(), False), load_policy())
    with_erasures = report.model_copy(update={"erasures": sample_report(7).erasures})
    assert "erasures" in uncovered(with_erasures)
    assert "erasures.identity" in uncovered(with_erasures)  # serials, tags, signatures
