"""Budgets per end customer and per tag value: their validation, their spend, and their hard caps
in POST /api/v1/authorize/ (against the real PostgreSQL and Redis of `make test`)."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from aifinops.core.models import AuditEvent
from showback.budgets import services as budget_services
from showback.budgets.selectors import budget_status
from showback.models import Budget, SpendRecord, UsageEvent
from showback.rollups import daily_spend_rebuild

from .budget_factories import BudgetFactory
from .gateway_helpers import GatewayKeyFactory, bearer, event, hard_cap

pytestmark = pytest.mark.django_db

URL = "/api/v1/authorize/"


def customer_cap(customer, amount, **kwargs):
    return BudgetFactory(
        scope="customer", customer=customer, mode="hard_cap", amount=Decimal(amount), **kwargs
    )


def tag_cap(key, value, amount, **kwargs):
    return BudgetFactory(
        scope="tag", tag_key=key, tag_value=value, mode="hard_cap", amount=Decimal(amount), **kwargs
    )


def ask(key, **body):
    body.setdefault("model", "openai/gpt-mini")
    return bearer(key.raw).post(URL, body, format="json")


def record(day, cost, **fields):
    start = datetime.datetime.combine(day, datetime.time.min, tzinfo=datetime.UTC)
    return SpendRecord.objects.create(
        source="test",
        source_row_key=f"{day}-{cost}-{fields}",
        charge_period_start=start,
        charge_period_end=start + datetime.timedelta(days=1),
        effective_cost=Decimal(cost),
        billed_cost=Decimal(cost),
        currency="USD",
        is_ai=True,
        **fields,
    )


# Authorization.


def test_a_customer_cap_stops_the_call_that_would_pass_it_while_other_customers_pass(
    cast, gateway_key, redis_clean
):
    customer_cap("acme", "1.00")

    first = ask(gateway_key, estimated_cost="0.70", customer="acme").json()
    past = ask(gateway_key, estimated_cost="0.40", customer="acme").json()
    other = ask(gateway_key, estimated_cost="5.00", customer="globex").json()
    anonymous = ask(gateway_key, estimated_cost="5.00").json()

    assert (first["decision"], past["decision"]) == ("allow", "deny")
    assert past["reason"] == "budget_exhausted"
    assert past["remaining_budget"] == {"amount": "0.300000", "currency": "USD"}
    assert (other["decision"], anonymous["decision"]) == ("allow", "allow")
    # Another customer's cap is not in the answer of a call that does not name it.
    assert other["limits"]["spend_caps"] == []
    assert [c["amount"] for c in first["limits"]["spend_caps"]] == ["1.000000"]


def test_a_customer_cap_counts_the_calls_of_every_use_case(cast, gateway_key, redis_clean):
    customer_cap("acme", "1.00")
    other_key = GatewayKeyFactory(use_case=cast.use_case_b, created_by=cast.owner)

    assert ask(gateway_key, estimated_cost="0.60", customer="acme").json()["decision"] == "allow"
    body = ask(other_key, estimated_cost="0.60", customer="acme").json()

    assert (body["decision"], body["reason"]) == ("deny", "budget_exhausted")


def test_a_tag_cap_stops_only_the_calls_carrying_its_tag_value(cast, gateway_key, redis_clean):
    tag_cap("feature", "search", "1.00")

    first = ask(gateway_key, estimated_cost="0.70", tags={"feature": "search", "env": "prod"}).json()
    past = ask(gateway_key, estimated_cost="0.40", tags={"feature": "search"}).json()
    other_value = ask(gateway_key, estimated_cost="3.00", tags={"feature": "chat"}).json()
    untagged = ask(gateway_key, estimated_cost="3.00").json()

    assert first["decision"] == "allow"
    assert (past["decision"], past["reason"]) == ("deny", "budget_exhausted")
    assert (other_value["decision"], untagged["decision"]) == ("allow", "allow")


def test_a_call_counts_against_its_use_case_customer_and_tag_caps_together(cast, gateway_key, redis_clean):
    hard_cap(cast.use_case_a, "10.00")
    customer_cap("acme", "5.00")
    tag_cap("feature", "search", "0.50")

    body = ask(gateway_key, estimated_cost="0.60", customer="acme", tags={"feature": "search"}).json()

    assert (body["decision"], body["reason"]) == ("deny", "budget_exhausted")
    assert ask(gateway_key, estimated_cost="0.60", customer="acme").json()["decision"] == "allow"


def test_usage_settles_on_the_customer_and_tag_caps_and_lands_in_their_spend(
    cast, gateway_key, redis_clean, django_capture_on_commit_callbacks
):
    acme = customer_cap("acme", "1.00")
    search = tag_cap("feature", "search", "1.00")
    ask(gateway_key, request_id="r1", estimated_cost="0.50", customer="acme", tags={"feature": "search"})

    with django_capture_on_commit_callbacks(execute=True):
        response = bearer(gateway_key.raw).post(
            "/api/v1/usage-events/",
            {"events": [event("r1", cost="0.70", customer="acme", tags={"feature": "search"})]},
            format="json",
        )

    assert response.status_code in (200, 201, 202), response.content
    stored = UsageEvent.objects.get(request_id="r1")
    assert (stored.customer, stored.tags) == ("acme", {"feature": "search"})
    # The actual 0.70 is spent: 0.30 left on each cap, so 0.40 more is refused on either.
    assert ask(gateway_key, estimated_cost="0.40", customer="acme").json()["decision"] == "deny"
    assert ask(gateway_key, estimated_cost="0.40", tags={"feature": "search"}).json()["decision"] == "deny"
    assert ask(gateway_key, estimated_cost="0.25", customer="acme").json()["decision"] in ("allow", "warn")
    # And the database agrees, for the pages and for rebuilding the counters after a Redis loss.
    assert budget_status(acme).actual == Decimal("0.70")
    assert budget_status(search).actual == Decimal("0.70")


def test_a_lost_counter_is_rebuilt_from_the_customer_and_tag_spend(cast, gateway_key, redis_clean):
    today = timezone.now().date()
    record(today, "0.90", customer="acme", use_case=cast.use_case_a)
    record(today, "0.95", tags={"feature": "search"}, use_case=cast.use_case_a)
    daily_spend_rebuild(start=today, end=today)
    customer_cap("acme", "1.00")
    tag_cap("feature", "search", "1.00")

    assert ask(gateway_key, estimated_cost="0.20", customer="acme").json()["decision"] == "deny"
    assert ask(gateway_key, estimated_cost="0.10", tags={"feature": "search"}).json()["decision"] == "deny"
    assert ask(gateway_key, estimated_cost="0.05", tags={"feature": "search"}).json()["decision"] != "deny"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"customer": "ac\u0000me"}, "customer"),
        ({"customer": "x" * 151}, "customer"),
        ({"customer": 42}, "customer"),
        ({"tags": ["feature"]}, "tags"),
        ({"tags": {"feature": 1}}, "tags"),
        ({"tags": {"feature": {"nested": "x"}}}, "tags"),
        ({"tags": {"k": "v\u0000"}}, "tags"),
        ({"tags": {"": "v"}}, "tags"),
        ({"tags": {"k": "v" * 201}}, "tags"),
        ({"tags": {f"k{i}": "v" for i in range(21)}}, "tags"),
    ],
)
def test_bad_customer_or_tags_are_400_naming_the_field(cast, gateway_key, redis_clean, body, field):
    response = ask(gateway_key, **body)

    assert response.status_code == 400
    assert any(name.startswith(field) for name in response.json()["error"]["fields"])


def test_a_lone_surrogate_in_a_tag_is_400_naming_tags(cast, gateway_key, redis_clean):
    raw = b'{"model": "openai/gpt-mini", "tags": {"feature": "\\ud800"}}'
    response = bearer(gateway_key.raw).generic("POST", URL, raw, content_type="application/json")

    assert response.status_code == 400
    assert "tags" in response.content.decode()


def test_usage_events_with_bad_tags_are_named_by_index_and_field(cast, gateway_key, redis_clean):
    response = bearer(gateway_key.raw).post(
        "/api/v1/usage-events/",
        {"events": [event("ok"), event("bad", tags={"k": 5})]},
        format="json",
    )

    assert response.status_code == 422
    (problem,) = response.json()["error"]["details"]
    assert (problem["index"], problem["field"]) == (1, "tags")
    assert not UsageEvent.objects.exists()


# Budgets: validation, the form and the API.


def test_a_customer_budget_needs_its_customer_and_a_tag_budget_its_key_and_value(cast):
    with pytest.raises(Exception) as customer:
        budget_services.budget_save(
            actor=cast.finance,
            values={"name": "Acme", "scope": "customer", "customer": "  ", "amount": Decimal("10")},
        )
    with pytest.raises(Exception) as tag:
        budget_services.budget_save(
            actor=cast.finance,
            values={"name": "Search", "scope": "tag", "tag_key": "feature", "amount": Decimal("10")},
        )

    assert "customer" in customer.value.message_dict
    assert "tag_value" in tag.value.message_dict
    assert not Budget.objects.exists()


def test_finance_creates_a_customer_hard_cap_on_the_page(login, cast):
    response = login(cast.finance).post(
        reverse("showback:budget_create"),
        {"name": "Acme monthly", "scope": "customer", "customer": "acme", "period": "monthly",
         "amount": "100", "currency": "USD", "mode": "hard_cap", "thresholds": "80, 100", "active": "on"},
    )  # fmt: skip

    assert response.status_code == 302, response.content.decode()[:2000]
    budget = Budget.objects.get()
    assert (budget.scope, budget.customer, budget.mode) == ("customer", "acme", "hard_cap")
    assert AuditEvent.objects.filter(action="budget.create", object_id=str(budget.pk)).exists()
    detail = login(cast.finance).get(reverse("showback:budget_detail", args=[budget.pk]))
    assert "Customer acme" in detail.content.decode()


def test_the_api_creates_a_tag_budget_and_names_a_missing_value(cast):
    from .gateway_helpers import token_client

    client = token_client(cast.finance)
    base = {"name": "Search feature", "scope": "tag", "tag_key": "feature", "amount": "50",
            "mode": "hard_cap", "period": "monthly", "currency": "USD"}  # fmt: skip

    missing = client.post("/api/v1/budgets/", {**base, "tag_value": ""}, format="json")
    created = client.post("/api/v1/budgets/", {**base, "tag_value": "search"}, format="json")

    assert missing.status_code == 400 and "tag_value" in missing.json()["error"]["fields"]
    assert created.status_code == 201, created.content
    assert (created.json()["tag_key"], created.json()["tag_value"]) == ("feature", "search")


def test_reconciliation_lifts_a_false_block_on_a_customer_cap_alone(cast, gateway_key, redis_clean):
    from showback.gateway.caps import gateway_caps_reconcile

    budget = customer_cap("acme", "1.00")
    assert ask(gateway_key, estimated_cost="0.10", customer="acme").json()["decision"] == "allow"
    key = f"gw:cap:b{budget.pk}:{timezone.now().date().replace(day=1):%Y%m%d}"
    redis_clean.client.hset(key, "spent", 5_000_000)  # drifted above the ledger
    assert ask(gateway_key, estimated_cost="0.10", customer="acme").json()["reason"] == "budget_exhausted"

    done = gateway_caps_reconcile()

    assert done["corrections"] == 1
    assert ask(gateway_key, estimated_cost="0.10", customer="acme").json()["decision"] == "allow"
