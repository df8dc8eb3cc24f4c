"""Hard caps per provider and per catalog model in POST /api/v1/authorize/: a model cap counts only
the calls to that model, a provider cap only the calls to that provider's models, in every use
case; settled by usage events, rebuilt from the ledger and reconciled like the other scopes.
Against the real PostgreSQL and Redis of `make test`."""

from decimal import Decimal

import pytest
from django.utils import timezone

from portfolio.tests.factories import AIModelFactory, ProviderFactory
from showback.budgets import services as budget_services
from showback.gateway.caps import gateway_caps_reconcile
from showback.gateway.rollups import usage_rollups_catch_up

from .budget_factories import BudgetFactory
from .gateway_helpers import GatewayKeyFactory, bearer, event, gw_keys, token_client
from .test_shared_caps import counter, report

pytestmark = pytest.mark.django_db

URL = "/api/v1/authorize/"


def ask(key, model="openai/gpt-mini", **body):
    return bearer(key.raw).post(URL, {"model": model, **body}, format="json")


def cap(scope, amount, **fields):
    return BudgetFactory(scope=scope, mode="hard_cap", amount=Decimal(amount), **fields)


@pytest.fixture
def claude(catalog):
    """A second provider's approved model."""
    return AIModelFactory(provider=ProviderFactory(slug="anthropic", name="Anthropic"), key="claude-mid")


def test_a_model_cap_stops_the_call_past_it_while_other_models_pass(cast, gateway_key, catalog, redis_clean):
    cap("model", "1.00", model=catalog["ok"])

    first = ask(gateway_key, estimated_cost="0.70").json()
    past = ask(gateway_key, estimated_cost="0.40").json()
    other = ask(gateway_key, model="openai/gpt-big", estimated_cost="5.00").json()

    assert first["decision"] == "allow"
    assert (past["decision"], past["reason"]) == ("deny", "budget_exhausted")
    assert past["remaining_budget"] == {"amount": "0.300000", "currency": "USD"}
    assert other["decision"] in ("allow", "warn")
    # Another model's cap is not in the answer of a call to this one.
    assert other["limits"]["spend_caps"] == []
    assert [c["amount"] for c in first["limits"]["spend_caps"]] == ["1.000000"]


def test_a_model_cap_counts_the_calls_of_every_use_case(cast, gateway_key, catalog, redis_clean):
    cap("model", "1.00", model=catalog["ok"])
    other_key = GatewayKeyFactory(use_case=cast.use_case_b, created_by=cast.owner)

    assert ask(gateway_key, estimated_cost="0.60").json()["decision"] == "allow"
    body = ask(other_key, estimated_cost="0.60").json()

    assert (body["decision"], body["reason"]) == ("deny", "budget_exhausted")


def test_a_provider_cap_stops_its_models_while_other_providers_pass(
    cast, gateway_key, catalog, claude, redis_clean
):
    cap("provider", "1.00", provider=catalog["ok"].provider)
    other_key = GatewayKeyFactory(use_case=cast.use_case_b, created_by=cast.owner)

    assert ask(gateway_key, estimated_cost="0.60").json()["decision"] == "allow"
    # Another of the provider's models, from another use case: the same cap.
    past = ask(other_key, model="openai/gpt-big", estimated_cost="0.60").json()
    other = ask(gateway_key, model="anthropic/claude-mid", estimated_cost="5.00").json()

    assert (past["decision"], past["reason"]) == ("deny", "budget_exhausted")
    assert other["decision"] == "allow"
    assert other["limits"]["spend_caps"] == []


def test_usage_settles_only_on_the_cap_of_its_model_and_provider(
    cast, gateway_key, catalog, claude, redis_clean, django_capture_on_commit_callbacks
):
    mini = cap("model", "5.00", model=catalog["ok"])
    openai = cap("provider", "5.00", provider=catalog["ok"].provider)
    anthropic = cap("provider", "5.00", provider=claude.provider)
    ask(gateway_key, estimated_cost="1.00", request_id="r1")
    ask(gateway_key, model="anthropic/claude-mid", estimated_cost="1.00", request_id="r2")

    stored = report(
        gateway_key,
        event("r1", cost="0.75"),
        event("r2", cost="0.25", model="anthropic/claude-mid"),
        capture=django_capture_on_commit_callbacks,
    )

    assert stored.status_code == 200, stored.content
    assert counter(redis_clean, mini) == {"spent": "750000", "reserved": "0"}
    assert counter(redis_clean, openai) == {"spent": "750000", "reserved": "0"}
    assert counter(redis_clean, anthropic) == {"spent": "250000", "reserved": "0"}


@pytest.mark.parametrize("scope", ["model", "provider"])
def test_a_counter_rebuilt_counts_rolled_and_pending_days_of_its_model_only(
    cast, gateway_key, catalog, claude, redis_clean, django_capture_on_commit_callbacks, scope
):
    """0.80 rolled up and 0.70 not yet, on the capped model; 0.50 on another provider's model
    that the cap must not count. Redis loses everything: the rebuilt counter holds 1.50."""
    target = {"model": catalog["ok"]} if scope == "model" else {"provider": catalog["ok"].provider}
    budget = cap(scope, "2.00", **target)
    report(gateway_key, event("a", cost="0.80"), capture=django_capture_on_commit_callbacks)
    report(
        gateway_key,
        event("x", cost="0.50", model="anthropic/claude-mid"),
        capture=django_capture_on_commit_callbacks,
    )
    usage_rollups_catch_up()
    report(gateway_key, event("b", cost="0.70"), capture=django_capture_on_commit_callbacks, rollups=False)

    redis_clean.client.delete(*gw_keys(redis_clean.client))
    answer = ask(gateway_key, estimated_cost="0.60").json()

    assert (answer["decision"], answer["reason"]) == ("deny", "budget_exhausted")
    assert counter(redis_clean, budget)["spent"] == "1500000"
    assert ask(gateway_key, model="anthropic/claude-mid", estimated_cost="0.60").json()["decision"] == "allow"
    assert gateway_caps_reconcile()["corrections"] == 0


def test_reconciliation_lifts_a_false_block_on_a_provider_cap(cast, gateway_key, catalog, redis_clean):
    budget = cap("provider", "1.00", provider=catalog["ok"].provider)
    assert ask(gateway_key, estimated_cost="0.10").json()["decision"] == "allow"
    key = f"gw:cap:b{budget.pk}:{timezone.now().date().replace(day=1):%Y%m%d}"
    redis_clean.client.hset(key, "spent", 5_000_000)  # drifted above the ledger
    assert ask(gateway_key, estimated_cost="0.10").json()["reason"] == "budget_exhausted"

    done = gateway_caps_reconcile()

    assert done["corrections"] == 1
    assert ask(gateway_key, estimated_cost="0.10").json()["decision"] == "allow"


def test_finance_saves_model_and_provider_hard_caps(cast, catalog):
    model = budget_services.budget_save(
        actor=cast.finance,
        values={"name": "Mini", "scope": "model", "model": catalog["ok"], "amount": Decimal("10"),
                "mode": "hard_cap"},
    )  # fmt: skip
    created = token_client(cast.finance).post(
        "/api/v1/budgets/",
        {"name": "OpenAI cap", "scope": "provider", "provider": "openai", "period": "monthly",
         "amount": "5", "currency": "USD", "mode": "hard_cap"},
        format="json",
    )  # fmt: skip

    assert (model.scope, model.mode) == ("model", "hard_cap")
    assert created.status_code == 201, created.content
    assert created.json()["mode"] == "hard_cap"
