"""Commitment planning: a suggestion where a provider's monthly spend is steady, none where not."""

import datetime
from decimal import Decimal

from django.utils import timezone

from aifinops.core import periods
from portfolio.tests.factories import ProviderFactory
from showback.analytics import commitments, selectors
from showback.models import DailySpend
from showback.tests.analytics_factories import daily_spend_rows

D = Decimal


def _months(values):
    start = datetime.date(2025, 1, 1)
    return [(periods.add_months(start, i), D(v)) for i, v in enumerate(values)]


def test_a_steady_provider_gets_the_lowest_recent_month_committed_at_the_stated_discount():
    # Given six months between 9,500 and 10,400
    history = _months([10000, 9800, 10400, 9500, 10100, 10200])

    # When a commitment is suggested
    s = commitments.suggest_commitment(history)

    # Then it commits the lowest month, 9,500, and saves 20 % of it: 1,900 a month, 22,800 a year
    assert s.discount == D("0.20")
    assert s.committed == D("9500.00")
    assert s.commitment_cost == D("7600.00")
    assert s.monthly_saving == D("1900.00")
    assert s.annual_saving == D("22800.00")
    assert s.on_demand == D("10000.00")
    assert s.plan_cost == D("8100.00")
    assert s.cv < commitments.MAX_CV


def test_no_suggestion_for_unsteady_or_new_spend():
    assert commitments.suggest_commitment(_months([2000, 9000, 4000, 12000, 3000, 8000])) is None
    # Two months of spend after four without: too new to commit
    assert commitments.suggest_commitment(_months([0, 0, 0, 0, 5000, 5100])) is None
    assert commitments.suggest_commitment([]) is None
    # Three steady months are enough
    assert commitments.suggest_commitment(_months([0, 0, 0, 5000, 5100, 4950])).committed == D("4950.00")


def test_the_plans_suggest_only_for_the_stable_provider(cast):
    # Given six complete months of spend on a steady provider and on a jumpy one
    steady = ProviderFactory(name="Anthropic", slug="anthropic")
    jumpy = ProviderFactory(name="Mistral", slug="mistral")
    this_month = timezone.now().date().replace(day=1)
    rows = []
    for i, (a, b) in enumerate([(100, 10), (104, 80), (98, 5), (101, 60), (99, 2), (102, 90)]):
        month = periods.add_months(this_month, i - 6)
        days = (periods.add_months(month, 1) - month).days
        rows += daily_spend_rows(use_case=cast.use_case_a, provider=steady, costs=[a] * days, start=month)
        rows += daily_spend_rows(use_case=cast.use_case_b, provider=jumpy, costs=[b] * days, start=month)
    # This month's spend is incomplete and left out
    rows += daily_spend_rows(use_case=cast.use_case_a, provider=steady, costs=[5000], start=this_month)
    DailySpend.objects.bulk_create(rows)

    # When finance reads the plans
    plans = {p.provider: p for p in selectors.commitment_plans(user=cast.finance)}

    # Then the steady provider has a suggestion and the jumpy one none
    assert set(plans) == {"Anthropic", "Mistral"}
    assert plans["Anthropic"].suggestion is not None
    assert plans["Anthropic"].stability.months == 6
    assert plans["Anthropic"].suggestion.committed < D(100 * 31)
    assert plans["Mistral"].suggestion is None
    assert plans["Mistral"].stability.cv > commitments.MAX_CV

    # And a team member's plans cover their own team's spend only
    assert {p.provider for p in selectors.commitment_plans(user=cast.requester_b)} == {"Mistral"}
