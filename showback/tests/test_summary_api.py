"""GET /api/v1/spend/summary/: totals by one dimension over a period, from the rollups."""

import datetime
from decimal import Decimal

import pytest

from aifinops.core.services import api_token_create
from showback.tests.factories import DailySpendFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client):
    def _as(user):
        _, key = api_token_create(user=user, name="t")
        client.defaults["HTTP_AUTHORIZATION"] = f"Token {key}"
        return client

    return _as


@pytest.fixture
def spend(cast):
    day = datetime.date(2026, 10, 15)
    DailySpendFactory(
        date=day,
        team=cast.team_a,
        use_case=cast.use_case_a,
        billed_cost=Decimal("10.50"),
        effective_cost=Decimal("10.50"),
        input_tokens=1000,
        output_tokens=100,
        requests=3,
    )
    DailySpendFactory(
        date=day,
        team=cast.team_b,
        use_case=cast.use_case_b,
        billed_cost=Decimal("4.25"),
        effective_cost=Decimal("4.25"),
        requests=1,
    )
    DailySpendFactory(
        date=datetime.date(2026, 11, 1),
        team=cast.team_a,
        billed_cost=Decimal("99"),
        effective_cost=Decimal("99"),
    )
    DailySpendFactory(
        date=day, team=cast.team_a, is_ai=False, billed_cost=Decimal("1000"), effective_cost=Decimal("1000")
    )


def _get(client, **params):
    return client.get("/api/v1/spend/summary/", params)


def test_summary_by_team_for_october_with_end_exclusive(api, cast, spend):
    body = _get(api(cast.finance), group_by="team", start="2026-10-01", end="2026-11-01").json()

    assert body["currency"] == "USD"
    rows = {r["team"]: r for r in body["results"]}
    assert Decimal(rows["support"]["billed_cost"]) == Decimal("10.50")
    assert isinstance(rows["support"]["billed_cost"], str)
    assert (rows["support"]["input_tokens"], rows["support"]["requests"]) == (1000, 3)
    assert Decimal(rows["marketing"]["billed_cost"]) == Decimal("4.25")


def test_scope_all_adds_non_ai_spend(api, cast, spend):
    ai = _get(api(cast.finance), group_by="month", start="2026-10-01", end="2026-11-01").json()
    everything = _get(
        api(cast.finance), group_by="month", start="2026-10-01", end="2026-11-01", scope="all"
    ).json()

    assert ai["results"] == [{**ai["results"][0], "month": "2026-10"}]
    assert Decimal(everything["results"][0]["billed_cost"]) - Decimal(ai["results"][0]["billed_cost"]) == 1000


def test_a_requester_sums_only_their_team(api, cast, spend):
    body = _get(api(cast.requester_b), group_by="use_case", start="2026-10-01", end="2026-12-01").json()

    assert [r["use_case"] for r in body["results"]] == ["campaign-writer"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"group_by": "planet", "start": "2026-10-01", "end": "2026-11-01"}, "group_by"),
        ({"group_by": "team", "start": "yesterday", "end": "2026-11-01"}, "start"),
        ({"group_by": "team", "start": "2026-11-01", "end": "2026-10-01"}, "end"),
    ],
)
def test_bad_parameters_are_named(api, cast, params, field):
    response = _get(api(cast.finance), **params)

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
