"""The finance dashboard: each figure on known data, the filters, who sees what, the CSV downloads
and a constant number of queries as the data grows."""

import csv
import datetime
import io
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from aifinops.core import periods
from aifinops.dashboard import figures
from aifinops.dashboard.data import DashboardData
from aifinops.dashboard.filters import Filters, default_filters, parse_filters, previous_period
from aifinops.dashboard.tests import dashboard_world
from portfolio.choices import ModelTier
from portfolio.models import Provider
from portfolio.tests.factories import AIModelFactory
from showback.rollups import monthly_spend_rebuild

pytestmark = pytest.mark.django_db

URL = reverse("dashboard:index")
CSV = reverse("dashboard:chart_csv")


@pytest.fixture
def world(cast):
    return dashboard_world.build(cast)


def _data(user, **filters):
    base = default_filters()
    return DashboardData(user=user, filters=Filters(start=base.start, end=base.end, **filters))


def _csv_rows(response):
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


# The period.


def test_last_month_is_the_default_and_compares_with_the_month_before(world):
    f = default_filters()
    one_day = datetime.timedelta(days=1)
    assert (f.start, f.end) == (world["last"], periods.month_start(periods.today()) - one_day)
    assert previous_period(f.start, f.end) == (world["before"], world["last"] - one_day)


def test_a_bad_date_is_named_and_the_default_period_used(cast):
    filters, _ = parse_filters({"start": "2026-02-30", "end": "2026-01-01"}, user=cast.finance)
    assert filters.start == default_filters().start
    assert any("From" in e for e in filters.errors)


# The figures, against the world's table.


def test_headline_and_top_use_cases(cast, world):
    data = _data(cast.finance)
    head = figures.headline(data)
    assert (head["total"], head["before"]) == (Decimal("1275"), Decimal("500"))
    assert head["growth"] == Decimal("1.55")
    assert head["premium_share"] == Decimal("600") / Decimal("1275")
    assert head["unattributed_share"] == Decimal("50") / Decimal("1275")
    assert head["other_currencies"] == {"EUR": Decimal("70")}

    top = figures.top_cost_figure(data)
    assert [(r["key"], r["spend"], r["before"], r["growth"]) for r in top.in_currency()] == [
        ("drafter", Decimal("800"), Decimal("400"), Decimal("1")),
        ("writer", Decimal("300"), Decimal("0"), None),
        ("router", Decimal("125"), Decimal("100"), Decimal("0.25")),
    ]
    growth = figures.top_growth_figure(data)
    assert [(r["key"], r["change"]) for r in growth.in_currency()] == [
        ("drafter", Decimal("400")),
        ("writer", Decimal("300")),
        ("router", Decimal("25")),
    ]


@pytest.mark.parametrize("card", ["top_cost", "top_growth"])
def test_the_top_use_cases_link_to_every_use_case_spend_of_the_period(cast, world, login, card):
    # Given the finance analyst on the dashboard (last month by default)
    client = login(cast.finance)
    body = client.get(URL).content.decode()

    # When they follow the card's "See all"
    section = body[body.index(f'id="{card}"') :]
    found = re.search(
        r'<a href="([^"]+)" class="small">See all \((\d+)\)</a>', section[: section.index("</section>")]
    )
    assert found, f"the {card} card links to its full list"
    listed = client.get(found.group(1).replace("&amp;", "&"))

    # Then showback lists spend by use case for the same period, as many use cases as the link said
    assert listed.status_code == 200
    breakdown = listed.context["breakdown"]
    assert breakdown["dimension"] == "use_case"
    assert f"start={default_filters().start.isoformat()}" in found.group(1)
    use_cases = {r["key"] for r in breakdown["rows"] if not r["is_unattributed"]}
    assert len(use_cases) == int(found.group(2)) >= 3


def test_decisions_waiting_beyond_the_first_ten_link_to_all_of_them(cast, world, login):
    # Given thirteen decisions waiting: the card lists ten
    dashboard_world.grow(world, cast, 3)
    client = login(cast.finance)
    body = client.get(URL).content.decode()

    # When the finance analyst follows its "See all"
    section = body[body.index('id="decisions"') :]
    section = section[: section.index("</section>")]
    assert section.count("<tr>") == 11  # the header and ten rows
    found = re.search(r'<a href="([^"]+)" class="small">See all \((\d+)\)</a>\s+in the CSV', section)
    assert found, "the decisions card links to the whole list"

    # Then the CSV has every one of them
    rows = _csv_rows(client.get(found.group(1).replace("&amp;", "&")))
    assert len(rows) - 1 == int(found.group(2)) == 13


def test_funnel_risk_and_premium(cast, world):
    data = _data(cast.finance)
    funnel = {r["stage"]: (r["use_cases"], r["spend"]) for r in figures.funnel_figure(data).rows}
    assert funnel == {
        "Concept": (2, Decimal("0")),
        "MVP": (0, Decimal("0")),
        "Pilot": (1, Decimal("300")),
        "Launch": (1, Decimal("125")),
        "Scale": (1, Decimal("800")),
        "Sunset": (0, Decimal("0")),
    }
    risk = figures.risk_figure(data)
    cells = {(r["risk_tier"], r["autonomy_level"]): (r["use_cases"], r["spend"]) for r in risk.rows}
    assert cells == {
        ("Low", "Assistive"): (2, Decimal("0")),
        ("Low", "Autonomous agent"): (1, Decimal("125")),
        ("Medium", "Assistive"): (1, Decimal("300")),
        ("High", "Supervised agent"): (1, Decimal("800")),
    }
    assert risk.headline["high_share"] == Decimal("800") / Decimal("1225")
    premium = {r["month"]: (r["premium"], r["total"]) for r in figures.premium_figure(data).rows}
    assert premium[world["last"]] == (Decimal("600"), Decimal("1275"))
    assert premium[world["before"]] == (Decimal("400"), Decimal("500"))


def test_vendor_overlap_and_spend_nobody_owns(cast, world):
    data = _data(cast.finance)
    overlap = [(r["team"], r["tier"], r["provider"], r["spend"]) for r in figures.overlap_figure(data).rows]
    assert overlap == [
        ("Support", "Small", "OpenAI", Decimal("150")),
        ("Support", "Small", "Anthropic", Decimal("25")),
    ]

    unowned = figures.unowned_figure(data)
    assert [(r["kind"], r["what"], r["missing"], r["spend"]) for r in unowned.in_currency()] == [
        ("Unowned", "Ad writer", "technical owner", Decimal("300")),
        ("Unattributed", "Support (no use case)", "use case", Decimal("50")),
    ]
    assert unowned.headline["unowned_share"] == Decimal("300") / Decimal("1275")


def test_vendor_overlap_lists_tiers_from_small_up_not_alphabetically(cast, world):
    # Given Support also pays two providers for the frontier tier ("Frontier" sorts before "Small")
    day = world["last"] + datetime.timedelta(days=3)
    anthropic = Provider.objects.get(slug="anthropic")
    opus = AIModelFactory(provider=anthropic, key="opus", name="Opus", tier=ModelTier.FRONTIER)
    dashboard_world.cost(
        "30", date=day, team=cast.team_a, provider=anthropic, model=opus, model_tier=ModelTier.FRONTIER
    )
    monthly_spend_rebuild(start=world["last"], end=day)

    # When the vendor overlap is read
    rows = figures.overlap_figure(_data(cast.finance)).rows

    # Then the small tier comes before the frontier tier, in the catalog's order of tiers
    assert [(r["tier"], r["provider"]) for r in rows] == [
        ("Small", "OpenAI"),
        ("Small", "Anthropic"),
        ("Frontier", "OpenAI"),
        ("Frontier", "Anthropic"),
    ]


def test_unit_economics_set_cost_per_outcome_against_value(cast, world):
    ue = figures.unit_economics_figure(_data(cast.finance))
    rows = {r["key"]: r for r in ue.rows}
    assert (rows["drafter"]["cost_per_outcome"], rows["drafter"]["value_per_outcome"]) == (
        Decimal("2.5"),
        Decimal("5"),
    )
    assert rows["drafter"]["viable"] is True
    assert (rows["drafter"]["model_cost"], rows["drafter"]["other_costs"]) == (Decimal("800"), Decimal("200"))
    assert (rows["router"]["cost_per_outcome"], rows["router"]["viable"]) == (Decimal("2.5"), False)
    assert ue.headline["silent"] == ["Ad writer"]


def test_backlog_budget_and_decisions(cast, world):
    data = _data(cast.finance)
    backlog = figures.backlog_figure(data)
    by_lever = {r["lever"]: (r["items"], r["open"], r["expected"], r["realised"]) for r in backlog.rows}
    assert by_lever["Model routing"] == (1, 1, Decimal("100"), Decimal("0"))
    assert by_lever["Caching"] == (1, 0, Decimal("50"), Decimal("40"))
    assert by_lever["Retirement"] == (1, 0, Decimal("0"), Decimal("0"))
    assert (backlog.headline["expected"], backlog.headline["realised"]) == (Decimal("150"), Decimal("40"))
    assert backlog.headline["realisation"] == Decimal("0.8")

    budget = figures.budget_figure(data)
    assert [(r["target"], r["amount"], r["state"]) for r in budget.rows] == [
        ("Support", Decimal("1000"), "on_track")
    ]
    assert budget.headline["unbudgeted_teams"] == ["Ads"]

    decisions = figures.decisions_figure(data).rows
    assert [(r["kind"], r["subject"], r["days"]) for r in decisions] == [
        ("Stage move", "Ad writer to Launch", 5)
    ]


def test_build_versus_buy_flags_use_cases_near_the_threshold(cast, world, settings):
    settings.AIFINOPS_BUILD_VS_BUY_ANNUAL = Decimal("10000")
    rows = figures.build_vs_buy_figure(_data(cast.finance)).rows
    assert [(r["key"], r["last_30_days"], r["annualised"], r["over"]) for r in rows] == [
        ("drafter", Decimal("800"), Decimal("9733.33"), False)
    ]


def test_filters_narrow_every_figure(cast, world):
    by_team = _data(cast.finance, team=cast.team_b)
    assert figures.headline(by_team)["total"] == Decimal("300")
    by_stage = _data(cast.finance, stages=("scale", "launch"))
    head = figures.headline(by_stage)
    assert (head["total"], head["unattributed_share"]) == (Decimal("925"), Decimal("0"))
    by_function = _data(cast.finance, function="customer_support")
    assert figures.headline(by_function)["total"] == Decimal("975")  # the unattributed 50 is Support's
    assert [r["key"] for r in figures.top_cost_figure(by_function).rows] == ["drafter", "router"]


# Who sees what.


def test_anonymous_is_sent_to_log_in(client):
    assert client.get(URL).status_code == 302
    assert client.get(CSV + "?chart=trend").status_code == 302


@pytest.mark.parametrize("who", ["finance", "admin", "council", "chair"])
def test_cross_team_roles_see_the_whole_portfolio(cast, login, world, who):
    body = login(getattr(cast, who)).get(URL).content.decode()
    assert "$1,275.00" in body and "Ad writer" in body and "Reply drafter" in body


def test_a_team_member_sees_only_their_teams_spend(cast, login, world):
    response = login(cast.requester_b).get(URL)
    body = response.content.decode()
    assert response.status_code == 200
    assert "$300.00" in body and "Ad writer" in body
    assert "Reply drafter" not in body and "$1,275.00" not in body
    rows = _csv_rows(login(cast.requester_b).get(CSV + "?chart=top_cost"))
    # One row in the reporting currency; the EUR, without a rate, stays as billed and is named
    assert [(r[0], r[4], r[8], r[9], r[10]) for r in rows[1:]] == [
        ("Ad writer", "300", "USD", "300.00 USD + 70.00 EUR", "70.00 EUR")
    ]


def test_htmx_refresh_renders_the_body_only(cast, login, world):
    response = login(cast.finance).get(URL + "?team=ads", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "<html" not in body and 'id="chart-top_cost"' in body
    assert "$300.00" in body


# The CSV downloads.


@pytest.mark.parametrize("chart", list(figures.FIGURES))
def test_every_chart_downloads_as_csv(cast, login, world, chart):
    response = login(cast.finance).get(CSV + f"?chart={chart}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = _csv_rows(response)
    assert rows[0] == [header for _, header in figures.FIGURES[chart](_data(cast.finance)).columns]


def test_the_csv_holds_exact_amounts_and_escapes_formulas(cast, login, world):
    world["writer"].name = "=HYPERLINK(evil)"
    world["writer"].save()
    rows = _csv_rows(login(cast.finance).get(CSV + "?chart=top_cost"))
    assert rows[1] == [
        "Reply drafter",
        "drafter",
        "Support",
        "Scale",
        "800",
        "400",
        "400",
        "1",
        "USD",
        "800.00 USD",
        "",
    ]
    assert rows[2][0] == "'=HYPERLINK(evil)"


def test_an_unknown_chart_is_not_found(cast, login):
    assert login(cast.finance).get(CSV + "?chart=nope").status_code == 404


# Speed: the same number of queries whatever the size.


def test_the_dashboard_keeps_a_constant_number_of_queries(cast, login, world, django_assert_max_num_queries):
    client = login(cast.finance)
    client.get(URL)
    # The reporting currency adds a constant five: its code, the period's and the trend's sums per
    # day, and their rates.
    with django_assert_max_num_queries(36) as small:
        assert client.get(URL).status_code == 200
    dashboard_world.grow(world, cast, 8)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get(URL).status_code == 200


def test_a_team_members_dashboard_keeps_a_constant_number_of_queries(
    cast, login, world, django_assert_max_num_queries
):
    client = login(cast.requester_a)
    client.get(URL)
    with django_assert_max_num_queries(36) as small:
        client.get(URL + "?stage=scale&risk_tier=high")
    dashboard_world.grow(world, cast, 8)
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(URL + "?stage=scale&risk_tier=high")
