"""The monthly rollup: DailySpend summed per month, rebuilt whole for every month a rebuild touches."""

import datetime
from decimal import Decimal

import pytest
from django.db.models import Sum

from portfolio.tests.factories import AIModelFactory, ProviderFactory
from showback.models import DailySpend, MonthlySpend, SpendRecord
from showback.rollups import daily_spend_rebuild

pytestmark = pytest.mark.django_db


def _record(key, day, cost, **kwargs):
    start = datetime.datetime.combine(day, datetime.time(12), tzinfo=datetime.UTC)
    return SpendRecord.objects.create(
        source="test",
        source_row_key=key,
        charge_period_start=start,
        charge_period_end=start + datetime.timedelta(hours=1),
        billed_cost=cost,
        effective_cost=cost,
        list_cost=cost,
        **kwargs,
    )


def test_the_monthly_rollup_sums_whole_months_even_when_one_day_is_rebuilt(cast):
    openai = ProviderFactory(slug="openai")
    model = AIModelFactory(provider=openai, tier="frontier")
    common = {"provider": openai, "model": model, "use_case": cast.use_case_a, "team": cast.team_a}
    _record("a", datetime.date(2026, 3, 2), Decimal("1.50"), requests=3, input_tokens=100, **common)
    _record("b", datetime.date(2026, 3, 30), Decimal("2.25"), requests=1, **common)
    _record("c", datetime.date(2026, 4, 1), Decimal("4.00"), **common)
    _record("d", datetime.date(2026, 3, 15), Decimal("8.00"), is_ai=False, provider=openai)
    daily_spend_rebuild(start=datetime.date(2026, 3, 1), end=datetime.date(2026, 4, 30))

    # A later import touches one day only: March is still whole.
    _record("e", datetime.date(2026, 3, 30), Decimal("0.25"), **common)
    daily_spend_rebuild(start=datetime.date(2026, 3, 30), end=datetime.date(2026, 3, 30))

    rows = {
        (r.month, r.is_ai): (r.effective_cost, r.requests, r.input_tokens, r.record_count, r.model_tier)
        for r in MonthlySpend.objects.all()
    }
    assert rows == {
        (datetime.date(2026, 3, 1), True): (Decimal("4.00"), 4, 100, 3, "frontier"),
        (datetime.date(2026, 3, 1), False): (Decimal("8.00"), 0, 0, 1, ""),
        (datetime.date(2026, 4, 1), True): (Decimal("4.00"), 0, 0, 1, "frontier"),
    }
    daily = DailySpend.objects.aggregate(t=Sum("effective_cost"))["t"]
    assert MonthlySpend.objects.aggregate(t=Sum("effective_cost"))["t"] == daily == Decimal("16.00")
