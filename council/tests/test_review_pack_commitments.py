"""The review pack shows the use case's share of the commitments it draws on."""

from decimal import Decimal

import pytest
from django.template.loader import render_to_string

from aifinops.core import periods
from council.review_packs import review_pack_build
from portfolio.tests.factories import AIModelFactory, ProviderFactory
from showback.models import Commitment
from showback.tests.factories import DailySpendFactory

pytestmark = pytest.mark.django_db
D = Decimal


def test_the_review_pack_shows_the_use_cases_share_of_a_commitment(cast):
    # Given a commitment of 900 over the last three months (this one included), about 300 a
    # month (by days), and covered usage each month of 150 by support and 50 by campaigns
    provider = ProviderFactory(name="Azure OpenAI", slug="azure-openai")
    model = AIModelFactory(provider=provider, key="gpt-4o")
    today = periods.today()
    first = periods.months_back(today, 2)
    Commitment.objects.create(
        name="Azure PTU",
        provider=provider,
        category="spend",
        term_start=first,
        term_end=periods.month_end(today),
        committed_amount=D(900),
    )
    for n in range(3):
        day = periods.months_back(today, n)
        for use_case, cost in ((cast.use_case_a, 150), (cast.use_case_b, 50)):
            DailySpendFactory(
                date=day,
                use_case=use_case,
                team=use_case.team,
                provider=provider,
                model=model,
                effective_cost=D(cost),
            )
    assert all(amount > 200 for _, amount in Commitment.objects.get().schedule())

    # When the pack of the support summarizer is built
    pack = review_pack_build(use_case=cast.use_case_a)

    # Then it names the commitment and the use case's amortised part of it: 150 of each month's
    # cost (never more than the month's cost), the rest going to campaigns and to waste
    [line] = pack["commitments"]
    assert line["name"] == "Azure PTU" and line["provider"] == "Azure OpenAI"
    assert line["committed"] == "900.00"
    assert line["amortised"] == "450.00"
    assert line["share_pct"] == "50.0"
    html = render_to_string("council/partials/_review_pack.html", {"pack": pack})
    assert "Azure PTU (Azure OpenAI) $450.00 of $900.00, 50.0 %" in html
    [other] = review_pack_build(use_case=cast.use_case_b)["commitments"]
    assert (other["amortised"], other["share_pct"]) == ("150.00", "16.7")


def test_a_use_case_that_draws_on_no_commitment_has_none_in_its_pack(cast):
    provider = ProviderFactory(name="Azure OpenAI", slug="azure-openai")
    Commitment.objects.create(
        name="Unused",
        provider=provider,
        category="spend",
        term_start=periods.months_back(periods.today(), 1),
        term_end=periods.month_end(periods.today()),
        committed_amount=D(100),
    )
    pack = review_pack_build(use_case=cast.use_case_a)
    assert pack["commitments"] == []
    assert 'data-testid="pack-commitments"' not in render_to_string(
        "council/partials/_review_pack.html", {"pack": pack}
    )
