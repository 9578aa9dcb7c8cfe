"""The lending status loses "needs re-wipe": nothing set it; "returned" already means a new
intake run must prove the erasure before the laptop is lent again (server/lending/rules.py).
"""

from typing import Any

from django.db import migrations, models


def rewipe_to_returned(apps: Any, schema_editor: Any) -> None:
    DeviceStatus = apps.get_model("web", "DeviceStatus")
    DeviceStatus.objects.filter(lending="needs_rewipe").update(lending="returned")


class Migration(migrations.Migration):
    dependencies = [
        ("web", "0006_h16p_status_summary"),
    ]

    operations = [
        migrations.RunPython(rewipe_to_returned, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="devicestatus",
            name="lending",
            field=models.CharField(
                choices=[("in_stock", "in stock"), ("lent", "lent"), ("returned", "returned")],
                default="in_stock",
                max_length=16,
            ),
        ),
    ]
