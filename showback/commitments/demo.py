"""Demo commitments: provisioned throughput on Azure OpenAI (GPT-4o, billed by the PTU and month)
and a year of committed spend with Anthropic, both entered by hand by finance, over terms that
began months ago and run on past today. A second run finds them and writes nothing."""

import datetime
from decimal import Decimal

from aifinops.core import periods
from aifinops.core.demo import demo_user
from portfolio.models import AIModel, Provider

from ..models import Commitment
from .services import commitment_create


def _commitments(today):
    ptu_start = periods.months_back(today, 5)
    spend_start = periods.months_back(today, 8)
    return [
        {
            "name": "Azure OpenAI provisioned throughput, GPT-4o",
            "provider": "azure-openai",
            "models": ["gpt-4o"],
            "category": "usage",
            "term_start": ptu_start,
            "term_end": periods.add_months(ptu_start, 12) - datetime.timedelta(days=1),
            "capacity_units": Decimal(15),
            "capacity_unit": "PTU",
            "unit_price": Decimal(260),
            "billing": "monthly",
            "contract_id": "AZ-EA-2026-0042",
        },
        {
            "name": "Anthropic committed spend, annual",
            "provider": "anthropic",
            "models": [],
            "category": "spend",
            "term_start": spend_start,
            "term_end": periods.add_months(spend_start, 12) - datetime.timedelta(days=1),
            "committed_amount": Decimal(180000),
            "billing": "upfront",
            "contract_id": "ANT-ENT-2026-7",
        },
    ]


def seed(*, stdout):
    finance = demo_user("finance")
    created = 0
    for spec in _commitments(periods.today()):
        spec = dict(spec)
        if Commitment.objects.filter(name=spec["name"]).exists():
            continue
        provider = Provider.objects.filter(slug=spec.pop("provider")).first()
        if provider is None:
            continue
        models = list(AIModel.objects.filter(provider=provider, key__in=spec.pop("models")))
        commitment_create(actor=finance, provider=provider, models_covered=models, **spec)
        created += 1
    stdout.write(f"  commitments: {created} recorded")
