from decimal import Decimal

from django.db import migrations

# The defaults of intake.triage.DEFAULT_RULES when this migration was written: (tier, threshold).
DEFAULTS = {
    "customer_facing": ("high", None),
    "indirect_customer_impact": ("medium", None),
    "external_users": ("medium", None),
    "restricted_data": ("high", None),
    "confidential_data": ("medium", None),
    "personal_data": ("medium", None),
    "supervised_agent": ("medium", None),
    "autonomous_agent": ("high", None),
    "agent_external_actions": ("high", None),
    "autonomous_external_actions": ("critical", None),
    "cost_above_threshold": ("medium", Decimal("5000")),
    "cost_above_high_threshold": ("high", Decimal("50000")),
    "unlisted_model": ("medium", None),
    "restricted_model": ("medium", None),
    "combined_high_risks": ("critical", Decimal("3")),
}


def create_rules(apps, schema_editor):
    TriageRule = apps.get_model("intake", "TriageRule")
    for code, (tier, threshold) in DEFAULTS.items():
        TriageRule.objects.get_or_create(code=code, defaults={"tier": tier, "threshold": threshold})


class Migration(migrations.Migration):
    dependencies = [("intake", "0001_initial")]

    operations = [migrations.RunPython(create_rules, migrations.RunPython.noop)]
