"""Split the one destination column into the station's proposal and the coordinator's
decision; an overridden grade's proposal follows the override."""

from typing import Any

from django.db import migrations, models

PROPOSAL = {"A": "lend", "B": "lend", "C": "repair", "parts": "parts", "recycle": "recycle"}
DECISIONS = {"digibank", "digileen", "repair", "parts", "recycle", "elsewhere"}


def forwards(apps: Any, schema_editor: Any) -> None:
    status = apps.get_model("web", "DeviceStatus")
    for row in status.objects.all().iterator(chunk_size=2000):
        changed = []
        if row.destination_final and row.destination in DECISIONS:
            row.decision = row.destination
            changed.append("decision")
        if row.grade_override and row.grade_override in PROPOSAL:
            row.proposal = PROPOSAL[row.grade_override]
            changed.append("proposal")
        if changed:
            row.save(update_fields=changed)


def backwards(apps: Any, schema_editor: Any) -> None:
    status = apps.get_model("web", "DeviceStatus")
    for row in status.objects.all().iterator(chunk_size=2000):
        row.destination = row.decision or row.proposal
        row.destination_final = bool(row.decision)
        row.save(update_fields=["destination", "destination_final"])


class Migration(migrations.Migration):
    dependencies = [
        ("web", "0003_loginfailure"),
    ]

    operations = [
        migrations.RenameField("devicestatus", "report_destination", "proposal"),
        migrations.AddField(
            model_name="devicestatus",
            name="decision",
            field=models.CharField(
                blank=True,
                choices=[
                    ("digibank", "Digibank loan"),
                    ("digileen", "Digi-leen loan"),
                    ("repair", "repair"),
                    ("parts", "parts"),
                    ("recycle", "recycle"),
                    ("elsewhere", "donate elsewhere"),
                ],
                default="",
                max_length=16,
            ),
        ),
        migrations.RunPython(forwards, backwards),
        migrations.RemoveIndex(model_name="devicestatus", name="status_destination"),
        migrations.RemoveField(model_name="devicestatus", name="destination"),
        migrations.RemoveField(model_name="devicestatus", name="destination_final"),
        migrations.AddIndex(
            model_name="devicestatus",
            index=models.Index(fields=["decision", "device"], name="status_decision"),
        ),
    ]
