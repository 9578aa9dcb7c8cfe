"""Helpdesk (check mode) on real loop devices: nothing wiped, consent, and a refresh (issue #19).

A resident's own laptop is never wiped by a check. A refresh needs the resident's
separate confirmation (their files will be gone, a copy was made), then the
usual disk confirmation with its refusals; the result stays a helpdesk visit,
and what is uploaded carries only what the resident agreed to.
"""

from __future__ import annotations

import io
import json

import pytest

from agent.errors import DigibenchError
from agent.helpdesk_consent import uncovered
from agent.pipeline.headless import run_headless
from agent.pipeline.lifecycle import WrongStageError
from agent.pipeline.station import NotConfirmedError, Pipeline
from agent.report.schema import HelpdeskConsent, Mode, Report
from agent.runner import SystemRunner
from agent.signing import verify
from tests.pipeline.conftest import Bench, count_markers, needs_root

pytestmark = needs_root


def _outbox(bench: Bench) -> list[Report]:
    outbox = bench.config.outbox_dir
    return [Report.model_validate_json(p.read_text()) for p in sorted(outbox.glob("*.json"))]


def _untouched(bench: Bench) -> None:
    for dev in bench.disks:
        assert count_markers(dev) > 0, f"{dev} was written to"


def test_a_check_never_wipes_without_the_refresh_confirmation(bench: Bench) -> None:
    pipeline = Pipeline(bench.config, runner=SystemRunner())
    pipeline.inspect(asset_tag="HD-1", mode=Mode.CHECK)
    names = [d.name for d in pipeline.targets()]
    assert names  # the loop disks would be wiped in an intake run
    with pytest.raises(NotConfirmedError, match="refresh confirmation"):
        pipeline.confirm(names)
    pipeline.record_tests([])
    with pytest.raises(NotConfirmedError, match="refresh confirmation"):
        pipeline.confirm(names)
    with pytest.raises(NotConfirmedError):
        pipeline.run()
    with pytest.raises(NotConfirmedError, match="no copy"):
        pipeline.confirm_refresh(copy_made=False)
    with pytest.raises(NotConfirmedError):
        pipeline.run()
    pipeline.finish()
    _untouched(bench)


def test_consent_and_refresh_are_for_a_helpdesk_visit_only(bench: Bench) -> None:
    pipeline = Pipeline(bench.config, runner=SystemRunner())
    pipeline.inspect(asset_tag="DB-9", mode=Mode.INTAKE)
    with pytest.raises(WrongStageError):
        pipeline.confirm_refresh(copy_made=True)
    with pytest.raises(WrongStageError):
        pipeline.record_consent(HelpdeskConsent(diagnosis=True))
    pipeline.cancel()
    _untouched(bench)


def test_the_upload_carries_only_what_the_resident_agreed_to(bench: Bench) -> None:
    pipeline = Pipeline(bench.config, runner=SystemRunner())
    pipeline.inspect(asset_tag="Marie 06-1234", mode=Mode.CHECK)
    pipeline.record_consent(HelpdeskConsent(diagnosis=True, label=False))
    full = pipeline.finish()
    assert full.asset_tag == "Marie 06-1234" and full.components.disks  # the station's own
    (sent,) = _outbox(bench)
    assert uncovered(sent) == []
    raw = sent.model_dump_json()
    assert "Marie" not in raw and "06-1234" not in raw
    serials = [d.serial for d in full.components.disks if d.serial] + [full.device.serial]
    assert all(s not in raw for s in serials if s)
    assert sent.helpdesk is not None and sent.helpdesk.diagnosis is not None
    assert sent.helpdesk.diagnosis.visit == str(sent.report_id)[:8]
    assert sent.signature is not None and sent.station.public_key
    assert verify(json.loads(raw), sent.signature.value, sent.station.public_key)
    _untouched(bench)


def test_headless_refresh_wipes_only_with_a_copy_and_stays_a_visit(bench: Bench) -> None:
    bench.config.station.mode = Mode.CHECK
    bench.config.headless.refresh = True
    bench.config.headless.refresh_copy_made = False
    with pytest.raises(DigibenchError, match="no copy"):
        run_headless(bench.config, runner=SystemRunner(), out=io.StringIO())
    _untouched(bench)

    bench.config.headless.refresh_copy_made = True
    bench.config.headless.consent_diagnosis = True
    out = io.StringIO()
    assert run_headless(bench.config, runner=SystemRunner(), out=out) == 0, out.getvalue()
    for dev in bench.disks:
        assert count_markers(dev) == 0, f"the resident's data left on {dev}"
    (sent,) = _outbox(bench)
    assert sent.mode == "check" and sent.grade is None  # a visit: no grade, no destination
    assert " -> " not in out.getvalue() and "helpdesk visit" in out.getvalue()  # no destination
    assert sent.helpdesk is not None and sent.helpdesk.refresh is not None
    assert sent.helpdesk.refresh.copy_made is True
    assert len(sent.erasures) == 2 and uncovered(sent) == []
    for record in sent.erasures:  # the evidence, without serials or tags
        assert record.result == "erased" and record.verification_passed
        assert record.disk_serial is None and record.host_asset_tag is None
    diagnosis = sent.helpdesk.diagnosis
    assert diagnosis is not None
    assert [r.code for r in diagnosis.refresh].count("diagnosis.erased") == 2


def test_the_helpdesk_table_reaches_the_wipe_only_through_refresh() -> None:
    from agent.pipeline.events import Stage as S
    from agent.pipeline.lifecycle import HELPDESK_TRANSITIONS, TRANSITIONS, Lifecycle

    into_wipe = {here for here, to in HELPDESK_TRANSITIONS.items() if S.WIPE in to}
    assert into_wipe == {S.REFRESH}
    assert not any(S.REFRESH in to for to in TRANSITIONS.values())  # never in an intake run
    life = Lifecycle(S.CONFIRM, helpdesk=True)
    assert not life.can(S.WIPE) and not life.can(S.CONFIRM)
    with pytest.raises(WrongStageError):
        life.move(S.WIPE)
