from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("web", "0002_evidence_conflicts_revocation"),
    ]

    operations = [
        migrations.CreateModel(
            name="LoginFailure",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("at", models.DateTimeField(auto_now_add=True, db_index=True)),
                ("username", models.CharField(db_index=True, max_length=150)),
                ("address", models.CharField(db_index=True, max_length=64)),
            ],
            options={"ordering": ["-at"]},
        ),
    ]
