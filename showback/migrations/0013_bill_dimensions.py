import django.db.models.deletion
from django.db import migrations, models


def rebuild_rollups(apps, schema_editor):
    """Fill the new dimensions of the existing rollups from the records they sum. The rebuild is
    the rollup code of this release (the historical models cannot run it); on a new database there
    are no records and it does nothing."""
    from showback.rollups import daily_spend_rebuild

    span = apps.get_model("showback", "SpendRecord").objects.aggregate(
        first=models.Min("charge_period_start"), last=models.Max("charge_period_start")
    )
    if span["first"] is not None:
        daily_spend_rebuild(start=span["first"].date(), end=span["last"].date())


class Migration(migrations.Migration):
    dependencies = [
        ("showback", "0012_import_lifecycle"),
    ]

    operations = [
        migrations.AddField(
            model_name="dailyspend",
            name="provider_name",
            field=models.CharField(blank=True, max_length=100),
        ),
        migrations.AddField(
            model_name="dailyspend",
            name="service_name",
            field=models.CharField(blank=True, max_length=150),
        ),
        migrations.AddField(
            model_name="dailyspend",
            name="service_category",
            field=models.CharField(blank=True, max_length=100),
        ),
        migrations.AddField(
            model_name="dailyspend",
            name="billing_account",
            field=models.CharField(blank=True, max_length=150),
        ),
        migrations.AddField(
            model_name="dailyspend",
            name="sub_account",
            field=models.CharField(blank=True, max_length=150),
        ),
        migrations.AddField(
            model_name="dailyspend",
            name="region",
            field=models.CharField(blank=True, max_length=100),
        ),
        migrations.AddField(
            model_name="dailyspend",
            name="charge_category",
            field=models.CharField(blank=True, max_length=32),
        ),
        migrations.AddField(
            model_name="dailyspend",
            name="import_batch",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                help_text="The file the rows came from, so showback can show one import's spend.",
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="showback.importbatch",
            ),
        ),
        migrations.RunPython(rebuild_rollups, migrations.RunPython.noop),
    ]
