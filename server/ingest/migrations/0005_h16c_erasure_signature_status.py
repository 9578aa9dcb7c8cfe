"""Each erasure record's signature status, stored when the report arrives (h16c).

Back-fills the records already stored by checking their signatures once, as the
pages did on every view before.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations, models


def backfill(apps: Any, schema_editor: Any) -> None:
    from server.ingest.record_signatures import UNSIGNED, statuses

    Run = apps.get_model("ingest", "Run")
    ErasureRecord = apps.get_model("ingest", "ErasureRecord")
    with_records = ErasureRecord.objects.values("run_id")
    runs = Run.objects.filter(pk__in=with_records).select_related("station").order_by("pk")
    for run in runs.iterator(chunk_size=500):
        found = statuses(run.raw_body, run.station.public_key)
        for rec in ErasureRecord.objects.filter(run=run):
            status = found.get(str(rec.record_id), UNSIGNED)
            if status != rec.signature_status:
                rec.signature_status = status
                rec.save(update_fields=["signature_status"])


class Migration(migrations.Migration):
    dependencies = [("ingest", "0004_h18b_station_suspended")]

    operations = [
        migrations.AddField(
            model_name="erasurerecord",
            name="signature_status",
            field=models.CharField(default="unsigned", max_length=16),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
