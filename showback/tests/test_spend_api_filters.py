"""The spend API filters by the bill's dimensions and by import as the showback page does, with
the same reading of the filters, and gives the page's totals for the same filters."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from aifinops.core import periods
from aifinops.core.services import api_token_create
from portfolio.tests.factories import ProviderFactory
from showback.models import ImportBatch
from showback.tests.factories import DailySpendFactory

pytestmark = pytest.mark.django_db

BILL = (
    "provider",
    "service",
    "service_category",
    "billing_account",
    "sub_account",
    "region",
    "charge_category",
)


@pytest.fixture
def api(client):
    def _as(user):
        _, key = api_token_create(user=user, name="t")
        client.defaults["HTTP_AUTHORIZATION"] = f"Token {key}"
        return client

    return _as


@pytest.fixture
def bill(cast):
    """Rows over the last days, varying every bill dimension, two imports, AI and not, two currencies."""
    today = periods.today()
    imports = [
        ImportBatch.objects.create(original_name=f"bill-{n}.csv", sha256="0" * 64, source_format="focus")
        for n in (1, 2)
    ]
    n = 0
    for provider, service in (("AWS", "Amazon Bedrock"), ("Microsoft", "Azure OpenAI"), ("OpenAI", "API")):
        for region in ("us-east-1", "eu-west-1"):
            for charge in ("Usage", "Credit"):
                for is_ai in (True, False):
                    n += 1
                    cost = Decimal(n * 7) / 4 * (-1 if charge == "Credit" else 1)
                    DailySpendFactory(
                        date=today - datetime.timedelta(days=n % 9),
                        team=cast.team_a if n % 2 else cast.team_b,
                        provider_name=provider,
                        service_name=service,
                        service_category="AI and Machine Learning" if is_ai else "Compute",
                        billing_account=f"acct-{n % 3}",
                        sub_account=f"sub-{n % 2}",
                        region=region,
                        charge_category=charge,
                        is_ai=is_ai,
                        currency="EUR" if n % 5 == 0 else "USD",
                        billed_cost=cost,
                        effective_cost=cost,
                        import_batch=imports[n % 2],
                    )
    return imports


CASES = [
    {},
    {"provider": "AWS"},
    {"service": "Azure OpenAI", "region": "eu-west-1"},
    {"service_category": "Compute"},
    {"billing_account": "acct-1", "sub_account": "sub-0"},
    {"charge_category": "Credit"},
    {"provider": "OpenAI", "charge_category": "Usage", "import": "IMPORT0"},
    {"import": "IMPORT1"},
    {"provider": "nobody"},
]


def _page_totals(client, params):
    response = client.get(reverse("showback:index"), params)
    assert response.status_code == 200
    return {c: t["spend"] for c, t in response.context["breakdown"]["totals"].items()}


def _summary_totals(client, params):
    response = client.get("/api/v1/spend/summary/", params)
    assert response.status_code == 200, response.content
    totals = {}
    for row in response.json()["results"]:
        totals[row["currency"]] = totals.get(row["currency"], Decimal("0")) + Decimal(row["effective_cost"])
    return totals


def _daily_totals(client, params):
    response = client.get("/api/v1/daily-spend/", {**params, "page_size": 1000})
    assert response.status_code == 200, response.content
    body = response.json()
    rows = body["results"] if isinstance(body, dict) else body
    totals = {}
    for row in rows:
        totals[row["currency"]] = totals.get(row["currency"], Decimal("0")) + Decimal(row["effective_cost"])
    return totals


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("ai", ["ai", "all"])
def test_the_summary_api_and_the_daily_api_give_the_page_totals(login, cast, bill, case, ai):
    filters = {k: (str(bill[int(v[-1])].pk) if k == "import" else v) for k, v in case.items()}
    today = periods.today()
    start, end = today - datetime.timedelta(days=10), today
    client = login(cast.finance)

    page = _page_totals(client, {**filters, "ai": ai, "by": "region", "start": start, "end": end})
    summary = _summary_totals(
        client,
        {**filters, "ai": ai, "group_by": "team", "start": start, "end": end + datetime.timedelta(days=1)},
    )
    daily = _daily_totals(client, {**filters, "ai": ai, "date_from": start, "date_to": end})

    assert summary == page
    assert daily == page
    if case.get("provider") == "nobody":
        assert page == {}
    elif ai == "all":
        assert page, "each case has spend to compare"


def test_each_bill_filter_narrows_the_summary(api, cast, bill):
    client = api(cast.finance)
    today = periods.today()
    base = {
        "group_by": "provider",
        "start": today - datetime.timedelta(days=10),
        "end": today + datetime.timedelta(days=1),
        "ai": "all",
    }
    everything = _summary_totals(client, base)
    for name, value in zip(
        BILL, ("AWS", "API", "Compute", "acct-2", "sub-1", "us-east-1", "Usage"), strict=True
    ):
        narrowed = _summary_totals(client, {**base, name: value})
        assert narrowed and narrowed != everything, name
    only_first = _summary_totals(client, {**base, "import": bill[0].pk})
    only_second = _summary_totals(client, {**base, "import": bill[1].pk})
    for currency, total in everything.items():
        assert only_first.get(currency, 0) + only_second.get(currency, 0) == total


def test_a_requester_sees_only_their_team_through_the_filters(api, cast, bill):
    today = periods.today()
    params = {
        "group_by": "team",
        "start": today - datetime.timedelta(days=10),
        "end": today + datetime.timedelta(days=1),
        "ai": "all",
        "provider": "AWS",
    }
    rows = api(cast.requester_a).get("/api/v1/spend/summary/", params).json()["results"]
    assert {r["team"] for r in rows} == {cast.team_a.slug}


HOSTILE = [
    ("service", "Bedrock\x00"),
    ("region", "x" * 201),
    ("provider", "A" * 100_000),
    ("import", "twelve"),
    ("import", "-3"),
    ("import", "0"),
    ("import", str(2**64)),
    ("import", "1\x00"),
    ("import", "١٢"),
]


@pytest.mark.parametrize(("field", "value"), HOSTILE)
@pytest.mark.parametrize("url", ["/api/v1/spend/summary/", "/api/v1/daily-spend/"])
def test_hostile_filters_are_a_400_naming_the_field_as_on_the_page(login, cast, bill, url, field, value):
    client = login(cast.finance)
    today = periods.today()
    params = {"group_by": "team", "start": today - datetime.timedelta(days=3), "end": today, field: value}

    response = client.get(url, params)
    page = client.get(reverse("showback:index"), {field: value})

    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    assert page.status_code == 400


@pytest.mark.parametrize("url", ["/api/v1/spend/summary/", "/api/v1/daily-spend/"])
def test_a_bad_ai_value_is_a_400_naming_it(login, cast, url):
    today = periods.today()
    params = {"group_by": "team", "start": today, "end": today + datetime.timedelta(days=1), "ai": "some"}
    response = login(cast.finance).get(url, params)
    assert response.status_code == 400 and "ai" in response.json()["error"]["fields"]


def test_a_repeated_filter_reads_as_the_page_does(login, cast, bill):
    """?region=a&region=b: the last one, on the page and in the API alike."""
    client = login(cast.finance)
    today = periods.today()
    start = today - datetime.timedelta(days=10)
    region = ["us-east-1", "eu-west-1"]

    page = _page_totals(client, {"by": "team", "start": start, "end": today, "ai": "all", "region": region})
    summary = _summary_totals(
        client,
        {
            "group_by": "team",
            "start": start,
            "end": today + datetime.timedelta(days=1),
            "ai": "all",
            "region": region,
        },
    )
    only_last = _page_totals(
        client, {"by": "team", "start": start, "end": today, "ai": "all", "region": "eu-west-1"}
    )

    assert summary == page == only_last and page


def test_the_schema_documents_the_filters(login, cast):
    schema = login(cast.finance).get("/api/schema/", {"format": "json"})
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in ("/api/v1/spend/summary/", "/api/v1/daily-spend/"):
        names = {p["name"] for p in paths[path]["get"]["parameters"]}
        assert {*BILL, "import", "ai"} <= names, path


def test_the_catalog_provider_slug_still_filters_the_daily_api(login, cast):
    # `provider` on the daily API now reads the bill's own name; the catalog's slug, which it read
    # before, stays under `provider_slug` so that an existing client keeps working.
    today = periods.today()
    openai = ProviderFactory(slug="openai", name="OpenAI")
    DailySpendFactory(date=today, team=cast.team_a, provider=openai, provider_name="OpenAI", effective_cost=5)
    DailySpendFactory(date=today, team=cast.team_a, provider=None, provider_name="Oracle", effective_cost=7)
    client = login(cast.finance)

    by_slug = client.get("/api/v1/daily-spend/", {"provider_slug": "openai", "ai": "all"}).json()["results"]
    by_name = client.get("/api/v1/daily-spend/", {"provider": "Oracle", "ai": "all"}).json()["results"]

    assert [Decimal(r["effective_cost"]) for r in by_slug] == [Decimal("5")]
    assert [Decimal(r["effective_cost"]) for r in by_name] == [Decimal("7")]
