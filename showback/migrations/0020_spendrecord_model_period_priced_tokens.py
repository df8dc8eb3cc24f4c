"""An index for a model's month volume, and the gateway's records of book-costed events marked.

`showback.selectors.model_month_volumes` sums a model's tokens of a month on every gateway batch
and import of a model with volume tiers: the (model, period) index keeps it to that model's rows.

The gateway's SpendRecords now carry `raw_extras["priced_tokens"]`, the tokens of the events the
price book costed (the reconciliation names a price only for those). The records written before
get it here from their computed events: a record is one use case, day, model, currency and, where
the events had a customer or tags, a digest of them (the gateway's `_customer_and_tags_digest`,
copied here as it stood).
"""

import datetime
import hashlib
import json
from collections import defaultdict

from django.db import migrations, models
from django.db.models import Sum
from django.db.models.functions import TruncDate

PRICED_TOKENS = "priced_tokens"


def _digest(customer, tags):
    raw = json.dumps([customer, sorted(tags.items())], ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()[:24]


def gateway_priced_tokens(apps, schema_editor):
    SpendRecord = apps.get_model("showback", "SpendRecord")
    UsageEvent = apps.get_model("showback", "UsageEvent")
    records = defaultdict(list)
    for ident, use_case_id, start, model_id, key, extras in (
        SpendRecord.objects.filter(source="gateway", model_id__isnull=False)
        .values_list("id", "use_case_id", "charge_period_start", "model_id", "source_row_key", "raw_extras")
        .iterator(chunk_size=5000)
    ):
        if PRICED_TOKENS not in (extras or {}):
            day = start.astimezone(datetime.UTC).date()
            records[use_case_id, day, model_id].append((ident, key, extras or {}))
    if not records:
        return
    groups = (
        UsageEvent.objects.filter(cost_computed=True, model_id__isnull=False)
        .annotate(day=TruncDate("occurred_at", tzinfo=datetime.UTC))
        .values("use_case_id", "day", "model_id", "currency", "customer", "tags")
        .annotate(
            tokens_in=Sum("input_tokens"),
            tokens_cached=Sum("cached_tokens"),
            tokens_written=Sum("cache_write_tokens"),
            tokens_out=Sum("output_tokens"),
        )
        .order_by()
    )
    counts = defaultdict(lambda: [0, 0, 0, 0])
    for g in groups.iterator(chunk_size=5000):
        candidates = records.get((g["use_case_id"], g["day"], g["model_id"]))
        if not candidates:
            continue
        suffix = f":{g['currency']}"
        if g["customer"] or g["tags"]:
            suffix += ":" + _digest(g["customer"], g["tags"] or {})
        for ident, key, _extras in candidates:
            if key.endswith(suffix):
                tokens = (g["tokens_in"], g["tokens_cached"], g["tokens_written"], g["tokens_out"])
                counts[ident] = [a + (b or 0) for a, b in zip(counts[ident], tokens, strict=True)]
                break
    extras_of = {ident: extras for found in records.values() for ident, _key, extras in found}
    changed = []
    for ident, tokens in counts.items():
        changed.append(SpendRecord(id=ident, raw_extras={**extras_of[ident], PRICED_TOKENS: tokens}))
    SpendRecord.objects.bulk_update(changed, ["raw_extras"], batch_size=2000)


class Migration(migrations.Migration):
    dependencies = [
        ("portfolio", "0008_pricebook"),
        ("showback", "0019_usage_service_tier_cache_writes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="spendrecord",
            index=models.Index(fields=["model", "charge_period_start"], name="spendrecord_model_period"),
        ),
        migrations.RunPython(gateway_priced_tokens, migrations.RunPython.noop),
    ]
