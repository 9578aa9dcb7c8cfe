"""Disk verdict, wear and wiped disks of each laptop's latest run, stored on its list row.

The backfill is three UPDATEs with correlated subqueries (no Python loop over 100,000
laptops); from then on server/web/summary.py keeps the columns at ingest.
"""

from typing import Any

from django.db import migrations, models
from django.db.models import Case, Count, IntegerField, Max, OuterRef, Subquery, Value, When
from django.db.models.functions import Coalesce

#: the same order and results as server/web/summary.py (copied: a migration stays fixed)
VERDICT_RANK = ("failing", "worn", "unknown", "healthy")
ERASED_RESULTS = ("erased", "erased_with_exceptions")


def backfill(apps: Any, schema_editor: Any) -> None:
    status = apps.get_model("web", "DeviceStatus")
    disk = apps.get_model("ingest", "Disk")
    erasure = apps.get_model("ingest", "ErasureRecord")
    internal = disk.objects.filter(run_id=OuterRef("last_run_id"), internal=True)
    rank = Case(
        *(When(verdict=v, then=Value(i)) for i, v in enumerate(VERDICT_RANK)),
        default=Value(len(VERDICT_RANK)),
        output_field=IntegerField(),
    )
    worst = internal.filter(verdict__in=VERDICT_RANK).annotate(rank=rank).order_by("rank")
    wear = internal.values("run_id").annotate(m=Max("percentage_used")).values("m")
    erased = (
        erasure.objects.filter(run_id=OuterRef("last_run_id"), result__in=ERASED_RESULTS)
        .values("run_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    with_run = status.objects.filter(last_run__isnull=False)
    with_run.update(disk_verdict=Coalesce(Subquery(worst.values("verdict")[:1]), Value("")))
    with_run.update(disk_wear=Subquery(wear))
    with_run.update(erased_disks=Coalesce(Subquery(erased), Value(0)))


class Migration(migrations.Migration):
    dependencies = [
        ("ingest", "0005_h16c_erasure_signature_status"),
        ("web", "0005_h16b_review_indexes"),
    ]

    operations = [
        # the backfill comes after the columns and before their indexes (cheaper to build)
        migrations.AddField(
            model_name="devicestatus",
            name="disk_verdict",
            field=models.CharField(blank=True, default="", max_length=16),
        ),
        migrations.AddField(
            model_name="devicestatus",
            name="disk_wear",
            field=models.IntegerField(null=True),
        ),
        migrations.AddField(
            model_name="devicestatus",
            name="erased_disks",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="devicestatus",
            index=models.Index(fields=["lending"], name="status_count_lending"),
        ),
        migrations.AddIndex(
            model_name="devicestatus",
            index=models.Index(fields=["battery_health"], name="status_count_battery_health"),
        ),
        migrations.AddIndex(
            model_name="devicestatus",
            index=models.Index(fields=["disk_verdict"], name="status_count_disk_verdict"),
        ),
        migrations.AddIndex(
            model_name="devicestatus",
            index=models.Index(fields=["disk_wear"], name="status_count_disk_wear"),
        ),
        migrations.AddIndex(
            model_name="devicestatus",
            index=models.Index(
                fields=["decision", "grade_override", "last_run_at", "device"],
                name="status_decided",
            ),
        ),
    ]
