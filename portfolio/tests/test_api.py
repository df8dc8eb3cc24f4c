"""The use-case list API sorts and shows actual spend as the portfolio page does."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from aifinops.core import periods
from portfolio.choices import RiskTier, Stage
from portfolio.tests.factories import UseCaseFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/use-cases/"


def _spend(use_case, *, this_month="0", last_month="0", currency="USD"):
    from showback.tests.factories import DailySpendFactory

    today = periods.today()
    for day, amount in ((today, this_month), (periods.months_back(today, 1), last_month)):
        if Decimal(amount):
            DailySpendFactory(
                use_case=use_case, team=use_case.team, date=day, currency=currency, effective_cost=amount
            )


@pytest.fixture
def world(cast):
    mid = UseCaseFactory(team=cast.team_a, key="mid", name="Mid")
    low = UseCaseFactory(team=cast.team_a, key="low", name="Low")
    _spend(mid, this_month="500")
    _spend(cast.use_case_a, this_month="200")
    _spend(cast.use_case_a, this_month="7", currency="EUR")
    _spend(low, this_month="10", last_month="70")
    _spend(cast.use_case_b, last_month="900")
    return cast


@pytest.mark.parametrize("sort", ["-actual_mtd", "actual_mtd", "-actual_last", "actual_last", "name"])
def test_the_api_sorts_by_actual_spend_in_the_pages_order(login, world, sort):
    # Given use cases with spend this month and last, when finance asks the API and the page
    client = login(world.finance)
    page = client.get(reverse("portfolio:use_case_list"), {"sort": sort})
    api = client.get(URL, {"sort": sort})

    # Then the API lists them in the page's order
    assert api.status_code == 200
    assert [r["key"] for r in api.json()["results"]] == [uc.key for uc in page.context["page"]]


def test_a_largest_first_sort_puts_the_biggest_spender_first(login, world):
    rows = login(world.finance).get(URL, {"sort": "-actual_mtd"}).json()["results"]

    assert [r["key"] for r in rows] == ["mid", "support-summarizer", "low", "campaign-writer"]


def test_each_row_carries_the_pages_actual_figures(login, world):
    client = login(world.finance)
    page = {uc.key: uc.actual for uc in client.get(reverse("portfolio:use_case_list")).context["page"]}

    rows = {r["key"]: r for r in client.get(URL).json()["results"]}

    assert rows["support-summarizer"]["actual_mtd"] == {"EUR": "7.000000", "USD": "200.000000"}
    for key, actual in page.items():
        assert {c: Decimal(v) for c, v in rows[key]["actual_mtd"].items()} == actual["month_to_date"]
        assert {c: Decimal(v) for c, v in rows[key]["actual_last"].items()} == actual["last_month"]


def test_the_detail_carries_the_actual_figures_too(login, world):
    row = login(world.finance).get(f"{URL}low/").json()

    assert row["actual_mtd"] == {"USD": "10.000000"}
    assert row["actual_last"] == {"USD": "70.000000"}


def test_actual_spend_sort_pages_through_the_whole_list(login, cast):
    UseCaseFactory.create_batch(6, team=cast.team_a)
    top = UseCaseFactory(team=cast.team_a, key="zz-top", name="Zz top")
    _spend(top, this_month="1")
    client = login(cast.finance)

    first = client.get(URL, {"sort": "-actual_mtd", "page_size": 3}).json()
    last = client.get(URL, {"sort": "actual_mtd", "page_size": 3, "page": 3}).json()

    assert first["count"] == 9
    assert first["results"][0]["key"] == "zz-top"
    assert last["results"][-1]["key"] == "zz-top"


def test_the_api_sees_only_what_the_caller_may_see_when_sorting_by_spend(login, world):
    rows = login(world.requester_b).get(URL, {"sort": "-actual_last"}).json()["results"]

    assert "support-summarizer" not in [r["key"] for r in rows]
    assert "mid" not in [r["key"] for r in rows]


@pytest.mark.parametrize("sort", ["", "-actual_mtd", "actual_last"])
def test_the_list_asks_the_database_as_often_with_many_rows(login, cast, sort, django_assert_max_num_queries):
    client = login(cast.finance)
    _spend(cast.use_case_a, this_month="5")
    client.get(URL, {"sort": sort})
    with CaptureQueriesContext(connection) as few:
        client.get(URL, {"sort": sort})
    for use_case in UseCaseFactory.create_batch(30, team=cast.team_a):
        _spend(use_case, this_month="3", last_month="4")

    with django_assert_max_num_queries(len(few)):
        response = client.get(URL, {"sort": sort})

    assert response.json()["count"] == 32


@pytest.mark.parametrize(
    "query", ["sort=actual_mtd%00", "sort=%ED%A0%80", "sort=" + "-" * 5000, "sort=actual_mtd,bogus", "sort=0"]
)
def test_a_sort_the_list_does_not_know_is_refused_naming_the_field(login, cast, query):
    response = login(cast.finance).get(f"{URL}?{query}")

    assert response.status_code == 400
    assert "sort" in response.json()["error"]["fields"]


def test_the_api_sorts_by_stage_and_risk_in_the_choices_order_as_the_page_does(login, cast):
    # Given use cases at every stage and every risk tier, made in alphabetical order of the values
    risks = sorted(RiskTier.values)
    for i, stage in enumerate(sorted(Stage.values)):
        UseCaseFactory(team=cast.team_a, stage=stage, risk_tier=risks[i % len(risks)])
    client = login(cast.finance)

    # When the API is asked to sort by stage, and by risk highest first
    by_stage = client.get(URL, {"sort": "stage", "team": "support"}).json()["results"]
    by_risk = client.get(URL, {"sort": "-risk", "team": "support"}).json()["results"]

    # Then stages come concept to sunset and risks critical to low, as the page lists them
    stages = [r["stage"] for r in by_stage if r["key"] != "support-summarizer"]
    assert stages == Stage.values
    page = client.get(reverse("portfolio:use_case_list"), {"sort": "-risk", "team": "support"})
    assert [r["key"] for r in by_risk] == [uc.key for uc in page.context["page"]]
    risks = [r["risk_tier"] for r in by_risk]
    assert risks == sorted(risks, key=RiskTier.values.index, reverse=True)
