"""POST /api/v1/usage-events/: storage, idempotency, spend, telemetry and settlement."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from portfolio.tests.factories import AIModelFactory
from showback.gateway.selectors import use_case_telemetry
from showback.models import DailySpend, SpendRecord, UsageEvent, UsageHourly
from showback.rollups import daily_spend_rebuild

from .gateway_helpers import bearer, event, hard_cap, iso, token_client

pytestmark = pytest.mark.django_db

URL = "/api/v1/usage-events/"


def post(client, events):
    return client.post(URL, {"events": events}, format="json")


def test_a_batch_is_stored_costed_from_the_catalog_and_counted_once(
    cast, gateway_key, redis_clean, django_capture_on_commit_callbacks
):
    client = bearer(gateway_key.raw)

    with django_capture_on_commit_callbacks(execute=True):
        first = post(client, [event("r1"), event("r2", cost="0.5"), event("r1")])
        again = post(client, [event("r1"), event("r2", cost="0.5")])

    assert first.status_code == 200, first.content
    assert (first.json()["stored"], first.json()["duplicates"]) == (2, 1)
    assert first.json()["events"][0] == {
        "index": 0, "request_id": "r1", "status": "stored", "cost": "0.006000", "currency": "USD"
    }  # fmt: skip
    assert first.json()["events"][2]["status"] == "duplicate"
    assert (again.json()["stored"], again.json()["duplicates"]) == (0, 2)
    assert UsageEvent.objects.count() == 2
    r1 = UsageEvent.objects.get(request_id="r1")
    assert (r1.cost, r1.cost_computed, r1.use_case_id, r1.gateway_key_id) == (
        Decimal("0.006"), True, cast.use_case_a.pk, gateway_key.pk
    )  # fmt: skip


def test_cache_reads_are_costed_at_the_cached_input_price_or_else_the_input_price(
    cast, catalog, gateway_key, redis_clean
):
    AIModelFactory(
        provider=catalog["ok"].provider, key="gpt-cached", cached_input_price_per_mtok=Decimal("0.5")
    )
    tokens = {"input_tokens": 1000, "cached_tokens": 1000, "output_tokens": 500}

    answer = post(
        bearer(gateway_key.raw),
        [event("c1", **tokens), event("c2", model="openai/gpt-cached", **tokens)],
    )

    assert [e["cost"] for e in answer.json()["events"]] == ["0.008000", "0.006500"]


def test_gateway_spend_reaches_the_daily_rollup_as_estimated_spend(
    cast, gateway_key, redis_clean, django_capture_on_commit_callbacks
):
    client = bearer(gateway_key.raw)

    with django_capture_on_commit_callbacks(execute=True):  # the rollup task, queued on commit
        post(client, [event("r1", cost="1.25"), event("r2", cost="0.75")])
        post(client, [event("r3", cost="1.00"), event("r1", cost="1.25")])

    record = SpendRecord.objects.get(source="gateway")
    assert (record.effective_cost, record.billed_cost, record.is_estimated, record.requests) == (
        Decimal("3.00"), Decimal("0"), True, 3
    )  # fmt: skip
    assert (record.use_case, record.team, record.model.ref) == (
        cast.use_case_a,
        cast.team_a,
        "openai/gpt-mini",
    )
    day = DailySpend.objects.get(use_case=cast.use_case_a)
    assert (day.effective_cost, day.estimated_cost, day.requests, day.date) == (
        Decimal("3.00"), Decimal("3.00"), 3, timezone.now().date()
    )  # fmt: skip


def test_a_batch_rebuilds_the_rollup_rows_of_its_own_use_case_and_days_only(
    cast, gateway_key, redis_clean, django_capture_on_commit_callbacks
):
    today = timezone.now().date()
    straggler = today - datetime.timedelta(days=3)
    start = datetime.datetime.combine(straggler, datetime.time(12), tzinfo=datetime.UTC)
    for use_case, day in ((cast.use_case_b, today), (cast.use_case_a, today - datetime.timedelta(days=1))):
        noon = datetime.datetime.combine(day, datetime.time(12), tzinfo=datetime.UTC)
        SpendRecord.objects.create(
            source="test",
            source_row_key=f"{use_case.key}-{day}",
            charge_period_start=noon,
            charge_period_end=noon + datetime.timedelta(hours=1),
            effective_cost=Decimal("2"),
            use_case=use_case,
            team=use_case.team,
        )
    daily_spend_rebuild(start=straggler, end=today)
    before = dict(DailySpend.objects.values_list("use_case_id", "pk"))

    with django_capture_on_commit_callbacks(execute=True):
        post(bearer(gateway_key.raw), [event("r1", cost="1"), event("r2", cost="1", timestamp=iso(start))])

    rows = DailySpend.objects.filter(use_case=cast.use_case_a)
    assert sorted((r.date, r.effective_cost) for r in rows) == [
        (straggler, Decimal("1")), (today - datetime.timedelta(days=1), Decimal("2")), (today, Decimal("1"))
    ]  # fmt: skip
    # Neither another use case's rows nor the days between the batch's were deleted and rewritten.
    assert DailySpend.objects.get(use_case=cast.use_case_b).pk == before[cast.use_case_b.pk]
    assert rows.get(date=today - datetime.timedelta(days=1)).pk == before[cast.use_case_a.pk]


def test_a_usage_event_settles_the_reservation_of_its_request(
    cast, gateway_key, redis_clean, django_capture_on_commit_callbacks
):
    budget = hard_cap(cast.use_case_a, "1.00")
    client = bearer(gateway_key.raw)
    client.post(
        "/api/v1/authorize/",
        {"model": "gpt-mini", "estimated_cost": "0.50", "request_id": "r1"},
        format="json",
    )

    with django_capture_on_commit_callbacks(execute=True):
        post(client, [event("r1", cost="0.20")])

    start = timezone.now().date().replace(day=1)
    assert redis_clean.client.hgetall(f"gw:cap:b{budget.pk}:{start:%Y%m%d}") == {
        "spent": "200000",
        "reserved": "0",
    }
    answer = client.post("/api/v1/authorize/", {"model": "gpt-mini", "estimated_cost": "0.80"}, format="json")
    assert answer.json()["remaining_budget"]["amount"] == "0.000000"


def test_a_run_counts_the_tool_calls_its_events_report(
    cast, gateway_key, redis_clean, django_capture_on_commit_callbacks
):
    from .gateway_helpers import AgentPolicyFactory

    AgentPolicyFactory(use_case=cast.use_case_a, max_tool_calls_per_run=4)
    client = bearer(gateway_key.raw)
    client.post(
        "/api/v1/authorize/", {"model": "gpt-mini", "run_id": "run-1", "request_id": "s1"}, format="json"
    )

    with django_capture_on_commit_callbacks(execute=True):
        post(client, [event("s1", run_id="run-1", tool_calls=4)])
    answer = client.post(
        "/api/v1/authorize/", {"model": "gpt-mini", "run_id": "run-1", "tool_calls": 1}, format="json"
    ).json()

    assert (answer["decision"], answer["reason"]) == ("deny", "run_tool_call_limit")


def test_a_bad_batch_is_rejected_whole_with_each_problem_named(cast, gateway_key, redis_clean):
    events = [
        event("ok-1"),
        event("", input_tokens=-5),
        event("r3", timestamp="2026-11-24T10:00:00"),
        event("r4", model="acme/unknown"),
        event("r5", status="exploded", colour="red"),
    ]

    response = post(bearer(gateway_key.raw), events)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "unprocessable"
    assert error["message"].startswith("4 of 5 events are invalid; nothing was stored.")
    assert {(d["index"], d["field"]) for d in error["details"]} == {
        (1, "request_id"), (1, "input_tokens"), (2, "timestamp"), (3, "cost"), (4, "status"), (4, "colour")
    }  # fmt: skip
    assert UsageEvent.objects.count() == 0


def test_a_batch_of_more_than_a_thousand_is_refused(cast, gateway_key, redis_clean):
    response = post(bearer(gateway_key.raw), [event(f"r{i}") for i in range(1001)])

    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "events"


def test_events_land_in_their_monthly_partition(cast, gateway_key, redis_clean):
    if connection.vendor != "postgresql":
        pytest.skip("Partitions are PostgreSQL's.")
    last_month = (timezone.now().replace(day=1) - datetime.timedelta(days=1)).replace(hour=12)

    post(bearer(gateway_key.raw), [event("now"), event("then", timestamp=iso(last_month))])

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text, request_id FROM showback_usageevent ORDER BY request_id"
        )
        rows = cursor.fetchall()
    assert rows == [
        (f"showback_usageevent_p{timezone.now():%Y_%m}", "now"),
        (f"showback_usageevent_p{last_month:%Y_%m}", "then"),
    ]


def test_telemetry_per_use_case(cast, gateway_key, redis_clean):
    events = [
        event("a1", run_id="run-a", latency_ms=100, tool_calls=2),
        event("a2", run_id="run-a", latency_ms=200, tool_calls=1, retries=2),
        event("a3", run_id="run-a", latency_ms=300, outcome="accepted", human_review=True, cost="0.30"),
        event("b1", run_id="run-b", latency_ms=4000, status="error", cache_hit=True),
        event("b2", run_id="run-b", latency_ms=150, outcome="rejected", human_review=True, tool_calls=3),
        event("c1", latency_ms=120, outcome="success", cache_hit=True),
    ]
    post(bearer(gateway_key.raw), events)

    week, hours = use_case_telemetry(use_case=cast.use_case_a)

    assert (week.calls, week.errors, week.runs, week.tasks, week.successes) == (6, 1, 3, 3, 2)
    assert week.error_rate == Decimal(100) / 6
    assert week.retry_rate == Decimal(100) / 6
    assert week.cache_hit_rate == Decimal(100) / 3
    assert week.tool_calls_per_run == 2
    assert week.human_review_rate == Decimal(100) * 2 / 3
    assert week.acceptance_rate == 50
    assert 100 <= week.p50 <= 200
    assert 2000 <= week.p95 <= 5000
    total = sum(e.cost for e in UsageEvent.objects.all())
    assert week.cost_per_successful_task == [(total / 2, "USD")]
    assert sum(t.calls for _, t in hours) == 6
    assert UsageHourly.objects.count() == 1


def test_a_run_is_counted_once_across_batches(cast, gateway_key, redis_clean):
    client = bearer(gateway_key.raw)
    post(client, [event("a1", run_id="run-a")])
    post(client, [event("a2", run_id="run-a"), event("b1", run_id="run-b")])

    assert UsageHourly.objects.get().runs == 2


def test_runs_already_stored_are_looked_up_in_one_query_however_many_hours_a_batch_spans(
    cast, gateway_key, redis_clean
):
    client = bearer(gateway_key.raw)
    midnight = datetime.datetime.combine(
        timezone.now().date() - datetime.timedelta(days=1), datetime.time.min, tzinfo=datetime.UTC
    )

    def batch(prefix, hours):
        events = [
            event(f"{prefix}{i}", run_id=f"run-{h}", timestamp=iso(midnight + datetime.timedelta(hours=h)))
            for i, h in enumerate(hours)
        ]
        with CaptureQueriesContext(connection) as queries:
            assert post(client, events).status_code == 200
        return len(queries)

    batch("w", [0, 1, 2, 3, 4])
    one_hour = batch("a", [1, 1, 1, 1, 1])
    five_hours = batch("b", [0, 1, 2, 3, 4])

    assert five_hours == one_hour
    runs = dict(UsageHourly.objects.values_list("hour__hour", "runs"))
    assert runs == {0: 1, 1: 1, 2: 1, 3: 1, 4: 1}


def test_the_use_case_page_shows_the_telemetry(login, cast, gateway_key, redis_clean):
    post(bearer(gateway_key.raw), [event("a1", latency_ms=120, outcome="success", cost="0.25")])

    page = login(cast.requester_a).get(reverse("portfolio:use_case_tab_agents", args=[cast.use_case_a.key]))

    body = page.content.decode()
    assert "Calls through the gateway (last 7 days)" in body
    assert "chart-gateway-hourly" in body
    assert "$0.25" in body  # cost per successful task
    assert "Gateway keys" not in body  # a team member sees telemetry, not the keys


def test_personal_tokens_report_for_the_use_cases_they_may(cast, catalog, redis_clean):
    owner, finance, requester = (
        token_client(cast.owner),
        token_client(cast.finance),
        token_client(cast.requester_a),
    )

    by_owner = post(owner, [event("p1", use_case=cast.use_case_a.key)])
    by_finance = post(finance, [event("p2", use_case=cast.use_case_b.key)])
    by_requester = post(requester, [event("p3", use_case=cast.use_case_a.key)])
    other_team = post(token_client(cast.requester_b), [event("p4", use_case=cast.use_case_a.key)])
    without_use_case = post(owner, [event("p5")])

    assert (by_owner.status_code, by_finance.status_code) == (200, 200)
    assert by_requester.status_code == 403
    assert other_team.status_code == 422
    assert other_team.json()["error"]["details"][0]["field"] == "use_case"
    assert without_use_case.json()["error"]["details"][0]["field"] == "use_case"
    assert set(UsageEvent.objects.values_list("request_id", flat=True)) == {"p1", "p2"}
