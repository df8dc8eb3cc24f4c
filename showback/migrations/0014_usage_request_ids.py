# The usage events' idempotency key in a table of its own (issue 14): UsageEvent is partitioned by
# month, so its unique index includes the time; this one holds (use case, request id) alone and
# lets a batch claim its ids with ON CONFLICT DO NOTHING instead of a lock held to its commit; the
# events' own unique index goes.

from django.db import migrations, models


def claim_stored(apps, schema_editor):
    """The ids of the events stored so far, so none of them can be stored again."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "INSERT INTO showback_usagerequest (use_case_id, request_id) "
            "SELECT DISTINCT use_case_id, request_id FROM showback_usageevent ON CONFLICT DO NOTHING"
        )
        return
    UsageEvent = apps.get_model("showback", "UsageEvent")
    UsageRequest = apps.get_model("showback", "UsageRequest")
    pairs = UsageEvent.objects.values_list("use_case_id", "request_id").distinct().iterator()
    UsageRequest.objects.bulk_create(
        (UsageRequest(use_case_id=u, request_id=r) for u, r in pairs), ignore_conflicts=True, batch_size=2000
    )


class Migration(migrations.Migration):
    dependencies = [
        ("showback", "0013_bill_dimensions"),
    ]

    operations = [
        migrations.CreateModel(
            name="UsageRequest",
            fields=[
                ("pk", models.CompositePrimaryKey("use_case_id", "request_id", blank=True, editable=False, primary_key=True, serialize=False)),
                ("use_case_id", models.BigIntegerField()),
                ("request_id", models.CharField(max_length=200)),
            ],
        ),
        migrations.RunPython(claim_stored, migrations.RunPython.noop),
        # The events' own unique index, which included the time, is now redundant write cost.
        migrations.RemoveConstraint(model_name="usageevent", name="usageevent_request_once"),
    ]
