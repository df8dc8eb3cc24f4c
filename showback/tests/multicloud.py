"""A generated multi-cloud FOCUS 1.2 bill: AWS, Microsoft (Azure), Google Cloud and Oracle; AI and
non-AI services; usage at a negotiated discount, a credit, a commitment purchase and the usage it
covers, a tax line and a correction; tags with several keys (business_unit, cost-center, env).

Nothing in it is attributed by the built-in tag convention: its spend starts unattributed, as a real
bill's does before finance maps its tags."""

import csv
import datetime
import io
import json
import random
from decimal import Decimal

from aifinops.core import periods

from .focus_files import COLUMNS

BILL_COLUMNS = [*COLUMNS, "RegionId", "RegionName", "CommitmentDiscountId", "CommitmentDiscountCategory"]
AI = "AI and Machine Learning"
# provider, invoice issuer, billing account, [(service, category, sub-accounts)], region
CLOUDS = [
    (
        "Amazon Web Services",
        "111111111111",
        [
            ("Amazon Bedrock", AI, ("222222222222", "333333333333")),
            ("Amazon EC2", "Compute", ("222222222222",)),
        ],
        ("us-east-1", "US East (N. Virginia)"),
    ),
    (
        "Microsoft",
        "az-billing-1",
        [("Azure AI Services", AI, ("sub-prod", "sub-dev")), ("Virtual Machines", "Compute", ("sub-prod",))],
        ("eastus", "East US"),
    ),
    (
        "Google Cloud",
        "gcp-0A1B2C",
        [("Vertex AI", AI, ("proj-search",)), ("Cloud Storage", "Storage", ("proj-search",))],
        ("us-central1", "Iowa"),
    ),
    (
        "Oracle",
        "ocid1.tenancy.oc1..acme",
        [("OCI Generative AI", AI, ("compartment-ai",)), ("Compute", "Compute", ("compartment-ai",))],
        ("us-ashburn-1", "US East (Ashburn)"),
    ),
]
BUSINESS_UNITS = ("retail", "wholesale", "platform")
DAYS = 10


def bill_start():
    """The first day of last month: a closed month, whatever today is."""
    return periods.months_back(periods.today(), 1)


def _row(provider, account, service, category, sub, region, day, **figures):
    start = datetime.datetime.combine(day, datetime.time.min, tzinfo=datetime.UTC)
    month = day.replace(day=1)
    return {
        **dict.fromkeys(BILL_COLUMNS, ""),
        "BillingAccountId": account,
        "BillingAccountName": f"{provider} account",
        "BillingCurrency": "USD",
        "BillingPeriodStart": f"{month:%Y-%m-%d}T00:00:00Z",
        "BillingPeriodEnd": f"{periods.add_months(month, 1):%Y-%m-%d}T00:00:00Z",
        "ChargePeriodStart": f"{start:%Y-%m-%dT%H:%M:%SZ}",
        "ChargePeriodEnd": f"{start + datetime.timedelta(days=1):%Y-%m-%dT%H:%M:%SZ}",
        "ChargeCategory": "Usage",
        "InvoiceIssuerName": provider,
        "ProviderName": provider,
        "PublisherName": provider,
        "ServiceCategory": category,
        "ServiceName": service,
        "SubAccountId": sub,
        "SubAccountName": sub,
        "RegionId": region[0],
        "RegionName": region[1],
        **figures,
    }


def _money(value):
    return str(value.quantize(Decimal("0.000001")))


def multicloud_rows(*, seed=16, start=None):
    """The bill's rows as dicts of text, as the file holds them."""
    rng = random.Random(seed)
    start = start or bill_start()
    rows = []
    n = 0
    for provider, account, services, region in CLOUDS:
        for service, category, subs in services:
            for sub in subs:
                for d in range(DAYS):
                    n += 1
                    listed = Decimal(rng.randint(50, 5_000)) / 100
                    # A negotiated discount of 0 to 20 % off list.
                    effective = (listed * Decimal(100 - rng.randint(0, 20)) / 100).quantize(
                        Decimal("0.000001")
                    )
                    unit = BUSINESS_UNITS[(n + d) % len(BUSINESS_UNITS)]
                    tags = {"business_unit": unit, "cost-center": f"CC-{100 + n % 4}", "env": "prod"}
                    if d % 4 == 3:
                        tags.pop("business_unit")
                    rows.append(
                        _row(
                            provider,
                            account,
                            service,
                            category,
                            sub,
                            region,
                            start + datetime.timedelta(days=d),
                            BilledCost=_money(effective),
                            EffectiveCost=_money(effective),
                            ListCost=_money(listed),
                            ContractedCost=_money(effective),
                            ChargeDescription=f"{service} usage {n}",
                            ResourceId=f"res-{n}",
                            Tags=json.dumps(tags),
                        )
                    )
    day = start + datetime.timedelta(days=2)
    aws, azure, _, oracle = CLOUDS
    rows.append(
        _row(
            aws[0], aws[1], "Amazon Bedrock", AI, "222222222222", aws[3], day,
            ChargeCategory="Credit", BilledCost="-25.000000", EffectiveCost="-25.000000",
            ListCost="0", ContractedCost="0", ChargeDescription="Promotional credit",
            Tags=json.dumps({"business_unit": "retail"}),
        )
    )  # fmt: skip
    # A reservation bought for the month: billed now, effective over the usage it covers.
    rows.append(
        _row(
            azure[0], azure[1], "Virtual Machines", "Compute", "sub-prod", azure[3], day,
            ChargeCategory="Purchase", BilledCost="300.000000", EffectiveCost="0",
            ListCost="300.000000", ContractedCost="300.000000", ChargeDescription="1-year reservation",
            CommitmentDiscountId="ri-1", CommitmentDiscountCategory="Usage",
        )
    )  # fmt: skip
    for d in range(3):
        rows.append(
            _row(
                azure[0], azure[1], "Virtual Machines", "Compute", "sub-prod", azure[3],
                start + datetime.timedelta(days=d), BilledCost="0", EffectiveCost="9.500000",
                ListCost="14.000000", ContractedCost="9.500000",
                ChargeDescription="Usage covered by the reservation", CommitmentDiscountId="ri-1",
                CommitmentDiscountCategory="Usage", ResourceId=f"vm-ri-{d}",
                Tags=json.dumps({"business_unit": "platform", "env": "prod"}),
            )
        )  # fmt: skip
    rows.append(
        _row(
            oracle[0], oracle[1], "OCI Generative AI", AI, "compartment-ai", oracle[3], day,
            ChargeCategory="Tax", BilledCost="4.200000", EffectiveCost="4.200000", ListCost="0",
            ContractedCost="0", ChargeDescription="Sales tax",
        )
    )  # fmt: skip
    rows.append(
        _row(
            oracle[0], oracle[1], "Compute", "Compute", "compartment-ai", oracle[3], day,
            ChargeCategory="Adjustment", ChargeClass="Correction", BilledCost="-1.150000",
            EffectiveCost="-1.150000", ListCost="0", ContractedCost="0",
            ChargeDescription="Correction of last month's rounding",
        )
    )  # fmt: skip
    return rows


def multicloud_csv(rows=None) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=BILL_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows if rows is not None else multicloud_rows())
    return out.getvalue().encode()
