"""The hard cap holds (issue 14): one money rule, reservations that only grow through the cap check,
no Redis arithmetic on zero, reservations that survive the loss of Redis, and the reconciliation of
the counters with the ledger. Against the real Redis and PostgreSQL of `make test`."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from aifinops.core.models import AuditEvent
from showback.fx import exchange_rate_record, rate_for
from showback.gateway.authorize import AuthorizeRequest, GatewayPrincipal, authorize
from showback.gateway.caps import gateway_caps_reconcile
from showback.models import CapCorrection, DailySpend, ExchangeRate, GatewayReservation

from .gateway_helpers import bearer, event, gw_keys, hard_cap

pytestmark = pytest.mark.django_db

URL = "/api/v1/authorize/"
USAGE_URL = "/api/v1/usage-events/"


def ask(key, **body):
    body.setdefault("model", "openai/gpt-mini")
    return bearer(key.raw).post(URL, body, format="json")


def principal(key):
    return GatewayPrincipal(key_id=key.pk, use_case_id=key.use_case_id, agent=key.agent)


def counter(redis, budget):
    start = timezone.now().date().replace(day=1)
    return redis.client.hgetall(f"gw:cap:b{budget.pk}:{start:%Y%m%d}")


def eur_rate(actor, rate="1.10", days_ago=1):
    return exchange_rate_record(
        actor=actor,
        base="EUR",
        quote="USD",
        rate=Decimal(rate),
        valid_from=timezone.now().date() - datetime.timedelta(days=days_ago),
        source="ECB reference rate",
    )


# One money rule: a cap's currency is its budget's.


def test_an_estimate_in_another_currency_is_converted_at_the_recorded_rate(cast, gateway_key, redis_clean):
    budget = hard_cap(cast.use_case_a, "10.00")
    eur_rate(cast.finance, "1.10")

    body = ask(gateway_key, estimated_cost="2.00", currency="EUR", request_id="eur-1").json()

    assert body["decision"] == "allow"
    assert body["conversions"] == [
        {"cap": budget.name, "from": "EUR", "to": "USD", "rate": "1.1000000000", "amount": "2.200000"}
    ]
    assert body["remaining_budget"] == {"amount": "7.800000", "currency": "USD"}
    assert counter(redis_clean, budget)["reserved"] == "2200000"


def test_a_large_estimate_in_another_currency_cannot_slip_past_the_cap(cast, gateway_key, redis_clean):
    budget = hard_cap(cast.use_case_a, "10.00")
    eur_rate(cast.finance, "1.10")
    ask(gateway_key, estimated_cost="9.75")

    body = ask(gateway_key, estimated_cost="1000", currency="EUR").json()

    assert (body["decision"], body["reason"]) == ("deny", "budget_exhausted")
    assert counter(redis_clean, budget)["reserved"] == "9750000"


def test_without_a_rate_an_estimate_in_another_currency_is_refused_naming_the_field(
    cast, gateway_key, redis_clean
):
    budget = hard_cap(cast.use_case_a, "10.00")

    response = ask(gateway_key, estimated_cost="1000", currency="EUR")

    assert response.status_code == 400
    message = response.json()["error"]["fields"]["currency"][0]
    assert "No exchange rate from EUR to USD" in message
    assert counter(redis_clean, budget) == {}
    assert not GatewayReservation.objects.filter(use_case=cast.use_case_a).exists()


@pytest.mark.parametrize("code", ["ZZZ", "XXX", "usd1", "€€€"])
def test_an_unknown_or_invalid_currency_is_refused_naming_the_field(cast, gateway_key, redis_clean, code):
    hard_cap(cast.use_case_a, "10.00")

    response = ask(gateway_key, estimated_cost="1000", currency=code)

    assert response.status_code == 400
    assert "currency" in response.json()["error"]["fields"]


def test_an_unknown_currency_is_refused_even_without_a_cap(cast, gateway_key, redis_clean):
    with pytest.raises(ValidationError) as caught:
        authorize(
            principal=principal(gateway_key),
            req=AuthorizeRequest(model="openai/gpt-mini", estimated_cost=Decimal("1"), currency="ZZZ"),
        )
    assert "currency" in caught.value.message_dict


def test_a_negative_estimate_is_refused_naming_the_field(cast, gateway_key, redis_clean):
    hard_cap(cast.use_case_a, "10.00")

    response = ask(gateway_key, estimated_cost="-5")
    with pytest.raises(ValidationError) as caught:
        authorize(
            principal=principal(gateway_key),
            req=AuthorizeRequest(model="openai/gpt-mini", estimated_cost=Decimal("-5")),
        )

    assert response.status_code == 400
    assert "estimated_cost" in response.json()["error"]["fields"]
    assert "estimated_cost" in caught.value.message_dict


def test_the_rate_of_the_day_is_used_and_the_inverse_pair_serves(cast):
    today = timezone.now().date()
    exchange_rate_record(
        actor=cast.finance, base="USD", quote="EUR", rate=Decimal("0.80"), valid_from=today, source="test"
    )
    exchange_rate_record(
        actor=cast.finance,
        base="USD",
        quote="EUR",
        rate=Decimal("0.90"),
        valid_from=today - datetime.timedelta(days=10),
        source="test",
    )

    assert rate_for("EUR", "USD", today) == Decimal("1.25")
    assert rate_for("USD", "EUR", today - datetime.timedelta(days=3)) == Decimal("0.90")
    assert rate_for("USD", "EUR", today - datetime.timedelta(days=30)) is None
    assert AuditEvent.objects.filter(action="exchange_rate.record", actor=cast.finance).count() == 2


def test_a_rate_is_refused_for_unknown_codes_or_a_rate_not_above_zero(cast):
    with pytest.raises(ValidationError) as caught:
        exchange_rate_record(
            actor=cast.finance,
            base="ZZZ",
            quote="USD",
            rate=Decimal("0"),
            valid_from=timezone.now().date(),
            source="",
        )
    assert set(caught.value.message_dict) == {"base", "rate"}
    assert not ExchangeRate.objects.exists()


# A request id's reservation only grows through the cap check.


def test_re_authorizing_a_request_with_a_larger_estimate_goes_through_the_cap_check(
    cast, gateway_key, redis_clean
):
    budget = hard_cap(cast.use_case_a, "1.00")
    assert ask(gateway_key, estimated_cost="0.01", request_id="grow").json()["decision"] == "allow"

    too_big = ask(gateway_key, estimated_cost="5.00", request_id="grow").json()
    grown = ask(gateway_key, estimated_cost="0.60", request_id="grow").json()
    retried = ask(gateway_key, estimated_cost="0.60", request_id="grow").json()
    smaller = ask(gateway_key, estimated_cost="0.10", request_id="grow").json()

    assert (too_big["decision"], too_big["reason"]) == ("deny", "budget_exhausted")
    assert grown["decision"] == "allow"
    assert grown["remaining_budget"]["amount"] == "0.400000"
    assert retried["reason"] == "already_reserved"
    assert smaller["reason"] == "already_reserved"
    assert counter(redis_clean, budget)["reserved"] == "600000"
    row = GatewayReservation.objects.get(reservation_id="grow")
    assert row.amount_micro == 600_000


def test_a_request_re_authorized_after_its_reservation_expired_is_counted_again(
    cast, gateway_key, redis_clean, settings
):
    budget = hard_cap(cast.use_case_a, "1.00")
    who = principal(gateway_key)
    now = int(timezone.now().timestamp() * 1000)
    req = AuthorizeRequest(model="openai/gpt-mini", estimated_cost=Decimal("0.70"), request_id="late")
    authorize(principal=who, req=req, now_ms=now)

    later = now + settings.AIFINOPS_RESERVATION_TTL_SECONDS * 1000 + 1
    again = authorize(principal=who, req=req, now_ms=later)

    assert again["decision"] != "deny"
    assert again["reason"] != "already_reserved"
    assert counter(redis_clean, budget)["reserved"] == "700000"


# Zero and negative amounts never reach Redis arithmetic that can fail.


def test_a_call_without_an_estimate_expires_without_breaking_the_use_case(
    cast, gateway_key, redis_clean, settings
):
    budget = hard_cap(cast.use_case_a, "1.00")
    who = principal(gateway_key)
    now = int(timezone.now().timestamp() * 1000)
    first = authorize(
        principal=who, req=AuthorizeRequest(model="openai/gpt-mini", request_id="zero"), now_ms=now
    )

    later = now + settings.AIFINOPS_RESERVATION_TTL_SECONDS * 1000 + 1
    after = authorize(
        principal=who,
        req=AuthorizeRequest(model="openai/gpt-mini", estimated_cost=Decimal("0.10"), request_id="next"),
        now_ms=later,
    )

    assert first["decision"] == "allow"
    assert (after["decision"], after["reason"]) == ("allow", "ok")
    assert counter(redis_clean, budget)["reserved"] == "100000"


def test_settling_a_zero_cost_event_keeps_the_use_case_usable(
    cast, gateway_key, redis_clean, django_capture_on_commit_callbacks
):
    budget = hard_cap(cast.use_case_a, "1.00")
    assert ask(gateway_key, request_id="free").json()["decision"] == "allow"

    with django_capture_on_commit_callbacks(execute=True):
        stored = bearer(gateway_key.raw).post(
            USAGE_URL, {"events": [event("free", input_tokens=0, output_tokens=0, cost="0")]}, format="json"
        )
    body = ask(gateway_key, estimated_cost="0.10").json()

    assert stored.status_code == 200
    assert (body["decision"], body["reason"]) == ("allow", "ok")
    assert counter(redis_clean, budget) == {"spent": "0", "reserved": "100000"}


# Usage in another currency is counted against the cap.


def test_a_usage_event_in_another_currency_is_counted_converted(
    cast, gateway_key, redis_clean, django_capture_on_commit_callbacks
):
    budget = hard_cap(cast.use_case_a, "10.00")
    eur_rate(cast.finance, "1.10")
    ask(gateway_key, estimated_cost="1.00", currency="EUR", request_id="eu")

    with django_capture_on_commit_callbacks(execute=True):
        stored = bearer(gateway_key.raw).post(
            USAGE_URL, {"events": [event("eu", cost="2.00", currency="EUR")]}, format="json"
        )

    assert stored.status_code == 200
    assert counter(redis_clean, budget) == {"spent": "2200000", "reserved": "0"}
    assert not GatewayReservation.objects.filter(reservation_id="eu").exists()
    # The ledger agrees: a reconciliation finds nothing to correct.
    assert gateway_caps_reconcile()["corrections"] == 0
    assert counter(redis_clean, budget)["spent"] == "2200000"


# Counters survive the loss of Redis.


def test_open_reservations_survive_the_loss_of_redis(cast, gateway_key, redis_clean):
    """$10 left, 40 calls of $0.25 reserved; Redis loses everything; not one more call fits."""
    budget = hard_cap(cast.use_case_a, "10.00")
    for i in range(40):
        assert ask(gateway_key, estimated_cost="0.25", request_id=f"r{i}").json()["decision"] != "deny"

    redis_clean.client.delete(*gw_keys(redis_clean.client))
    answers = [ask(gateway_key, estimated_cost="0.25", request_id=f"s{i}").json() for i in range(39)]

    assert {a["reason"] for a in answers} == {"budget_exhausted"}
    assert counter(redis_clean, budget) == {"spent": "0", "reserved": "10000000"}


def test_a_rebuilt_counter_releases_a_reservation_when_its_usage_arrives(
    cast, gateway_key, redis_clean, django_capture_on_commit_callbacks
):
    budget = hard_cap(cast.use_case_a, "1.00")
    ask(gateway_key, estimated_cost="0.90", request_id="held")
    redis_clean.client.delete(*gw_keys(redis_clean.client))
    ask(gateway_key, estimated_cost="0.50", request_id="other")  # denied: rebuilds the counter

    with django_capture_on_commit_callbacks(execute=True):
        bearer(gateway_key.raw).post(USAGE_URL, {"events": [event("held", cost="0.30")]}, format="json")

    assert counter(redis_clean, budget) == {"spent": "300000", "reserved": "0"}
    assert ask(gateway_key, estimated_cost="0.50").json()["decision"] != "deny"


# The counters against the ledger.


def test_reconciliation_corrects_a_counter_below_the_ledger_and_records_it(cast, gateway_key, redis_clean):
    budget = hard_cap(cast.use_case_a, "10.00")
    ask(gateway_key, estimated_cost="0.50", request_id="a")
    DailySpend.objects.create(
        date=timezone.now().date(), use_case=cast.use_case_a, team=cast.team_a, effective_cost=Decimal("9.00")
    )  # a bill arrives

    done = gateway_caps_reconcile()

    assert done == {"caps": 1, "corrections": 1}
    assert counter(redis_clean, budget) == {"spent": "9000000", "reserved": "500000"}
    correction = CapCorrection.objects.get()
    assert (correction.budget, correction.drift, correction.currency) == (budget, Decimal("9"), "USD")
    assert AuditEvent.objects.filter(action="gateway.cap_corrected", object_id=str(correction.pk)).exists()
    assert ask(gateway_key, estimated_cost="0.60").json()["reason"] == "budget_exhausted"


def test_reconciliation_lifts_a_false_block_within_one_run(cast, gateway_key, redis_clean, settings):
    budget = hard_cap(cast.use_case_a, "1.00")
    assert ask(gateway_key, estimated_cost="0.10").json()["decision"] == "allow"
    key = f"gw:cap:b{budget.pk}:{timezone.now().date().replace(day=1):%Y%m%d}"
    redis_clean.client.hset(key, "spent", 5_000_000)  # drifted above the ledger
    zkey = key.replace("gw:cap:", "gw:capz:")
    now = int(timezone.now().timestamp() * 1000)
    redis_clean.client.zadd(zkey, {"ghost": now + 1000})  # a reservation the database never had
    redis_clean.client.hset(key.replace("gw:cap:", "gw:capa:"), "ghost", 800_000)
    redis_clean.client.hincrby(key, "reserved", 800_000)
    assert ask(gateway_key, estimated_cost="0.10").json()["reason"] == "budget_exhausted"

    gateway_caps_reconcile()

    assert counter(redis_clean, budget) == {"spent": "0", "reserved": "100000"}
    assert ask(gateway_key, estimated_cost="0.10").json()["decision"] == "allow"
    assert CapCorrection.objects.get().drift == Decimal("-5.8")


def test_reconciliation_keeps_a_reservation_still_being_written(cast, gateway_key, redis_clean):
    budget = hard_cap(cast.use_case_a, "1.00")
    ask(gateway_key, estimated_cost="0.10", request_id="fresh")
    GatewayReservation.objects.all().delete()  # as if its INSERT had not landed yet

    gateway_caps_reconcile()

    assert counter(redis_clean, budget)["reserved"] == "100000"


def test_the_budget_page_shows_the_last_reconciliation_and_its_drift(client, cast, gateway_key, redis_clean):
    budget = hard_cap(cast.use_case_a, "10.00")
    ask(gateway_key, estimated_cost="0.50")
    DailySpend.objects.create(
        date=timezone.now().date(), use_case=cast.use_case_a, team=cast.team_a, effective_cost=Decimal("2.50")
    )
    gateway_caps_reconcile()

    client.force_login(cast.finance)
    page = client.get(f"/showback/budgets/{budget.pk}/").content.decode()

    assert "reconciled with the ledger" in page
    assert "drift +$2.50" in page
