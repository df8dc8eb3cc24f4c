"""POST /api/v1/authorize/ and the decision behind it, against the real Redis of `make test`."""

import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from aifinops.core.models import AuditEvent
from showback.gateway import services
from showback.gateway.authorize import AuthorizeRequest, GatewayPrincipal, authorize
from showback.models import AuthorizationDecision, DailySpend, GatewayKey

from .gateway_helpers import AgentPolicyFactory, bearer, closed_port, gw_keys, hard_cap

pytestmark = pytest.mark.django_db

URL = "/api/v1/authorize/"


def ask(key, **body):
    body.setdefault("model", "openai/gpt-mini")
    return bearer(key.raw).post(URL, body, format="json")


def principal(key):
    return GatewayPrincipal(key_id=key.pk, use_case_id=key.use_case_id, agent=key.agent)


def cap_counter(redis, budget):
    start = timezone.now().date().replace(day=1)
    return redis.client.hgetall(f"gw:cap:b{budget.pk}:{start:%Y%m%d}")


def test_an_allowed_call_reserves_its_estimate_and_says_what_is_left(cast, gateway_key, redis_clean):
    budget = hard_cap(cast.use_case_a, "10.00")

    response = ask(gateway_key, estimated_cost="0.50", request_id="req-1")

    assert response.status_code == 200
    body = response.json()
    assert body["decision"] == "allow"
    assert body["reason"] == "ok"
    assert body["remaining_budget"] == {"amount": "9.500000", "currency": "USD"}
    assert body["reservation"]["id"] == "req-1"
    assert body["policy"]["counters"] == "redis"
    assert body["policy"]["redis_down"] == "closed"
    assert body["limits"]["spend_caps"][0]["amount"] == "10.000000"
    assert cap_counter(redis_clean, budget) == {"spent": "0", "reserved": "500000"}


def test_the_catalog_estimate_wins_over_a_lower_guess(cast, gateway_key, redis_clean):
    hard_cap(cast.use_case_a, "10.00")

    # 100k in at $2/M and 50k out at $8/M: $0.60, whatever the caller guessed.
    body = ask(gateway_key, estimated_cost="0.01", input_tokens=100_000, output_tokens=50_000).json()

    assert body["estimated_cost"] == {"amount": "0.600000", "currency": "USD"}
    assert body["remaining_budget"]["amount"] == "9.400000"


def test_a_call_that_takes_a_cap_past_the_warning_line_is_a_warn(cast, gateway_key, redis_clean):
    hard_cap(cast.use_case_a, "1.00")

    assert ask(gateway_key, estimated_cost="0.70").json()["decision"] == "allow"
    body = ask(gateway_key, estimated_cost="0.15").json()

    assert body["decision"] == "warn"
    assert body["reason"] == "budget_nearly_used"


def test_a_call_past_the_hard_cap_is_denied_and_nothing_is_reserved(cast, gateway_key, redis_clean):
    budget = hard_cap(cast.use_case_a, "1.00")
    ask(gateway_key, estimated_cost="0.80")

    body = ask(gateway_key, estimated_cost="0.30").json()

    assert body["decision"] == "deny"
    assert body["reason"] == "budget_exhausted"
    assert body["reservation"] is None
    assert body["remaining_budget"] == {"amount": "0.200000", "currency": "USD"}
    assert cap_counter(redis_clean, budget)["reserved"] == "800000"


# The threads write their reservations through on connections of their own, outside the test's
# transaction: flushed after the test, so no later test finds them.
@pytest.mark.django_db(transaction=True)
def test_concurrent_authorizations_never_spend_past_a_hard_cap(cast, gateway_key, redis_clean):
    """16 threads hammer one $1.00 cap with $0.03 calls: exactly 33 fit, never a 34th."""
    budget = hard_cap(cast.use_case_a, "1.00")
    who = principal(gateway_key)
    # Warm the policy and the cap counter, so the threads need Redis only (as the endpoint does).
    authorize(principal=who, req=AuthorizeRequest(model="openai/gpt-mini", estimated_cost=Decimal("0")))
    allowed, lock = [], threading.Lock()

    def hammer(n):
        for i in range(25):
            req = AuthorizeRequest(
                model="openai/gpt-mini", estimated_cost=Decimal("0.03"), request_id=f"t{n}-{i}"
            )
            answer = authorize(principal=who, req=req)
            if answer["decision"] != "deny":
                with lock:
                    allowed.append(Decimal(answer["reservation"]["amount"]))
        connection.close()

    threads = [threading.Thread(target=hammer, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(allowed) == 33
    assert sum(allowed) <= Decimal("1.00")
    assert cap_counter(redis_clean, budget)["reserved"] == str(33 * 30_000)


def test_the_agent_spend_cap_is_a_hard_cap_too(cast, gateway_key, redis_clean):
    cast.use_case_a.agent_spend_cap = Decimal("0.05")
    cast.use_case_a.save()

    first = ask(gateway_key, estimated_cost="0.04").json()
    second = ask(gateway_key, estimated_cost="0.04").json()

    assert first["decision"] == "warn"  # 80 % of the cap
    assert second["decision"] == "deny"
    assert second["reason"] == "budget_exhausted"
    assert first["limits"]["spend_caps"] == [
        {
            "name": "Agent spend cap",
            "amount": "0.050000",
            "currency": "USD",
            "period_end": first["limits"]["spend_caps"][0]["period_end"],
        }
    ]


def test_the_kill_switch_acts_on_the_next_call(
    cast, gateway_key, redis_clean, django_capture_on_commit_callbacks, django_assert_num_queries
):
    assert ask(gateway_key, estimated_cost="0.01").json()["decision"] == "allow"

    with django_capture_on_commit_callbacks(execute=True):
        services.agent_kill_switch_set(
            use_case=cast.use_case_a,
            actor=cast.owner,
            on=True,
            reason="Runaway loop",
            confirm=True,
        )
    body = ask(gateway_key, estimated_cost="0.01").json()

    assert body["decision"] == "deny"
    assert body["reason"] == "kill_switch"
    assert AuditEvent.objects.filter(action="agent.kill_switch_on", actor=cast.owner).count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        services.agent_kill_switch_set(use_case=cast.use_case_a, actor=cast.owner, on=False, confirm=True)
    assert ask(gateway_key, estimated_cost="0.01").json()["decision"] == "allow"


def test_a_warm_authorization_asks_the_database_nothing_but_writes_its_reservation(
    cast, gateway_key, redis_clean, django_assert_num_queries
):
    hard_cap(cast.use_case_a, "10.00")
    who = principal(gateway_key)
    authorize(principal=who, req=AuthorizeRequest(model="openai/gpt-mini"))

    # One INSERT: the reservation written through, so that it survives the loss of Redis.
    with django_assert_num_queries(1):
        answer = authorize(
            principal=who, req=AuthorizeRequest(model="openai/gpt-mini", estimated_cost=Decimal("1"))
        )

    assert answer["decision"] == "allow"


def test_the_approval_gate_denies_until_a_person_approves(
    cast, gateway_key, redis_clean, django_capture_on_commit_callbacks
):
    AgentPolicyFactory(use_case=cast.use_case_a, approval_required=True)

    assert ask(gateway_key).json()["reason"] == "approval_required"
    with django_capture_on_commit_callbacks(execute=True):
        services.agent_approve(use_case=cast.use_case_a, actor=cast.finance)

    assert ask(gateway_key).json()["decision"] == "allow"


@pytest.mark.parametrize(
    ("model", "decision", "reason"),
    [
        ("openai/gpt-old", "deny", "model_blocked"),
        ("openai/no-such-model", "deny", "model_unknown"),
        ("openai/gpt-big", "warn", "model_restricted"),
        ("gpt-mini", "allow", "ok"),
    ],
)
def test_the_catalog_decides_on_models(cast, gateway_key, redis_clean, model, decision, reason):
    body = ask(gateway_key, model=model).json()

    assert (body["decision"], body["reason"]) == (decision, reason)


def test_a_model_outside_the_use_cases_models_is_denied(cast, gateway_key, catalog, redis_clean):
    cast.use_case_a.ai_models.set([catalog["ok"]])

    outside = ask(gateway_key, model="openai/gpt-big").json()
    inside = ask(gateway_key, model="openai/gpt-mini").json()

    assert (outside["decision"], outside["reason"]) == ("deny", "model_not_routed")
    assert outside["policy"]["routing"] == "use_case_models"
    assert inside["decision"] == "allow"


def test_run_limits_deny_the_step_that_would_pass_them(cast, gateway_key, redis_clean):
    AgentPolicyFactory(
        use_case=cast.use_case_a, max_steps_per_run=3, max_tool_calls_per_run=5, max_tokens_per_run=10_000
    )

    first = ask(gateway_key, run_id="run-1", tool_calls=2, tokens=4000).json()
    assert first["run"] == {"steps": 1, "tool_calls": 2, "tokens": 4000, "seconds": 0.0}
    assert ask(gateway_key, run_id="run-1", tool_calls=4).json()["reason"] == "run_tool_call_limit"
    assert ask(gateway_key, run_id="run-1", tokens=7000).json()["reason"] == "run_token_limit"
    assert ask(gateway_key, run_id="run-1", tool_calls=3, tokens=6000).json()["decision"] == "allow"
    assert ask(gateway_key, run_id="run-1").json()["decision"] == "allow"
    assert ask(gateway_key, run_id="run-1").json()["reason"] == "run_step_limit"
    assert ask(gateway_key, run_id="run-2").json()["decision"] == "allow"


def test_a_run_that_goes_on_too_long_is_denied(cast, gateway_key, redis_clean):
    AgentPolicyFactory(use_case=cast.use_case_a, max_run_seconds=60)
    who = principal(gateway_key)
    start = 1_800_000_000_000

    first = authorize(principal=who, req=AuthorizeRequest(model="gpt-mini", run_id="r"), now_ms=start)
    later = authorize(
        principal=who, req=AuthorizeRequest(model="gpt-mini", run_id="r"), now_ms=start + 61_000
    )

    assert first["decision"] == "allow"
    assert later["reason"] == "run_duration_limit"


def test_the_rate_limit_counts_calls_per_minute(cast, gateway_key, redis_clean):
    AgentPolicyFactory(use_case=cast.use_case_a, max_calls_per_minute=2)

    answers = [ask(gateway_key).json()["decision"] for _ in range(3)]

    assert answers == ["allow", "allow", "deny"]
    assert ask(gateway_key).json()["reason"] == "rate_limited"


def test_an_expired_reservation_gives_its_budget_back(cast, gateway_key, redis_clean, settings):
    settings.AIFINOPS_RESERVATION_TTL_SECONDS = 60
    budget = hard_cap(cast.use_case_a, "1.00")
    who = principal(gateway_key)
    now = 1_800_000_000_000

    def req(rid):
        return AuthorizeRequest(model="gpt-mini", estimated_cost=Decimal("0.60"), request_id=rid)

    assert authorize(principal=who, req=req("a"), now_ms=now)["decision"] == "allow"
    assert authorize(principal=who, req=req("b"), now_ms=now + 59_000)["decision"] == "deny"
    assert authorize(principal=who, req=req("c"), now_ms=now + 61_000)["decision"] == "allow"
    assert cap_counter(redis_clean, budget)["reserved"] == "600000"


def test_retrying_an_authorization_reserves_once(cast, gateway_key, redis_clean):
    budget = hard_cap(cast.use_case_a, "1.00")

    ask(gateway_key, estimated_cost="0.40", request_id="same")
    again = ask(gateway_key, estimated_cost="0.40", request_id="same").json()

    assert (again["decision"], again["reason"]) == ("allow", "already_reserved")
    assert cap_counter(redis_clean, budget)["reserved"] == "400000"


def test_counters_are_rebuilt_from_the_database_after_a_restart(cast, gateway_key, redis_clean):
    budget = hard_cap(cast.use_case_a, "1.00")
    DailySpend.objects.create(
        date=timezone.now().date(), use_case=cast.use_case_a, team=cast.team_a, effective_cost=Decimal("0.90")
    )
    assert ask(gateway_key, estimated_cost="0.05").json()["decision"] == "warn"

    redis_clean.client.delete(*gw_keys(redis_clean.client))  # Redis restarted: every counter gone
    body = ask(gateway_key, estimated_cost="0.20").json()

    assert (body["decision"], body["reason"]) == ("deny", "budget_exhausted")
    # The ledger's $0.90 and the open $0.05 reservation, written through to the database.
    assert cap_counter(redis_clean, budget) == {"spent": "900000", "reserved": "50000"}


@pytest.mark.parametrize(("mode", "decision"), [("open", "warn"), ("closed", "deny")])
def test_with_redis_down_the_configured_policy_decides_and_says_so(cast, gateway_key, mode, decision):
    with override_settings(
        AIFINOPS_GATEWAY_REDIS_URL=f"redis://127.0.0.1:{closed_port()}/0", AIFINOPS_AUTHORIZE_REDIS_DOWN=mode
    ):
        body = ask(gateway_key, estimated_cost="0.01").json()

    assert body["decision"] == decision
    assert body["reason"] == "counters_unavailable"
    assert body["policy"] == {
        "version": "0:0",
        "routing": "catalog",
        "counters": "unavailable",
        "redis_down": mode,
    }
    assert f"Redis-down policy: {mode}." in body["message"]


def test_with_redis_down_the_policy_checks_still_apply(cast, gateway_key):
    AgentPolicyFactory(use_case=cast.use_case_a, kill_switch=True, kill_switch_reason="stop")
    with override_settings(
        AIFINOPS_GATEWAY_REDIS_URL=f"redis://127.0.0.1:{closed_port()}/0",
        AIFINOPS_AUTHORIZE_REDIS_DOWN="open",
    ):
        body = ask(gateway_key).json()

    assert (body["decision"], body["reason"]) == ("deny", "kill_switch")
    logged = AuthorizationDecision.objects.get(use_case=cast.use_case_a)
    assert (logged.reason, logged.failure_policy) == ("kill_switch", "open")


def test_denials_and_last_use_reach_the_database_in_batches(cast, gateway_key, redis_clean):
    AgentPolicyFactory(use_case=cast.use_case_a, kill_switch=True, kill_switch_reason="stop")
    for _ in range(3):
        ask(gateway_key, run_id="run-9")

    assert AuthorizationDecision.objects.count() == 0
    assert services.gateway_flush() == {"denials": 1, "keys": 1}

    row = AuthorizationDecision.objects.get()
    assert (row.reason, row.count, row.run_id, row.gateway_key_id) == (
        "kill_switch",
        3,
        "run-9",
        gateway_key.pk,
    )
    assert GatewayKey.objects.get(pk=gateway_key.pk).last_used_at is not None
    assert services.gateway_flush() == {"denials": 0, "keys": 0}


def test_a_budget_change_reaches_the_next_authorization(
    cast, gateway_key, redis_clean, django_capture_on_commit_callbacks
):
    budget = hard_cap(cast.use_case_a, "1.00")
    assert ask(gateway_key, estimated_cost="2.00").json()["decision"] == "deny"

    with django_capture_on_commit_callbacks(execute=True):
        budget.amount = Decimal("5.00")
        budget.save()

    assert ask(gateway_key, estimated_cost="2.00").json()["decision"] == "allow"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "model"),
        ({"model": "gpt-mini", "estimated_cost": "-1"}, "estimated_cost"),
        ({"model": "gpt-mini", "estimated_cost": "lots"}, "estimated_cost"),
        ({"model": "gpt-mini", "tool_calls": -2}, "tool_calls"),
        ({"model": "gpt-mini", "tokens": "many"}, "tokens"),
        ({"model": "gpt-mini", "currency": "dollars"}, "currency"),
        ({"model": "gpt-mini", "colour": "blue"}, "colour"),
    ],
)
def test_a_bad_request_names_the_field(cast, gateway_key, redis_clean, body, field):
    response = bearer(gateway_key.raw).post(URL, body, format="json")

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
