"""Realistic FOCUS 1.2 files of AI token lines, for tests and the ingest benchmark."""

import csv
import datetime
import io
import json
import random
from decimal import Decimal

COLUMNS = [
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "ContractedCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "InvoiceIssuerName",
    "ProviderName",
    "PublisherName",
    "PricingQuantity",
    "PricingUnit",
    "ServiceCategory",
    "ServiceName",
    "ServiceSubcategory",
    "ConsumedQuantity",
    "ConsumedUnit",
    "SkuId",
    "SkuMeter",
    "SubAccountId",
    "SubAccountName",
    "ResourceId",
    "ResourceName",
    "Tags",
]
MODELS = [
    ("anthropic.claude-3-5-sonnet-20240620-v1:0", Decimal("3.00"), Decimal("15.00")),
    ("amazon.nova-pro-v1:0", Decimal("0.80"), Decimal("3.20")),
]


def focus_rows(n, *, seed=7, start=None, use_cases=("support-reply-drafter",), teams=("customer-support",)):
    """Yield n FOCUS rows (dicts) of Bedrock token lines spread over 30 days, tagged as real bills are:
    use case, team, environment and cost center (a handful of distinct tag sets, not one per row).

    Every row is distinct, as in a real bill: rows of the same day, model and use case differ by their
    token count."""
    rng = random.Random(seed)
    start = start or datetime.datetime(2026, 10, 1, tzinfo=datetime.UTC)
    for i in range(n):
        day = start + datetime.timedelta(days=i % 30)
        model, price_in, price_out = MODELS[i % len(MODELS)]
        direction = "input" if i % 2 == 0 else "output"
        # Rows of the same day (i % 30) differ by i // 30, so their token counts never collide.
        tokens = 1_000 + (i // 30) * 97 + rng.randint(0, 96)
        cost = (
            Decimal(tokens) * (price_in if direction == "input" else price_out) / Decimal(1_000_000)
        ).quantize(Decimal("0.0000001"))
        k = i % len(use_cases)
        yield {
            "BilledCost": str(cost),
            "EffectiveCost": str(cost),
            "ListCost": str(cost),
            "ContractedCost": str(cost),
            "BillingAccountId": "123456789012",
            "BillingAccountName": "Acme AI",
            "BillingCurrency": "USD",
            "BillingPeriodStart": "2026-10-01T00:00:00Z",
            "BillingPeriodEnd": "2026-11-01T00:00:00Z",
            "ChargePeriodStart": day.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "ChargePeriodEnd": (day + datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "ChargeCategory": "Usage",
            "ChargeClass": "",
            "ChargeDescription": f"{model} {direction} tokens",
            "InvoiceIssuerName": "Amazon Web Services",
            "ProviderName": "Amazon Web Services",
            "PublisherName": "Amazon Web Services",
            "PricingQuantity": str(tokens),
            "PricingUnit": "Tokens",
            "ServiceCategory": "AI and Machine Learning",
            "ServiceName": "Amazon Bedrock",
            "ServiceSubcategory": "Generative AI",
            "ConsumedQuantity": str(tokens),
            "ConsumedUnit": "Tokens",
            "SkuId": f"{model}-{direction}",
            "SkuMeter": f"{direction} tokens",
            "SubAccountId": f"acct-{k}",
            "SubAccountName": teams[k % len(teams)],
            "ResourceId": f"arn:aws:bedrock:us-east-1::foundation-model/{model}",
            "ResourceName": model,
            "Tags": json.dumps(
                {
                    "ai-use-case": use_cases[k],
                    "team": teams[k % len(teams)],
                    "environment": "prod" if k % 3 else "dev",
                    "cost-center": f"CC-{100 + k % 4}",
                }
            ),
        }


def focus_csv(rows) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return out.getvalue().encode()


def write_focus_csv(path, n, **kwargs):
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in focus_rows(n, **kwargs):
            writer.writerow(row)
    return path
