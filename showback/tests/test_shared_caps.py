"""Hard caps shared by use cases (team, business function, portfolio) in POST /api/v1/authorize/,
counters rebuilt from the ledger before the worker rolls usage up (every scope), usage in a
currency no cap can count, and the remaining budget of caps in different currencies. Against the
real PostgreSQL and Redis of `make test`."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from portfolio.tests.factories import UseCaseFactory
from showback.fx import exchange_rate_record
from showback.gateway.caps import gateway_caps_reconcile
from showback.gateway.models import CapCorrection, UsageEvent, UsageRollupDirty
from showback.gateway.rollups import usage_rollups_catch_up, usage_rollups_enqueue

from .budget_factories import BudgetFactory
from .gateway_helpers import GatewayKeyFactory, bearer, event, gw_keys, hard_cap

pytestmark = pytest.mark.django_db

URL = "/api/v1/authorize/"
USAGE_URL = "/api/v1/usage-events/"


def ask(key, **body):
    body.setdefault("model", "openai/gpt-mini")
    return bearer(key.raw).post(URL, body, format="json")


def counter(redis, budget):
    start = timezone.now().date().replace(day=1)
    return redis.client.hgetall(f"gw:cap:b{budget.pk}:{start:%Y%m%d}")


def cap(scope, amount, **fields):
    return BudgetFactory(scope=scope, mode="hard_cap", amount=Decimal(amount), **fields)


def report(key, *events, capture, rollups=True):
    """Post usage events and run what their commit queues: the settlement in Redis, and the
    rollups unless `rollups` is False (as when the worker is slow or down)."""
    with capture() as callbacks:
        response = bearer(key.raw).post(USAGE_URL, {"events": list(events)}, format="json")
    for callback in callbacks:
        if rollups or callback is not usage_rollups_enqueue:
            callback()
    return response


@pytest.fixture
def second_key(cast, catalog):
    """A gateway key of a second use case of team A, in another business function."""
    other = UseCaseFactory(
        key="support-router", name="Support router", team=cast.team_a, business_function="it"
    )
    return GatewayKeyFactory(use_case=other, created_by=cast.owner)


# Team, function and portfolio caps.


def test_a_team_cap_counts_the_calls_of_every_use_case_of_the_team(
    cast, gateway_key, second_key, redis_clean
):
    budget = cap("team", "8.00", team=cast.team_a)

    first = ask(gateway_key, estimated_cost="5.00").json()
    second = ask(second_key, estimated_cost="2.95").json()
    past = ask(second_key, estimated_cost="1.00").json()

    assert (first["decision"], second["decision"]) == ("allow", "warn")  # warned: nearly used
    assert (past["decision"], past["reason"]) == ("deny", "budget_exhausted")
    assert past["remaining_budget"] == {"amount": "0.050000", "currency": "USD"}
    assert counter(redis_clean, budget) == {"spent": "0", "reserved": "7950000"}


def test_another_teams_cap_does_not_count_a_call(cast, gateway_key, redis_clean):
    cap("team", "1.00", team=cast.team_b)

    answer = ask(gateway_key, estimated_cost="5.00").json()

    assert (answer["decision"], answer["remaining_budget"]) == ("allow", None)


def test_a_function_cap_counts_its_functions_use_cases_only(cast, gateway_key, second_key, redis_clean):
    cap("function", "1.00", function=cast.use_case_a.business_function)

    inside = ask(gateway_key, estimated_cost="1.50").json()
    outside = ask(second_key, estimated_cost="1.50").json()

    assert (inside["decision"], inside["reason"]) == ("deny", "budget_exhausted")
    assert outside["decision"] == "allow"


def test_a_portfolio_cap_counts_every_call(cast, gateway_key, second_key, redis_clean):
    cap("portfolio", "1.00")

    assert ask(gateway_key, estimated_cost="0.60").json()["decision"] == "allow"
    assert ask(second_key, estimated_cost="0.60").json()["reason"] == "budget_exhausted"


def test_usage_settles_on_the_team_cap(
    cast, gateway_key, second_key, redis_clean, django_capture_on_commit_callbacks
):
    budget = cap("team", "8.00", team=cast.team_a)
    ask(second_key, estimated_cost="2.00", request_id="r1")

    stored = report(second_key, event("r1", cost="0.75"), capture=django_capture_on_commit_callbacks)

    assert stored.status_code == 200
    assert counter(redis_clean, budget) == {"spent": "750000", "reserved": "0"}


# Counters rebuilt before the worker has rolled the usage up, for every scope.


@pytest.mark.parametrize(
    "scope, fields, call",
    [
        ("use_case", {}, {}),
        ("team", {}, {}),
        ("portfolio", {}, {}),
        ("customer", {"customer": "acme"}, {"customer": "acme"}),
        ("tag", {"tag_key": "project", "tag_value": "apollo"}, {"tags": {"project": "apollo"}}),
        ("model", {}, {}),
        ("provider", {}, {}),
    ],
)
def test_a_counter_rebuilt_after_redis_is_lost_counts_usage_not_rolled_up(
    cast, gateway_key, catalog, redis_clean, django_capture_on_commit_callbacks, scope, fields, call
):
    """$1.00 cap, $0.90 of usage stored (its rollup not yet run); Redis loses everything: the
    rebuilt counter holds the $0.90 and a $0.20 call is refused."""
    if scope == "use_case":
        fields = {"use_case": cast.use_case_a}
    elif scope == "team":
        fields = {"team": cast.team_a}
    elif scope == "model":
        fields = {"model": catalog["ok"]}
    elif scope == "provider":
        fields = {"provider": catalog["ok"].provider}
    budget = cap(scope, "1.00", **fields)
    ask(gateway_key, estimated_cost="0.90", request_id="used", **call)
    report(
        gateway_key,
        event("used", cost="0.90", **call),
        capture=django_capture_on_commit_callbacks,
        rollups=False,
    )
    assert UsageRollupDirty.objects.exists()  # no worker ran: the rollup is behind

    redis_clean.client.delete(*gw_keys(redis_clean.client))
    answer = ask(gateway_key, estimated_cost="0.20", **call).json()

    assert (answer["decision"], answer["reason"]) == ("deny", "budget_exhausted")
    assert counter(redis_clean, budget) == {"spent": "900000", "reserved": "0"}
    # The reconciliation reads the same figure: nothing to correct.
    assert gateway_caps_reconcile()["corrections"] == 0
    assert not CapCorrection.objects.exists()


def test_a_team_counter_rebuilt_counts_both_rolled_and_pending_days(
    cast, gateway_key, second_key, redis_clean, django_capture_on_commit_callbacks
):
    budget = cap("team", "2.00", team=cast.team_a)
    report(gateway_key, event("a", cost="0.80"), capture=django_capture_on_commit_callbacks)
    usage_rollups_catch_up()  # rolled up
    report(second_key, event("b", cost="0.70"), capture=django_capture_on_commit_callbacks, rollups=False)

    redis_clean.client.delete(*gw_keys(redis_clean.client))
    answer = ask(second_key, estimated_cost="0.60").json()

    assert answer["reason"] == "budget_exhausted"
    assert counter(redis_clean, budget)["spent"] == "1500000"


# Usage no cap can count is refused.


def test_a_usage_event_in_a_currency_without_a_rate_is_refused_naming_index_and_field(
    cast, gateway_key, redis_clean
):
    hard_cap(cast.use_case_a, "10.00")

    response = bearer(gateway_key.raw).post(
        USAGE_URL,
        {"events": [event("ok", cost="0.10"), event("yen", cost="20", currency="JPY")]},
        format="json",
    )

    assert response.status_code == 422
    problems = response.json()["error"]["details"]
    assert [(p["index"], p["field"]) for p in problems] == [(1, "currency")]
    assert "No exchange rate from JPY to USD" in problems[0]["message"]
    assert not UsageEvent.objects.exists()


def test_a_usage_event_in_another_currency_passes_when_no_cap_counts_it(cast, gateway_key, redis_clean):
    cap("customer", "1.00", customer="acme")  # this call names no customer

    response = bearer(gateway_key.raw).post(
        USAGE_URL, {"events": [event("yen", cost="20", currency="JPY")]}, format="json"
    )

    assert response.status_code == 200
    assert UsageEvent.objects.get().currency == "JPY"


# The remaining budget of caps in different currencies.


def test_the_remaining_budget_is_the_tightest_caps_in_its_own_currency(cast, gateway_key, redis_clean):
    """USD 11.00 left on the use case's cap, EUR 10.05 on the team's (USD 11.05 at 1.10): the use
    case's is the tighter, though its number is the larger; each is reported in its currency."""
    exchange_rate_record(
        actor=cast.finance,
        base="EUR",
        quote="USD",
        rate=Decimal("1.10"),
        valid_from=timezone.now().date() - datetime.timedelta(days=1),
        source="test",
    )
    hard_cap(cast.use_case_a, "11.50", name="Use case, USD")
    cap("team", "10.50", team=cast.team_a, currency="EUR", name="Team, EUR")

    body = ask(gateway_key, estimated_cost="0.50", currency="USD").json()

    assert body["decision"] == "allow"
    assert body["remaining_by_cap"] == [
        {"cap": "Use case, USD", "amount": "11.000000", "currency": "USD"},
        {"cap": "Team, EUR", "amount": "10.045454", "currency": "EUR"},
    ]
    assert body["remaining_budget"] == {"amount": "11.000000", "currency": "USD"}


def test_a_denial_reports_the_cap_that_refused_in_its_currency(cast, gateway_key, redis_clean):
    exchange_rate_record(
        actor=cast.finance,
        base="EUR",
        quote="USD",
        rate=Decimal("1.10"),
        valid_from=timezone.now().date() - datetime.timedelta(days=1),
        source="test",
    )
    hard_cap(cast.use_case_a, "100.00", name="Use case, USD")
    cap("team", "1.00", team=cast.team_a, currency="EUR", name="Team, EUR")

    body = ask(gateway_key, estimated_cost="5.00", currency="USD").json()

    assert (body["decision"], body["reason"]) == ("deny", "budget_exhausted")
    assert body["remaining_budget"] == {"amount": "1.000000", "currency": "EUR"}
    assert body["remaining_by_cap"] == [{"cap": "Team, EUR", "amount": "1.000000", "currency": "EUR"}]
