"""Stations may be marked allow_unsigned; audit events carry a hash chain.

Existing events get their chain computed here, in id order, so an upgraded
database verifies from its first event on.
"""

from typing import Any

import django.utils.timezone
from django.db import migrations, models

from server.ingest import audit_chain


def chain_existing(apps: Any, schema_editor: Any) -> None:
    AuditEvent = apps.get_model("ingest", "AuditEvent")
    prev = audit_chain.GENESIS
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=2000):
        digest = audit_chain.hash_of(event, prev)
        AuditEvent.objects.filter(pk=event.pk).update(prev_hash=prev, hash=digest)
        prev = digest


def drop_stale_permissions(apps: Any, schema_editor: Any) -> None:
    Permission = apps.get_model("auth", "Permission")
    Permission.objects.filter(
        content_type__app_label="ingest",
        codename__in=["change_auditevent", "delete_auditevent"],
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("ingest", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AddField(
            model_name="station",
            name="allow_unsigned",
            field=models.BooleanField(
                default=False,
                verbose_name="accept unsigned reports",
                help_text="Accept reports without a verified signature from this key-less "
                "station (they are flagged as unproven).",
            ),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="prev_hash",
            field=models.CharField(default="", editable=False, max_length=64),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="hash",
            field=models.CharField(default="", editable=False, max_length=64),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="at",
            field=models.DateTimeField(default=django.utils.timezone.now, editable=False),
        ),
        migrations.AlterModelOptions(
            name="auditevent",
            options={"default_permissions": ("add", "view"), "ordering": ["-at", "-id"]},
        ),
        migrations.RunPython(chain_existing, migrations.RunPython.noop),
        migrations.RunPython(drop_stale_permissions, migrations.RunPython.noop),
    ]
