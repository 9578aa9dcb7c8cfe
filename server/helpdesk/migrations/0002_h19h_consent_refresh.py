from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("helpdesk", "0001_h19_helpdesk_visits"),
    ]

    operations = [
        migrations.AlterField(
            model_name="helpdeskvisit",
            name="label",
            field=models.CharField(blank=True, default="", max_length=256),
        ),
        migrations.AlterField(
            model_name="helpdeskvisit",
            name="diagnosis",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="helpdeskvisit",
            name="consent",
            field=models.JSONField(default=dict),
        ),
        migrations.AddField(
            model_name="helpdeskvisit",
            name="erasures",
            field=models.JSONField(default=list),
        ),
    ]
