"""Migration 0004_h16a: the one destination column becomes a proposal and a decision."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from server.web.models import DeviceStatus

BEFORE = [("web", "0003_loginfailure")]
AFTER = [("web", "0004_h16a_proposal_decision")]


@pytest.mark.django_db(transaction=True)
def test_existing_rows_keep_their_decisions_and_proposals_follow_overrides() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        old = executor.loader.project_state(BEFORE).apps
        device = old.get_model("ingest", "Device")
        status = old.get_model("web", "DeviceStatus")
        rows = {
            # (report grade, override, report destination, destination, final)
            "decided": ("B", "", "lend", "digileen", True),
            "proposed": ("C", "", "repair", "repair", False),
            "overridden": ("C", "B", "repair", "repair", False),
            "decided-parts": ("A", "parts", "lend", "parts", True),
        }
        for tag, (grade, override, proposal, dest, final) in rows.items():
            d = device.objects.create(identity_key=f"serial:x:{tag}", asset_tag=tag)
            status.objects.create(
                device=d,
                asset_tag=tag,
                report_grade=grade,
                grade_override=override,
                grade=override or grade,
                report_destination=proposal,
                destination=dest,
                destination_final=final,
            )
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    got = {s.asset_tag: (s.proposal, s.decision) for s in DeviceStatus.objects.all()}
    assert got == {
        "decided": ("lend", "digileen"),
        "proposed": ("repair", ""),
        "overridden": ("lend", ""),
        "decided-parts": ("parts", "parts"),
    }
