"""The showback page: who sees what, the period, the AI/all switch, each breakdown and its figures."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from aifinops.core import periods
from portfolio.models import ValueSignal
from portfolio.tests.factories import AIModelFactory, ProviderFactory, TeamFactory, UseCaseFactory
from showback import selectors
from showback.tests.factories import DailySpendFactory

URL = reverse("showback:index")
JUNE = {"start": "2025-06-01", "end": "2025-06-30"}


def _spend(**kwargs):
    kwargs.setdefault("date", datetime.date(2025, 6, 10))
    cost = kwargs.pop("cost", Decimal("100"))
    return DailySpendFactory(billed_cost=cost, effective_cost=cost, list_cost=cost, **kwargs)


@pytest.fixture
def june(cast):
    """Support pays OpenAI and Anthropic for frontier models; Marketing pays one provider."""
    openai = ProviderFactory(name="OpenAI", slug="openai")
    anthropic = ProviderFactory(name="Anthropic", slug="anthropic")
    gpt = AIModelFactory(
        provider=openai,
        key="gpt-4.1",
        name="GPT-4.1",
        tier="frontier",
        input_price_per_mtok=Decimal("2"),
        cached_input_price_per_mtok=Decimal("0.5"),
    )
    claude = AIModelFactory(provider=anthropic, key="claude-haiku", name="Claude Haiku", tier="frontier")
    _spend(
        team=cast.team_a,
        use_case=cast.use_case_a,
        provider=openai,
        model=gpt,
        model_tier="frontier",
        environment="production",
        cost=Decimal("600"),
        requests=1000,
        input_tokens=400_000,
        cached_tokens=600_000,
        output_tokens=0,
    )
    _spend(
        team=cast.team_a,
        provider=anthropic,
        model=claude,
        model_tier="frontier",
        environment="staging",
        cost=Decimal("200"),
        requests=1000,
    )
    _spend(
        team=cast.team_b,
        use_case=cast.use_case_b,
        provider=anthropic,
        model=claude,
        model_tier="mid",
        environment="production",
        cost=Decimal("200"),
        requests=500,
    )
    _spend(team=cast.team_b, cost=Decimal("1000"), is_ai=False, environment="production")
    return {"openai": openai, "anthropic": anthropic, "gpt": gpt, "claude": claude}


def test_anonymous_is_sent_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert "login" in response.url


def test_finance_sees_every_team_and_a_requester_only_their_own(login, cast, june):
    response = login(cast.finance).get(URL, {**JUNE, "by": "team"})
    assert response.status_code == 200
    assert "Support" in response.text and "Marketing" in response.text
    assert "$1,000.00" in response.text

    response = login(cast.requester_a).get(URL, {**JUNE, "by": "team"})
    assert response.status_code == 200
    assert "Support" in response.text
    assert "Marketing" not in response.text
    assert "Campaign writer" not in response.text
    assert "$800.00" in response.text


def test_a_team_member_reads_what_drives_their_cost(login, cast, june):
    response = login(cast.requester_a).get(URL, JUNE)
    explanation = response.context["breakdown"]["explanation"]
    assert explanation.startswith("Most of your spend is GPT-4.1 in Support summarizer (75%).")
    assert "60% of input tokens were cached." in explanation
    assert explanation in response.text


def test_the_period_includes_both_end_dates(login, cast):
    for day in (datetime.date(2025, 5, 31), datetime.date(2025, 6, 1), datetime.date(2025, 6, 30)):
        _spend(team=cast.team_a, date=day, cost=Decimal("10"))
    _spend(team=cast.team_a, date=datetime.date(2025, 7, 1), cost=Decimal("10"))

    response = login(cast.finance).get(URL, JUNE)

    assert response.context["breakdown"]["totals"]["USD"]["spend"] == Decimal("20")
    assert response.context["period_start"] == datetime.date(2025, 6, 1)
    assert response.context["period_end"] == datetime.date(2025, 6, 30)


def test_ai_spend_by_default_and_everything_with_the_switch(login, cast, june):
    client = login(cast.finance)
    ai = client.get(URL, JUNE).context["breakdown"]["totals"]["USD"]["spend"]
    everything = client.get(URL, {**JUNE, "scope": "all"}).context["breakdown"]["totals"]["USD"]["spend"]
    assert ai == Decimal("1000")
    assert everything == Decimal("2000")


@pytest.mark.parametrize(
    ("dimension", "expected"),
    [
        ("team", ["Support", "Marketing"]),
        ("use_case", ["Support summarizer", "Campaign writer", "Unattributed"]),
        ("provider", ["OpenAI", "Anthropic"]),
        ("model", ["GPT-4.1", "Claude Haiku"]),
        ("model_tier", ["Frontier", "Mid"]),
        ("environment", ["Production", "Staging"]),
    ],
)
def test_each_breakdown_renders_and_its_shares_add_up_to_100(login, cast, june, dimension, expected):
    response = login(cast.finance).get(URL, {**JUNE, "by": dimension})

    assert response.status_code == 200
    rows = response.context["breakdown"]["rows"]
    assert {r["label"] for r in rows} == set(expected)
    assert sum(r["share"] for r in rows) == Decimal("1")
    for label in expected:
        assert label in response.text


def test_unit_costs_cache_premium_and_unattributed_shares(cast, june):
    breakdown = selectors.spend_breakdown(
        user=cast.finance,
        dimension="team",
        start=datetime.date(2025, 6, 1),
        end=datetime.date(2025, 6, 30),
    )
    support = next(r for r in breakdown["rows"] if r["label"] == "Support")
    assert support["cost_per_call"] == Decimal("0.4")
    assert support["cost_per_mtok"] == Decimal("600")
    assert support["cached_share"] == Decimal("0.6")
    # 600k cached tokens at $2 instead of $0.50 per million.
    assert support["cache_savings"] == Decimal("0.9")
    assert support["premium_share"] == Decimal("1")
    assert support["unattributed_share"] == Decimal("0.25")
    total = breakdown["totals"]["USD"]
    assert total["premium_share"] == Decimal("0.8")
    assert total["unattributed_share"] == Decimal("0.2")


def test_unattributed_spend_is_highlighted(login, cast, june):
    response = login(cast.finance).get(URL, {**JUNE, "by": "use_case"})
    assert 'class="table-danger"' in response.text


def test_vendor_overlap_names_teams_paying_several_providers_for_one_tier(login, cast, june):
    response = login(cast.finance).get(URL, JUNE)
    overlap = response.context["breakdown"]["overlap"]
    assert [(o["team"], o["tier"]) for o in overlap] == [("Support", "Frontier")]
    assert {p[0] for p in overlap[0]["providers"]} == {"OpenAI", "Anthropic"}
    assert "Vendor overlap" in response.text


def test_cost_per_outcome_where_value_signals_exist(login, cast, june):
    ValueSignal.objects.create(
        use_case=cast.use_case_a, month=datetime.date(2025, 6, 1), outcomes=300, active_users=20
    )
    response = login(cast.finance).get(URL, JUNE)
    [outcome] = response.context["breakdown"]["outcomes"]
    assert outcome["use_case"] == cast.use_case_a
    assert outcome["cost_per_outcome"] == Decimal("2")
    assert outcome["cost_per_active_user"] == Decimal("30")
    assert "$2.00" in response.text


def test_outcomes_of_other_teams_stay_hidden(login, cast, june):
    ValueSignal.objects.create(use_case=cast.use_case_b, month=datetime.date(2025, 6, 1), outcomes=10)
    response = login(cast.requester_a).get(URL, JUNE)
    assert response.context["breakdown"]["outcomes"] == []


def test_the_trend_keeps_the_top_six_and_groups_the_rest(cast):
    for i in range(8):
        _spend(team=TeamFactory(name=f"Team {i}"), cost=Decimal(100 + i))
    breakdown = selectors.spend_breakdown(
        user=cast.finance, dimension="team", start=datetime.date(2025, 5, 1), end=datetime.date(2025, 6, 30)
    )
    trend = breakdown["trend"]
    assert trend["months"] == [datetime.date(2025, 5, 1), datetime.date(2025, 6, 1)]
    assert [label for label, _ in trend["series"]][-1] == "Other"
    assert len(trend["series"]) == 7
    other = dict(trend["series"])["Other"]
    assert other == [Decimal("0"), Decimal("201")]


@pytest.mark.parametrize(
    "params",
    [
        {"start": "2025-13-01", "end": "2025-06-30"},
        {"start": "yesterday"},
        {"start": "2025-07-01", "end": "2025-06-01"},
        {"start": "1900-01-01", "end": "2025-06-01"},
    ],
)
def test_bad_dates_give_a_message_not_an_error(login, cast, params):
    response = login(cast.finance).get(URL, params)
    assert response.status_code == 200
    assert response.context["period_errors"]
    assert 'role="alert"' in response.text
    assert response.context["period_start"] == periods.month_start(periods.today())


def test_an_unknown_breakdown_falls_back_to_team(login, cast):
    response = login(cast.finance).get(URL, {"by": "'; drop table"})
    assert response.status_code == 200
    assert response.context["breakdown"]["dimension"] == "team"


def test_htmx_requests_get_the_fragment(login, cast, june):
    response = login(cast.finance).get(URL, JUNE, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "<html" not in response.text
    assert "Vendor overlap" in response.text


@pytest.mark.parametrize("dimension", list(selectors.BREAKDOWNS))
def test_the_page_keeps_a_constant_number_of_queries(login, cast, django_assert_max_num_queries, dimension):
    client = login(cast.finance)

    def grow(n):
        for _ in range(n):
            team = TeamFactory()
            use_case = UseCaseFactory(team=team)
            ValueSignal.objects.create(use_case=use_case, month=datetime.date(2025, 6, 1), outcomes=5)
            model = AIModelFactory(tier="frontier")
            for day in (1, 15):
                _spend(
                    team=team,
                    use_case=use_case,
                    provider=model.provider,
                    model=model,
                    model_tier="frontier",
                    date=datetime.date(2025, 6, day),
                    environment="production",
                )

    grow(2)
    client.get(URL, {**JUNE, "by": dimension})
    # 13: unit economics (the dashboard's too) also reads the other costs recorded for the months.
    with django_assert_max_num_queries(13) as small:
        client.get(URL, {**JUNE, "by": dimension})
    grow(10)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(URL, {**JUNE, "by": dimension})
    # The rollups this test grows name no service, account, region or charge category of their own.
    one_valued = ("model_tier", "environment", *(d for d in selectors.BILL_FILTERS if d != "provider"))
    assert len(response.context["breakdown"]["rows"]) >= 10 or dimension in one_valued
