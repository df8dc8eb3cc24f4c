"""The review pack counts a use case's spend billed in other currencies, each day at its rate, and
names what had no rate: the council never decides on spend left out."""

import datetime
import json
from decimal import Decimal

import pytest
from django.template.loader import render_to_string

from aifinops.core import periods
from council.review_packs import review_pack_build
from portfolio.tests.factories import AIModelFactory, ProviderFactory
from showback.models import ExchangeRate
from showback.tests.factories import DailySpendFactory

pytestmark = pytest.mark.django_db
D = Decimal


def test_the_pack_counts_other_currencies_at_each_days_rate_and_names_the_spend_without_one(cast):
    # Given a USD use case billed in USD, in EUR (its rate changing within last month) and in GBP
    # on a day with no GBP rate
    use_case = cast.use_case_a
    assert use_case.currency == "USD"
    today = periods.today()
    last = periods.months_back(today, 1)
    azure = ProviderFactory(name="Azure OpenAI", slug="azure-openai")
    openai = ProviderFactory(name="OpenAI", slug="openai")
    gpt4o = AIModelFactory(provider=azure, key="gpt-4o-azure", name="GPT-4o (Azure)")
    mini = AIModelFactory(provider=openai, key="gpt-4.1-mini", name="GPT-4.1 mini")
    for valid_from, rate in (
        (last - datetime.timedelta(days=5), "1.10"),
        (last + datetime.timedelta(days=10), "1.20"),
    ):
        ExchangeRate.objects.create(
            base="EUR", quote="USD", rate=D(rate), valid_from=valid_from, source="ECB"
        )

    def spend(day, currency, amount, provider, model):
        DailySpendFactory(
            date=day,
            use_case=use_case,
            team=use_case.team,
            provider=provider,
            model=model,
            currency=currency,
            effective_cost=D(amount),
        )

    spend(last, "USD", "100", openai, mini)
    spend(last + datetime.timedelta(days=2), "EUR", "50", azure, gpt4o)  # at 1.10: 55
    spend(last + datetime.timedelta(days=12), "EUR", "50", azure, gpt4o)  # at 1.20: 60
    spend(last + datetime.timedelta(days=3), "GBP", "8", openai, mini)  # no rate

    # When the pack is built
    pack = json.loads(json.dumps(review_pack_build(use_case=use_case)))

    # Then last month is 100 + 55 + 60 = 215 USD, the GBP left out and named
    spend_pack = pack["spend"]
    assert spend_pack["currency"] == "USD"
    assert spend_pack["months"][-1]["month"] == last.isoformat()
    assert spend_pack["months"][-1]["actual"] == "215.00"
    assert spend_pack["missing"] == [
        {
            "currency": "GBP",
            "amount": "8.00",
            "first": (last + datetime.timedelta(days=3)).isoformat(),
            "days": 1,
        }
    ]
    assert spend_pack["rates"] == [f"1 EUR = 1.20 USD (ECB, {last + datetime.timedelta(days=10)})"]
    # And by model, each in USD at its days' rates, largest first
    assert [(r["model"], r["amount"]) for r in spend_pack["by_model"]] == [
        ("GPT-4o (Azure)", "115.00"),
        ("GPT-4.1 mini", "100.00"),
    ]
    # And the page says so
    html = render_to_string("council/partials/_review_pack.html", {"pack": pack})
    assert "Spend billed in other currencies counts in USD at each day's rate" in html
    assert "Not counted, no exchange rate into USD: £8.00 over 1 day" in html
