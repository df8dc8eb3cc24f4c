"""The anomaly and forecast pages and their API: who sees what, triage from the list (htmx) and the
detail page, bad input, assumptions from the forecast page, commitments for finance, and constant
query counts."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from aifinops.core import periods
from aifinops.core.models import AuditEvent
from portfolio.tests.factories import AIModelFactory, ProviderFactory, UseCaseFactory
from showback.models import (
    AnomalyKind,
    AnomalyStatus,
    AssumptionKind,
    DailySpend,
    ForecastAssumption,
    Severity,
)
from showback.tests.analytics_factories import AnomalyFactory, daily_spend_rows

D = Decimal


def LIST():
    return reverse("analytics:anomaly_list")


def FORECAST():
    return reverse("analytics:forecast_portfolio")


@pytest.fixture
def flagged(cast):
    """One open high spike in each team's use case, and a drift in Support's."""
    return {
        "a": AnomalyFactory(
            use_case=cast.use_case_a, date=datetime.date(2025, 6, 10), expected=D("120"), actual=D("960")
        ),
        "b": AnomalyFactory(use_case=cast.use_case_b, date=datetime.date(2025, 6, 11)),
        "drift": AnomalyFactory(
            use_case=cast.use_case_a,
            kind=AnomalyKind.CACHE_SHARE,
            severity=Severity.MEDIUM,
            date=datetime.date(2025, 6, 12),
            expected=D("0.6"),
            actual=D("0.35"),
            detail={"unit": "share", "measure": "points", "change": "-0.25"},
        ),
    }


# Who sees what.


def test_anonymous_is_sent_to_log_in_and_the_api_answers_401(client, flagged):
    for url in (LIST(), reverse("analytics:anomaly_detail", args=[flagged["a"].pk]), FORECAST()):
        response = client.get(url)
        assert response.status_code == 302
        assert "login" in response.url
    assert client.get("/api/v1/anomalies/").status_code == 401
    assert client.get("/api/v1/forecasts/portfolio/").status_code == 401


def test_a_team_member_sees_their_teams_anomalies_and_finance_sees_all(cast, login, flagged):
    mine = login(cast.requester_a).get(LIST())
    assert mine.status_code == 200
    assert "Support summarizer" in mine.text
    assert "Campaign writer" not in mine.text
    assert "$960.00" in mine.text and "60 %" in mine.text and "35 %" in mine.text
    assert (
        login(cast.requester_a).get(reverse("analytics:anomaly_detail", args=[flagged["b"].pk])).status_code
        == 404
    )

    everything = login(cast.finance).get(LIST())
    assert "Support summarizer" in everything.text and "Campaign writer" in everything.text


def test_filters_by_status_severity_kind_and_use_case(cast, login, flagged):
    client = login(cast.finance)
    assert client.get(LIST(), {"severity": "medium"}).context["rows"] == [flagged["drift"]]
    assert client.get(LIST(), {"use_case": "campaign-writer"}).context["rows"] == [flagged["b"]]
    assert client.get(LIST(), {"kind": "spike", "status": "open"}).context["rows"] == [
        flagged["b"],
        flagged["a"],
    ]


def test_a_bad_filter_names_the_field_instead_of_failing(cast, login, flagged):
    # Another team's use case is not a choice for a team member, and a date must be a date
    response = login(cast.requester_a).get(LIST(), {"use_case": "campaign-writer", "date_from": "June"})
    assert response.status_code == 200
    assert "Use case: Select a valid choice." in response.text
    assert "From: Enter a valid date." in response.text
    assert "Campaign writer" not in response.text


# Triage from the pages.


def test_the_team_acknowledges_from_the_list_with_htmx_and_gets_the_row_back(cast, login, flagged):
    anomaly = flagged["a"]
    response = login(cast.requester_a).post(
        reverse("analytics:anomaly_acknowledge", args=[anomaly.pk]),
        {"note": "Backfill of last week's calls", "next": LIST()},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert f'id="anomaly-{anomaly.pk}"' in response.text
    assert "Anomaly acknowledged." in response.text
    assert "Backfill of last week" in response.text
    anomaly.refresh_from_db()
    assert anomaly.status == AnomalyStatus.ACKNOWLEDGED
    assert AuditEvent.objects.filter(action="anomaly.acknowledge", object_id=str(anomaly.pk)).exists()


def test_explaining_without_a_note_says_so_and_changes_nothing(cast, login, flagged):
    anomaly = flagged["a"]
    response = login(cast.owner).post(
        reverse("analytics:anomaly_explain", args=[anomaly.pk]),
        {"note": "", "view": "detail"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert "Say what explains the anomaly" in response.text
    assert 'id="anomaly-triage"' in response.text
    anomaly.refresh_from_db()
    assert anomaly.status == AnomalyStatus.OPEN


def test_without_htmx_the_triage_redirects_back_with_a_message(cast, login, flagged):
    anomaly = flagged["a"]
    client = login(cast.finance)
    response = client.post(
        reverse("analytics:anomaly_resolve", args=[anomaly.pk]),
        {"note": "Credit received", "next": "https://evil.example/"},
    )

    assert response.status_code == 302
    assert response.url == reverse("analytics:anomaly_detail", args=[anomaly.pk])
    page = client.get(response.url)
    assert "Anomaly resolved." in page.text
    assert "Credit received" in page.text
    # The history of the anomaly, in plain words: the action named, not its code.
    history = page.text.split('id="history-heading"')[1]
    assert "<td>Resolve" in history
    assert "anomaly.resolve" not in page.text


def test_the_council_reads_but_cannot_triage(cast, login, flagged):
    client = login(cast.council)
    page = client.get(reverse("analytics:anomaly_detail", args=[flagged["a"].pk]))
    assert page.status_code == 200
    assert "Acknowledge" not in page.text
    assert client.post(reverse("analytics:anomaly_acknowledge", args=[flagged["a"].pk])).status_code == 403
    assert (
        login(cast.requester_b)
        .post(reverse("analytics:anomaly_acknowledge", args=[flagged["a"].pk]))
        .status_code
        == 404
    )


def test_the_detail_page_charts_the_days_around_a_spike(cast, login):
    provider = ProviderFactory()
    start = datetime.date(2025, 5, 1)
    DailySpend.objects.bulk_create(
        daily_spend_rows(
            use_case=cast.use_case_a,
            provider=provider,
            costs=[100, 101, 99, 100, 102, 50, 49] * 6,
            start=start,
        )
    )
    anomaly = AnomalyFactory(use_case=cast.use_case_a, date=start + datetime.timedelta(days=35))

    response = login(cast.owner).get(reverse("analytics:anomaly_detail", args=[anomaly.pk]))

    assert response.status_code == 200
    assert 'data-chart="chart-anomaly"' in response.text
    assert "Expected (baseline)" in response.text
    assert "Robust z-score" in response.text


def test_a_drift_reads_as_a_change_of_share(cast, login, flagged):
    response = login(cast.owner).get(reverse("analytics:anomaly_detail", args=[flagged["drift"].pk]))

    assert response.status_code == 200
    assert "Cache share falling" in response.text
    assert "-25 points" in response.text
    assert "60 %" in response.text and "35 %" in response.text
    assert 'data-chart="chart-anomaly"' in response.text


def test_the_list_keeps_a_constant_number_of_queries(cast, login, django_assert_max_num_queries, flagged):
    client = login(cast.finance)
    client.get(LIST())
    with django_assert_max_num_queries(12) as few:
        client.get(LIST())
    model = AIModelFactory()
    for i in range(30):
        AnomalyFactory(
            use_case=UseCaseFactory(team=cast.team_a),
            model=model if i % 2 else None,
            date=datetime.date(2025, 7, 1),
        )

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(LIST())
    assert len(response.context["rows"]) == 33


# Forecast pages.


@pytest.fixture
def history(cast):
    """Twelve complete months of Support summarizer spend, 3,000 a month rising 100 a month."""
    provider = ProviderFactory(name="Anthropic", slug="anthropic")
    this_month = timezone.now().date().replace(day=1)
    rows = []
    for m in range(-12, 0):
        month = periods.add_months(this_month, m)
        days = (periods.add_months(month, 1) - month).days
        monthly = D(3000 + 100 * (12 + m))
        rows += daily_spend_rows(
            use_case=cast.use_case_a,
            provider=provider,
            costs=[(monthly / days).quantize(D("0.01"))] * days,
            start=month,
        )
    DailySpend.objects.bulk_create(rows)
    return this_month


def test_the_forecast_pages_show_method_band_and_backtest(cast, login, history):
    response = login(cast.finance).get(FORECAST())
    assert response.status_code == 200
    assert "Damped Holt" in response.text
    assert "Backtest error (MAPE)" in response.text
    assert response.context["view"].backtest.mape is not None
    assert 'data-chart="chart-forecast"' in response.text
    assert "Commitment planning" in response.text
    assert "Anthropic" in response.text

    uc = login(cast.owner).get(
        reverse("analytics:forecast_use_case", args=["support-summarizer"]), {"months": 6}
    )
    assert uc.status_code == 200
    assert len(uc.context["view"].forecast.points) == 6
    assert "Commitment planning" not in uc.text


def test_a_team_member_cannot_open_another_teams_use_case_forecast_nor_plan_commitments(cast, login, history):
    client = login(cast.requester_b)
    assert client.get(reverse("analytics:forecast_use_case", args=["support-summarizer"])).status_code == 404
    page = client.get(FORECAST())
    assert page.status_code == 200
    assert "Commitment planning" not in page.text
    assert "Add an assumption" not in page.text
    assert "Forecast of your teams" in page.text


def test_a_bad_horizon_says_which_field_and_shows_twelve_months(cast, login, history):
    response = login(cast.finance).get(FORECAST(), {"months": "99"})
    assert response.status_code == 200
    assert "Months: forecast 6 to 12 months ahead" in response.text
    assert len(response.context["view"].forecast.points) == 12


def test_the_owner_adds_an_assumption_and_the_forecast_moves(cast, login, history):
    url = reverse("analytics:forecast_use_case", args=["support-summarizer"])
    client = login(cast.owner)
    before = client.get(url).context["view"].forecast.total

    bad = client.post(url, {"kind": AssumptionKind.ADOPTION_GROWTH, "effective_from": history.isoformat()})
    assert bad.status_code == 200
    assert "Percent: Give the monthly growth in percent" in bad.text
    assert not ForecastAssumption.objects.exists()

    good = client.post(
        url,
        {"kind": AssumptionKind.ADOPTION_GROWTH, "effective_from": history.isoformat(), "growth_pct": "20"},
        follow=True,
    )
    assert "Assumption added" in good.text
    assert good.context["view"].forecast.total > before * D("1.5")
    assert AuditEvent.objects.filter(action="forecast_assumption.create").count() == 1

    # The portfolio forecast moves with the use case's assumption
    portfolio = login(cast.finance).get(FORECAST()).context["view"]
    assert portfolio.forecast.total > portfolio.base.total


def test_a_requester_cannot_add_an_assumption(cast, login, history):
    url = reverse("analytics:forecast_use_case", args=["support-summarizer"])
    response = login(cast.requester_a).post(
        url,
        {"kind": AssumptionKind.ADOPTION_GROWTH, "effective_from": history.isoformat(), "growth_pct": "5"},
    )
    assert response.status_code == 403
    assert not ForecastAssumption.objects.exists()


def test_the_forecast_page_keeps_a_constant_number_of_queries(
    cast, login, history, django_assert_max_num_queries
):
    client = login(cast.finance)
    client.get(FORECAST())
    with django_assert_max_num_queries(20) as few:
        client.get(FORECAST())
    target = AIModelFactory(input_price_per_mtok=D("1"), output_price_per_mtok=D("2"))
    for _ in range(4):
        use_case = UseCaseFactory(team=cast.team_b)
        ForecastAssumption.objects.create(
            use_case=use_case, kind=AssumptionKind.ADOPTION_GROWTH, effective_from=history, growth_pct=D(5)
        )
        ForecastAssumption.objects.create(
            use_case=use_case, kind=AssumptionKind.MODEL_SWITCH, effective_from=history, target_model=target
        )

    with django_assert_max_num_queries(len(few.captured_queries) + 2):
        response = client.get(FORECAST())
    assert len(response.context["view"].use_case_assumptions) == 8


# API.


def test_the_api_lists_what_the_caller_may_see_and_acknowledges(cast, login, flagged):
    client = login(cast.requester_a)
    listed = client.get("/api/v1/anomalies/")
    assert listed.status_code == 200
    assert {r["use_case"] for r in listed.json()["results"]} == {"support-summarizer"}
    assert client.get(f"/api/v1/anomalies/{flagged['b'].pk}/").status_code == 404

    refused = client.post(
        f"/api/v1/anomalies/{flagged['a'].pk}/explain/", {"note": ""}, content_type="application/json"
    )
    assert refused.status_code == 400
    assert "note" in refused.json()["error"]["fields"]

    done = client.post(
        f"/api/v1/anomalies/{flagged['a'].pk}/acknowledge/",
        {"note": "On it"},
        content_type="application/json",
    )
    assert done.status_code == 200
    assert done.json()["status"] == "acknowledged"
    assert done.json()["acknowledged_by"] == "req-a"

    again = client.post(
        f"/api/v1/anomalies/{flagged['a'].pk}/acknowledge/", {}, content_type="application/json"
    )
    assert again.status_code == 400
    assert "status" in again.json()["error"]["fields"]

    council = login(cast.council).post(
        f"/api/v1/anomalies/{flagged['b'].pk}/acknowledge/", {}, content_type="application/json"
    )
    assert council.status_code == 403


def test_the_api_filters_anomalies_like_the_page(cast, login, flagged):
    rows = (
        login(cast.finance)
        .get("/api/v1/anomalies/", {"severity": "high", "use_case": "campaign-writer"})
        .json()
    )
    assert [r["id"] for r in rows["results"]] == [flagged["b"].pk]


def test_the_api_forecasts_the_portfolio_and_a_use_case(cast, login, history):
    client = login(cast.finance)
    body = client.get("/api/v1/forecasts/portfolio/", {"months": 6}).json()
    assert body["scope"] == "portfolio"
    assert body["currency"] == "USD"
    assert body["method"] == "holt_damped"
    assert len(body["history"]) == 12
    assert len(body["forecast"]) == 6
    first = body["forecast"][0]
    assert D(first["lower"]) <= D(first["amount"]) <= D(first["upper"])
    assert body["backtest"]["mape_pct"] is not None

    uc = client.get("/api/v1/forecasts/use-cases/support-summarizer/").json()
    assert uc["use_case"] == "support-summarizer" and len(uc["forecast"]) == 12

    bad = client.get("/api/v1/forecasts/portfolio/", {"months": "40"})
    assert bad.status_code == 400
    assert "months" in bad.json()["error"]["fields"]
    assert login(cast.requester_b).get("/api/v1/forecasts/use-cases/support-summarizer/").status_code == 404
