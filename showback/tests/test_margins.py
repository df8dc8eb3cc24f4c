"""Product margins: the per-customer rollup, loading revenue (CSV page and API, all or nothing),
the margin figures, erosion, and who may see them."""

import datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from aifinops.core import periods
from aifinops.core.models import AuditEvent
from portfolio.tests.factories import ProviderFactory
from showback.margins import selectors as margins
from showback.margins.services import RevenueFileError, revenue_import, revenue_rows_from_csv
from showback.models import CustomerDailySpend, CustomerRevenue, SpendRecord
from showback.rollups import daily_spend_rebuild

pytestmark = pytest.mark.django_db

PAGE = reverse("showback:margins")
UPLOAD = reverse("showback:revenue_upload")
API = "/api/v1/revenue/"


def _record(key, day, cost, *, customer="", is_ai=True, use_case=None, feature="", requests=10):
    start = datetime.datetime.combine(day, datetime.time(9), tzinfo=datetime.UTC)
    return SpendRecord.objects.create(
        source="test",
        source_row_key=key,
        charge_period_start=start,
        charge_period_end=start + datetime.timedelta(hours=1),
        provider=ProviderFactory(slug="openai", name="OpenAI"),
        billed_cost=cost,
        effective_cost=cost,
        list_cost=cost,
        customer=customer,
        feature=feature,
        is_ai=is_ai,
        use_case=use_case,
        requests=requests,
    )


def _month(n):
    """The first day of the month n months before this one."""
    return periods.months_back(periods.today(), n)


def _csv(text):
    return SimpleUploadedFile("revenue.csv", text.encode(), content_type="text/csv")


# The rollup.


def test_the_rebuild_rolls_up_ai_spend_per_customer_and_day_and_leaves_the_rest_out(cast):
    day = datetime.date(2026, 3, 4)
    _record("a", day, Decimal("1.25"), customer="acme", use_case=cast.use_case_a, feature="chat")
    _record("b", day, Decimal("2.50"), customer="acme", use_case=cast.use_case_a, feature="chat")
    _record("c", day, Decimal("4.00"), customer="globex", use_case=cast.use_case_a, feature="chat")
    _record("d", day, Decimal("8.00"))  # no customer: shared cost
    _record("e", day, Decimal("16.00"), customer="acme", is_ai=False)  # not AI spend
    _record("f", day + datetime.timedelta(days=1), Decimal("0.10"), customer="acme", use_case=cast.use_case_a)

    daily_spend_rebuild(start=day, end=day + datetime.timedelta(days=1))
    first = list(
        CustomerDailySpend.objects.order_by("date", "customer").values_list(
            "date", "customer", "feature", "effective_cost", "requests", "record_count"
        )
    )
    daily_spend_rebuild(start=day, end=day + datetime.timedelta(days=1))  # idempotent

    assert first == [
        (day, "acme", "chat", Decimal("3.75"), 20, 2),
        (day, "globex", "chat", Decimal("4.00"), 10, 1),
        (day + datetime.timedelta(days=1), "acme", "", Decimal("0.10"), 10, 1),
    ]
    assert CustomerDailySpend.objects.count() == 3


def test_a_rule_that_assigns_customers_updates_the_customer_rollup(cast, django_capture_on_commit_callbacks):
    from showback.attribution.services import attribution_rule_save

    day = datetime.date(2026, 3, 4)
    record = _record("a", day, Decimal("5.00"))
    record.sub_account = "tenant-42"
    record.save()
    daily_spend_rebuild(start=day, end=day)
    assert not CustomerDailySpend.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        attribution_rule_save(
            actor=cast.finance,
            values={
                "name": "tenant 42",
                "match_field": "sub_account",
                "match_value": "tenant-42",
                "customer": "initech",
            },
        )

    assert list(CustomerDailySpend.objects.values_list("customer", "effective_cost")) == [
        ("initech", Decimal("5.00"))
    ]


# Loading revenue.

GOOD = """month,customer,plan,segment,revenue,currency
{m1},acme,Enterprise,Enterprise,1000.00,USD
{m1},globex,Team,SMB,200,usd
{m2},acme,Enterprise,Enterprise,1100.50,USD
"""


def test_a_good_file_loads_every_row_and_a_second_load_replaces_them(cast):
    text = GOOD.format(m1=f"{_month(2):%Y-%m}", m2=f"{_month(1):%Y-%m}")

    result = revenue_import(actor=cast.finance, rows=revenue_rows_from_csv(_csv(text)), source="revenue.csv")
    again = revenue_import(
        actor=cast.finance,
        rows=revenue_rows_from_csv(_csv(text.replace("1100.50", "1200.00"))),
        source="revenue.csv",
    )

    assert (result.created, result.replaced, result.customers) == (3, 0, 2)
    assert (again.created, again.replaced) == (0, 3)
    assert CustomerRevenue.objects.get(customer="acme", month=_month(1)).revenue == Decimal("1200.00")
    globex = CustomerRevenue.objects.get(customer="globex")
    assert (globex.currency, globex.segment, globex.plan, globex.loaded_by) == (
        "USD",
        "SMB",
        "Team",
        cast.finance,
    )
    assert AuditEvent.objects.filter(action="customer_revenue.load").count() == 2


def test_a_bad_file_names_each_bad_row_by_line_and_column_and_loads_nothing(cast):
    text = (
        "Month, Customer ,revenue,currency,segment\n"
        "2026-10,acme,1000,USD,Enterprise\n"
        "October,acme,1000,USD,\n"
        "2026-10,,12.5,USD,\n"
        '2026-09,initech,"$1,200",USD\n'
        "2026-09,umbrella,-5,USD,\n"
        "2026-09,hooli,3.333,USD,\n"
        "2026-09,wayne,10,dollars,\n"
        "2026-10,acme,5,USD,\n"
    )

    with pytest.raises(RevenueFileError) as caught:
        revenue_import(actor=cast.finance, rows=revenue_rows_from_csv(_csv(text)))

    problems = {(p["line"], p["column"]) for p in caught.value.problems}
    assert problems == {
        (3, "month"),
        (4, "customer"),
        (5, "revenue"),
        (6, "revenue"),
        (7, "revenue"),
        (8, "currency"),
        (9, "customer"),  # acme in 2026-10 is already on line 2
    }
    assert "line 3" in str(caught.value) and "Nothing was loaded" in str(caught.value)
    assert not CustomerRevenue.objects.exists()
    assert not AuditEvent.objects.filter(action="customer_revenue.load").exists()


@pytest.mark.parametrize(
    ("content", "where"),
    [
        (b"", (1, "")),
        (b"month,customer,currency\n2026-10,acme,USD\n", (1, "revenue")),
        (b"month,customer,revenue,currency\n", (1, "")),
        ("month,customer,revenue,currency\n2026-10,caf\u00e9,1,USD\n".encode("latin-1"), (1, "")),
    ],
    ids=["empty", "missing-column", "no-rows", "not-utf8"],
)
def test_a_file_that_cannot_be_read_says_why(cast, content, where):
    with pytest.raises(RevenueFileError) as caught:
        upload = SimpleUploadedFile("r.csv", content)
        revenue_import(actor=cast.finance, rows=revenue_rows_from_csv(upload))
    first = caught.value.problems[0]
    assert (first["line"], first["column"]) == where


def test_only_finance_and_admins_load_revenue(cast):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        revenue_import(
            actor=cast.council,
            rows=[(2, {"month": "2026-10", "customer": "a", "revenue": "1", "currency": "USD"})],
        )


# The figures.


@pytest.fixture
def book(cast):
    """Four months. acme: revenue flat at 1000, AI cost 50 a month. globex: revenue 500 then 510,
    AI cost 20 then 40 (erodes). initech: AI cost only, no revenue loaded."""
    months = [_month(4), _month(3), _month(2), _month(1)]
    for i, month in enumerate(months):
        CustomerRevenue.objects.create(
            month=month, customer="acme", segment="Enterprise", plan="Ent", revenue=Decimal("1000")
        )
        CustomerRevenue.objects.create(
            month=month,
            customer="globex",
            segment="SMB",
            plan="Team",
            revenue=Decimal("500") if i < 2 else Decimal("510"),
        )
        day = month + datetime.timedelta(days=3)
        CustomerDailySpend.objects.create(
            date=day, customer="acme", effective_cost=Decimal("50"), feature="chat"
        )
        CustomerDailySpend.objects.create(
            date=day,
            customer="globex",
            effective_cost=Decimal("20") if i < 2 else Decimal("40"),
            feature="search",
        )
        CustomerDailySpend.objects.create(date=day, customer="initech", effective_cost=Decimal("7.5"))
    # Last month's cost of acme also has a euro line, never added to dollars.
    CustomerDailySpend.objects.create(
        date=_month(1), customer="acme", effective_cost=Decimal("9"), currency="EUR"
    )
    return months


def test_margins_set_revenue_against_cost_to_serve_per_customer_and_segment(book):
    m = margins.margins_get(months=4)

    by = {c.customer: c for c in m.customers}
    acme, globex, initech = by["acme"], by["globex"], by["initech"]
    assert (acme.revenue, acme.cost, acme.margin) == (Decimal("4000"), Decimal("200"), Decimal("3800"))
    assert acme.cost_share == Decimal("0.05")
    assert acme.other_currency_cost == {"EUR": Decimal("9")}
    assert (globex.revenue, globex.cost) == (Decimal("2020"), Decimal("120"))
    assert (initech.revenue, initech.cost, initech.months_with_revenue) == (Decimal("0"), Decimal("30"), 0)
    segments = {s.segment: (s.customers, s.revenue, s.cost) for s in m.segments}
    assert segments == {
        "Enterprise": (1, Decimal("4000"), Decimal("200")),
        "SMB": (1, Decimal("2020"), Decimal("120")),
        margins.NO_REVENUE: (1, Decimal("0"), Decimal("30")),
    }
    assert [c for c, _, _ in m.unmatched_cost] == ["initech"]
    assert m.features[0] == {"feature": "chat", "currency": "USD", "cost": Decimal("200")}


def test_a_customer_whose_ai_cost_grows_faster_than_revenue_is_eroding(book):
    m = margins.margins_get(months=4)

    assert [c.customer for c in m.eroding] == ["globex"]
    globex = m.eroding[0]
    assert globex.cost_growth == Decimal("1")  # 40 against 20 a month
    assert globex.revenue_growth == Decimal("0.02")  # 1020 against 1000


# The page and the API.


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("requester_a", 403),
        ("owner", 403),
        ("council", 403),
        ("chair", 403),
        ("finance", 200),
        ("admin", 200),
    ],
)
def test_only_finance_and_admins_see_margins(cast, login, book, who, status):
    assert login(getattr(cast, who)).get(PAGE).status_code == status
    assert login(getattr(cast, who)).get(API).status_code == status


def test_anonymous_is_sent_to_log_in_and_the_api_answers_401(client):
    assert client.get(PAGE).status_code == 302
    assert client.get(API).status_code == 401


def test_finance_sees_the_margins_page(cast, login, book):
    response = login(cast.finance).get(PAGE + "?months=6")
    body = response.content.decode()
    assert response.status_code == 200
    assert "globex" in body and "Margin erosion" in body
    assert 'data-testid="eroding"' in body


def test_finance_uploads_a_good_file_on_the_page(cast, login):
    text = GOOD.format(m1=f"{_month(2):%Y-%m}", m2=f"{_month(1):%Y-%m}")
    response = login(cast.finance).post(UPLOAD, {"file": _csv(text)}, follow=True)
    assert response.status_code == 200
    assert "Loaded revenue of 2 customers" in response.content.decode()
    assert CustomerRevenue.objects.count() == 3


def test_a_bad_upload_lists_the_problems_and_loads_nothing(cast, login):
    response = login(cast.finance).post(
        UPLOAD, {"file": _csv("month,customer,revenue,currency\n2026-13,acme,1,USD\n")}
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert 'data-testid="problems"' in body and "is not a month" in body
    assert not CustomerRevenue.objects.exists()


def test_a_council_member_may_not_upload(cast, login):
    response = login(cast.council).post(UPLOAD, {"file": _csv(GOOD.format(m1="2026-01", m2="2026-02"))})
    assert response.status_code == 403
    assert not CustomerRevenue.objects.exists()


def test_the_customer_csv_escapes_cells_that_a_spreadsheet_would_run(cast, login, book):
    CustomerDailySpend.objects.create(date=_month(1), customer="=HYPERLINK(1)", effective_cost=Decimal("1"))
    response = login(cast.finance).get(reverse("showback:margins_csv") + "?months=6")
    body = b"".join(response.streaming_content).decode()
    assert response["Content-Type"].startswith("text/csv")
    assert "'=HYPERLINK(1)" in body
    assert "\nacme,Enterprise,Ent,USD,4000,200,3800,0.05," in body


def test_the_api_loads_json_rows_and_names_bad_ones(cast, login):
    client = login(cast.finance)
    good = client.post(
        API,
        {
            "rows": [
                {
                    "month": "2026-09",
                    "customer": "acme",
                    "revenue": "10.5",
                    "currency": "USD",
                    "segment": "SMB",
                }
            ]
        },
        content_type="application/json",
    )
    bad = client.post(
        API,
        {
            "rows": [
                {"month": "2026-09", "customer": "b", "revenue": "1", "currency": "USD"},
                {"month": "x", "customer": "c"},
            ]
        },
        content_type="application/json",
    )
    listed = client.get(API + "?month=2026-09").json()

    assert good.status_code == 201 and good.json()["created"] == 1
    assert bad.status_code == 400
    details = bad.json()["error"]["details"]
    assert {(d["line"], d["column"]) for d in details} == {(2, "month"), (2, "revenue"), (2, "currency")}
    assert [r["customer"] for r in listed["results"]] == ["acme"]
    assert CustomerRevenue.objects.count() == 1


def test_the_api_takes_a_csv_file_too(cast, login):
    text = GOOD.format(m1=f"{_month(2):%Y-%m}", m2=f"{_month(1):%Y-%m}")
    response = login(cast.finance).post(API, {"file": _csv(text)})
    assert response.status_code == 201
    assert response.json()["customers"] == 2
