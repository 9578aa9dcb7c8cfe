"""Stations can be suspended from the web UI (and taken back into use)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("ingest", "0003_signed_stations_audit_chain")]

    operations = [
        migrations.AddField(
            model_name="station",
            name="suspended_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
