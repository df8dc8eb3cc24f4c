"""Issue 19: chargeback exports in the reporting currency. Each FOCUS row and each statement line
keeps its amount and currency as billed and gains, in columns appended after the existing ones,
the amount in the reporting currency at the rate in force on its day with that rate and its date;
a row without a rate leaves the reporting cells empty and names the missing rate, never 1. Checked
against an independent row x rate on the real PostgreSQL."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from aifinops.core import periods
from portfolio.tests.factories import AIModelFactory, ProviderFactory
from showback.chargeback.exports import FOCUS_REPORTING_COLUMNS
from showback.models import ExchangeRate, SpendRecord
from showback.rollups import daily_spend_rebuild

pytestmark = pytest.mark.django_db

MONTH = periods.months_back(periods.today(), 1)
CENT = Decimal("0.01")
# The columns of the exports before issue 19's reporting columns, in their order: the contract of
# the readers already consuming them.
FOCUS_12_BEFORE = [
    "BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency", "BillingPeriodEnd",
    "BillingPeriodStart", "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargePeriodEnd",
    "ChargePeriodStart", "ContractedCost", "EffectiveCost", "InvoiceIssuerName", "ListCost",
    "PricingQuantity", "PricingUnit", "ProviderName", "PublisherName", "ServiceCategory", "ServiceName",
    "ChargeFrequency", "ConsumedQuantity", "ConsumedUnit", "InvoiceId", "ResourceId", "ResourceName",
    "ServiceSubcategory", "SkuId", "SkuMeter", "SubAccountId", "SubAccountName", "Tags",
    "x_TokenType", "x_SourceSystem", "x_SourceRecordKey",
]  # fmt: skip
STATEMENT_BEFORE = [
    "section", "team", "month", "use_case_key", "use_case", "provider", "model", "currency",
    "billed_cost", "effective_cost", "estimated_cost", "share_pct", "input_tokens", "cached_tokens",
    "output_tokens", "requests", "reporting_effective_cost", "reporting_currency", "reporting_rate",
    "reporting_rate_date",
]  # fmt: skip
# As recorded: EUR→USD changes on the 10th; GBP only as USD→GBP (the inverse); no CHF rate.
RATES = [
    ("EUR", "USD", "1.0843", MONTH - datetime.timedelta(days=20)),
    ("EUR", "USD", "1.0921", MONTH + datetime.timedelta(days=9)),
    ("USD", "GBP", "0.7913", MONTH - datetime.timedelta(days=20)),
]
ROWS = [  # (key, currency, cost, day of month from 1)
    ("u1", "USD", "12.3456789", 1),
    ("e1", "EUR", "50.33", 3),
    ("e2", "EUR", "50.33", 12),
    ("g1", "GBP", "40.07", 5),
    ("c1", "CHF", "30.00", 7),  # no CHF rate
]


def in_force(currency, day):
    """The recorded rate into USD on `day`, worked out here without showback.fx: (rate, date)."""
    if currency == "USD":
        return Decimal(1), None
    found = None
    for base, quote, value, valid_from in RATES:
        if valid_from > day or (found and found[1] > valid_from):
            continue
        if (base, quote) == (currency, "USD"):
            found = (Decimal(value), valid_from)
        elif (base, quote) == ("USD", currency):
            found = (1 / Decimal(value), valid_from)
    return found


def _record(key, currency, cost, day, *, team, use_case, provider, model):
    start = datetime.datetime.combine(
        MONTH + datetime.timedelta(days=day - 1), datetime.time(9), datetime.UTC
    )
    return SpendRecord.objects.create(
        source="focus",
        source_row_key=key,
        charge_period_start=start,
        charge_period_end=start + datetime.timedelta(hours=1),
        provider=provider,
        model=model,
        service_name="Amazon Bedrock",
        token_type="input",
        currency=currency,
        billed_cost=Decimal(cost),
        effective_cost=Decimal(cost),
        list_cost=Decimal(cost),
        input_tokens=1000,
        requests=3,
        team=team,
        use_case=use_case,
    )


@pytest.fixture
def month(cast):
    for base, quote, value, valid_from in RATES:
        ExchangeRate.objects.create(
            base=base, quote=quote, rate=Decimal(value), valid_from=valid_from, source="ECB"
        )
    bedrock = ProviderFactory(slug="aws-bedrock", name="AWS Bedrock")
    sonnet = AIModelFactory(provider=bedrock, key="claude-sonnet", name="Claude Sonnet")
    for key, currency, cost, day in ROWS:
        _record(
            key,
            currency,
            cost,
            day,
            team=cast.team_a,
            use_case=cast.use_case_a,
            provider=bedrock,
            model=sonnet,
        )
    daily_spend_rebuild(start=MONTH, end=periods.month_end(MONTH))


def _read(response):
    assert response.status_code == 200
    content = b"".join(response.streaming_content) if response.streaming else response.content
    text = content.decode("utf-8-sig")
    return next(csv.reader(io.StringIO(text))), list(csv.DictReader(io.StringIO(text)))


def _focus(client, version=None):
    params = {"version": version} if version else {}
    return _read(client.get(reverse("showback:focus_export", args=[MONTH.year, MONTH.month]), params))


@pytest.mark.parametrize("version", [None, "1.3"])
def test_each_focus_row_keeps_its_cost_and_gains_it_in_the_reporting_currency_at_its_days_rate(
    cast, login, month, version
):
    header, rows = _focus(login(cast.finance), version)

    # The reporting columns come last, after every column the export had before
    assert header[-len(FOCUS_REPORTING_COLUMNS) :] == FOCUS_REPORTING_COLUMNS
    if version is None:
        assert header[: len(FOCUS_12_BEFORE)] == FOCUS_12_BEFORE
    by_key = {r["x_SourceRecordKey"]: r for r in rows}
    total = Decimal(0)
    for key, currency, cost, day in ROWS:
        row = by_key[key]
        assert (row["BillingCurrency"], Decimal(row["EffectiveCost"])) == (currency, Decimal(cost))
        assert row["x_ReportingCurrency"] == "USD"
        found = in_force(currency, MONTH + datetime.timedelta(days=day - 1))
        if found is None:
            continue
        rate, valid_from = found
        assert Decimal(row["x_ReportingEffectiveCost"]).quantize(CENT) == (Decimal(cost) * rate).quantize(
            CENT
        )
        assert Decimal(row["x_ReportingBilledCost"]).quantize(CENT) == (Decimal(cost) * rate).quantize(CENT)
        assert Decimal(row["x_ReportingRate"]) == rate.quantize(Decimal("0.0000000001"))
        assert row["x_ReportingRateDate"] == (valid_from.isoformat() if valid_from else "")
        assert row["x_ReportingRateMissing"] == ""
        total += Decimal(cost) * rate
    # the EUR rows took the rate in force on their own day
    assert (by_key["e1"]["x_ReportingRate"], by_key["e2"]["x_ReportingRate"]) == ("1.0843", "1.0921")
    # a row without a rate: no reporting amount, no rate, and the missing rate named, never 1
    chf = by_key["c1"]
    assert chf["x_ReportingEffectiveCost"] == chf["x_ReportingBilledCost"] == chf["x_ReportingRate"] == ""
    day = (MONTH + datetime.timedelta(days=6)).isoformat()
    assert chf["x_ReportingRateMissing"] == f"no CHF→USD rate for {day} (1 day)"
    # and the rows' reporting amounts add up to the independent sum, to the cent
    reported = sum(Decimal(r["x_ReportingEffectiveCost"]) for r in rows if r["x_ReportingEffectiveCost"])
    assert reported.quantize(CENT) == total.quantize(CENT)


def test_the_statement_csv_names_a_lines_missing_rate_in_an_appended_column(cast, login, month):
    url = reverse(
        "showback:chargeback_csv", kwargs={"team": "support", "year": MONTH.year, "month": MONTH.month}
    )

    header, rows = _read(login(cast.finance).get(url))

    assert header == [*STATEMENT_BEFORE, "reporting_missing_rate"]
    totals = {r["currency"]: r for r in rows if r["section"] == "total"}
    chf = totals["CHF"]
    assert Decimal(chf["effective_cost"]) == Decimal("30")
    assert chf["reporting_effective_cost"] == chf["reporting_rate"] == ""
    day = (MONTH + datetime.timedelta(days=6)).isoformat()
    assert chf["reporting_missing_rate"] == f"no CHF→USD rate for {day} (1 day)"
    eur = totals["EUR"]
    expected = Decimal("50.33") * Decimal("1.0843") + Decimal("50.33") * Decimal("1.0921")
    assert Decimal(eur["reporting_effective_cost"]).quantize(CENT) == expected.quantize(CENT)
    assert eur["reporting_rate_date"] == (MONTH + datetime.timedelta(days=9)).isoformat()
    assert eur["reporting_missing_rate"] == ""


def test_the_statement_api_names_a_lines_missing_rate(cast, login, month):
    body = login(cast.finance).get(f"/api/v1/spend/chargeback/support/{MONTH.year}-{MONTH.month}/").json()

    chf = next(line for line in body["by_use_case"] if line["currency"] == "CHF")
    assert chf["reporting"]["amount"] is None
    day = (MONTH + datetime.timedelta(days=6)).isoformat()
    assert [(m["currency"], m["first_day"], m["days"]) for m in chf["reporting"]["missing"]] == [
        ("CHF", day, 1)
    ]
    eur = next(line for line in body["by_use_case"] if line["currency"] == "EUR")
    assert eur["reporting"]["missing"] == []
    assert body["reporting"]["complete"] is False


@pytest.mark.parametrize(
    "month_value",
    [
        *["2026-13", "9" * 40, "2026-1%00", "%ED%A0%80", "-1-01", "2026-10-01T00:00", ""],
        *["9999-12", "1999-12", "2100-01"],
    ],
)
def test_a_bad_month_for_the_focus_api_is_a_400_naming_month(cast, login, month_value):
    response = login(cast.finance).get(f"/api/v1/spend/exports/focus/?month={month_value}")

    assert response.status_code == 400
    assert "month" in response.json()["error"]["fields"]


def test_the_focus_export_keeps_its_query_count_as_rows_and_rates_grow(
    cast, login, month, django_assert_max_num_queries
):
    client = login(cast.finance)
    _focus(client)
    with django_assert_max_num_queries(20) as few:
        _focus(client)
    bedrock = ProviderFactory(slug="openai", name="OpenAI")
    for n in range(1, 25):
        ExchangeRate.objects.create(
            base="GBP",
            quote="USD",
            rate=Decimal("1.27"),
            valid_from=MONTH + datetime.timedelta(days=n),
            source="ECB",
        )
        for currency in ("USD", "EUR", "GBP", "CHF"):
            _record(
                f"more-{n}-{currency}", currency, "1.5", n + 1,
                team=cast.team_a, use_case=cast.use_case_a, provider=bedrock, model=None,
            )  # fmt: skip
    with django_assert_max_num_queries(len(few.captured_queries)):
        _, rows = _focus(client)
    assert len(rows) == len(ROWS) + 24 * 4


# Impossible years (20 digits, year 0), and months outside 2000-2099, where no spend is dated and
# month arithmetic past December 9999 overflows datetime
@pytest.mark.parametrize(
    ("year", "month"),
    [("99999999999999999999", 1), ("0", 1), (9999, 12), (9999, 1), (2100, 1), (1999, 12), (1, 1)],
)
def test_a_month_outside_the_recorded_years_is_a_404_on_pages_and_api_never_a_500(cast, login, year, month):
    client = login(cast.finance)

    for url in (
        f"/showback/exports/focus-{year}-{month}.csv",
        f"/showback/chargeback/support/{year}-{month}/statement.csv",
        f"/showback/chargeback/support/{year}-{month}/",
        f"/api/v1/spend/chargeback/support/{year}-{month}/",
    ):
        assert client.get(url).status_code == 404, url


FULLWIDTH_123 = "\uff11\uff12\uff13"


@pytest.mark.parametrize(
    "start", ["9999-12", "9999-07", "99999-01", "2100-01", "0-1", f"{FULLWIDTH_123}-01", "2026-13"]
)
def test_a_reconciliation_start_outside_the_recorded_years_shows_the_default_months(cast, login, start):
    client = login(cast.finance)

    page = client.get("/showback/reconciliation/", {"start": start})

    assert page.status_code == 200
    assert page.context["start"] == periods.months_back(periods.today(), page.context["months"] - 1)


@pytest.mark.parametrize("start", ["9999-12", "9999-07", "1999-12", "2100-01"])
def test_a_reconciliation_api_start_outside_the_recorded_years_is_a_400_naming_start(cast, login, start):
    response = login(cast.finance).get("/api/v1/spend/reconciliation/", {"start": start, "months": 36})

    assert response.status_code == 400
    assert "start" in response.json()["error"]["fields"]
