# The durable queue of use-case days whose rollups are behind their usage events (issue 14).

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("showback", "0010_budget_customer_tag_agent_limits"),
    ]

    operations = [
        migrations.CreateModel(
            name="UsageRollupDirty",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("use_case_id", models.BigIntegerField()),
                ("day", models.DateField()),
                ("version", models.BigIntegerField(default=1)),
                ("marked_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("use_case_id", "day"), name="usagerollupdirty_once")
                ],
            },
        ),
    ]
