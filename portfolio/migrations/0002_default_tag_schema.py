from django.db import migrations

FUNCTIONS = [
    "engineering", "product", "customer_support", "sales", "marketing", "finance", "operations",
    "people", "legal", "data",
]

# key, label, applies_to, allowed values, pattern, required, description
TAG_KEYS = [
    ("product", "Product", "use_case", [], r"[\w .&/+-]{2,80}", False,
     "The product or service the use case serves."),
    ("function", "Business function", "use_case", FUNCTIONS, "", True,
     "The business function that benefits."),
    ("customer-segment", "Customer segment", "use_case",
     ["all-customers", "enterprise", "mid-market", "smb", "consumer", "internal"], "", False,
     "Which customers it serves; internal when none."),
    ("workflow", "Workflow", "use_case", [], r"[\w .&/+-]{2,80}", True,
     "The workflow or process step it supports, e.g. ticket reply."),
    ("ai-use-case", "Use-case key", "spend", [], r"[a-z0-9]+(?:-[a-z0-9]+)*", False,
     "The use case's key, on cloud resources and in gateway metadata."),
    ("environment", "Environment", "spend", ["development", "staging", "production"], "", False,
     "Where the workload runs."),
]


def create_tag_schema(apps, schema_editor):
    TagKey = apps.get_model("portfolio", "TagKey")
    for position, (key, label, applies_to, allowed, pattern, required, description) in enumerate(TAG_KEYS):
        TagKey.objects.get_or_create(
            key=key,
            defaults={
                "label": label, "applies_to": applies_to, "allowed_values": allowed, "pattern": pattern,
                "required": required, "description": description, "position": position,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("portfolio", "0001_initial")]

    operations = [migrations.RunPython(create_tag_schema, migrations.RunPython.noop)]
