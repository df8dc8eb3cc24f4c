"""A price of the book in force from a past day re-costs the gateway's estimated usage."""

import datetime
import json
from collections import defaultdict
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from aifinops.core import periods
from aifinops.core.models import AuditEvent
from portfolio.services.prices import price_add
from showback.gateway.recost import usage_recost
from showback.models import DailySpend, SpendRecord, UsageEvent, UsageHourly

from .gateway_helpers import bearer, event, iso

pytestmark = pytest.mark.django_db

URL = "/api/v1/usage-events/"
MILLION = Decimal(1_000_000)


def _at(days_ago, hour=10):
    day = periods.today() - datetime.timedelta(days=days_ago)
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=datetime.UTC)


@pytest.fixture
def usage(cast, catalog, gateway_key, redis_clean, django_capture_on_commit_callbacks):
    """Computed events 20, 6 and 2 days ago and now (one with a customer), and one the gateway
    costed itself, all through the usage API; rollups built."""
    now = timezone.now()
    events = [
        event("old", timestamp=iso(_at(20)), input_tokens=3000, output_tokens=1000),
        event("mid", timestamp=iso(_at(6)), input_tokens=2000, output_tokens=500, cached_tokens=1000),
        event("new", timestamp=iso(_at(2, hour=3)), input_tokens=1000, output_tokens=2000, customer="acme"),
        event("now", timestamp=iso(now - datetime.timedelta(minutes=1)), input_tokens=500, output_tokens=500),
        event("given", timestamp=iso(_at(2)), cost="0.5"),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        answer = bearer(gateway_key.raw).post(URL, {"events": events}, format="json")
    assert answer.status_code == 200, answer.content
    return catalog["ok"]


def _from_scratch(days_ago_cutoff):
    """Each computed event's cost as it should be: $2/$8 before the cutoff, $1/$4 from it (cache
    reads at the input price), computed here from the tokens."""
    cutoff = periods.today() - datetime.timedelta(days=days_ago_cutoff)
    expected = {}
    for e in UsageEvent.objects.filter(cost_computed=True):
        inp, out = (Decimal(1), Decimal(4)) if e.occurred_at.date() >= cutoff else (Decimal(2), Decimal(8))
        expected[e.request_id] = ((e.input_tokens + e.cached_tokens) * inp + e.output_tokens * out) / MILLION
    return expected


def test_a_negotiated_price_from_a_past_day_recosts_events_spend_rollups_and_telemetry(cast, usage):
    since = _at(6, hour=0)
    looked_at = UsageEvent.objects.filter(cost_computed=True, occurred_at__gte=since)
    before_total = looked_at.aggregate(t=Sum("cost"))["t"]

    change = price_add(
        actor=cast.admin,
        model=usage,
        kind="negotiated",
        effective_from=periods.today() - datetime.timedelta(days=6),
        input_price_per_mtok=Decimal("1"),
        output_price_per_mtok=Decimal("4"),
    )

    expected = _from_scratch(6)
    costs = dict(UsageEvent.objects.values_list("request_id", "cost"))
    assert {k: costs[k] for k in expected} == expected
    assert costs["old"] == Decimal("0.014")  # before the negotiated price: untouched
    assert costs["given"] == Decimal("0.5")  # the gateway's own figure: never re-costed
    total = sum(costs.values())
    assert change.recosting.events == 3
    assert change.recosting.before == {"USD": before_total}
    assert change.recosting.after == {"USD": looked_at.aggregate(t=Sum("cost"))["t"]}
    # The spend records hold, per key, the sum of their events' costs.
    per_day = defaultdict(Decimal)
    for e in UsageEvent.objects.all():
        per_day[e.occurred_at.date()] += e.cost
    records = defaultdict(Decimal)
    for r in SpendRecord.objects.filter(source="gateway"):
        records[r.charge_period_start.date()] += r.effective_cost
        assert r.list_cost == r.effective_cost
    assert records == per_day
    assert DailySpend.objects.aggregate(t=Sum("estimated_cost"))["t"] == total
    assert UsageHourly.objects.aggregate(t=Sum("cost"))["t"] == total
    audit = AuditEvent.objects.get(action="ai_model.recost", object_id=str(usage.pk))
    assert audit.after["events"] == 3
    assert audit.before["estimated"] == {"USD": str(before_total)}


def test_recosting_twice_changes_nothing_the_second_time(cast, usage):
    price_add(
        actor=cast.admin,
        model=usage,
        kind="negotiated",
        effective_from=periods.today() - datetime.timedelta(days=6),
        input_price_per_mtok=Decimal("1"),
        output_price_per_mtok=Decimal("4"),
    )
    costs = dict(UsageEvent.objects.values_list("request_id", "cost"))
    daily = list(DailySpend.objects.order_by("id").values_list("date", "estimated_cost"))

    again = usage_recost(None, model=usage, since=periods.today() - datetime.timedelta(days=30))

    assert again["events"] == 0
    assert again["before"] == again["after"]
    assert dict(UsageEvent.objects.values_list("request_id", "cost")) == costs
    assert sorted(DailySpend.objects.values_list("date", "estimated_cost")) == sorted(daily)
    assert AuditEvent.objects.filter(action="ai_model.recost").count() == 1


def test_a_future_price_recosts_nothing_and_the_gateway_charges_with_todays_price(
    cast, usage, gateway_key, redis_clean
):
    price_add(
        actor=cast.admin,
        model=usage,
        effective_from=periods.today() + datetime.timedelta(days=3),
        input_price_per_mtok=Decimal("100"),
        output_price_per_mtok=Decimal("100"),
    )
    price_add(
        actor=cast.admin,
        model=usage,
        kind="negotiated",
        effective_from=periods.today(),
        input_price_per_mtok=Decimal("1"),
        output_price_per_mtok=Decimal("1"),
    )

    answer = bearer(gateway_key.raw).post(URL, {"events": [event("later")]}, format="json")

    assert answer.json()["events"][0]["cost"] == "0.001500"  # 1000 in + 500 out at $1
    assert AuditEvent.objects.filter(action="ai_model.recost").count() == 1  # today's, not the future one


def test_the_reconciliation_names_the_price_that_costed_each_estimate(cast, usage, login):
    price_add(
        actor=cast.admin,
        model=usage,
        kind="negotiated",
        effective_from=periods.today(),
        input_price_per_mtok=Decimal("1"),
        output_price_per_mtok=Decimal("4"),
    )

    page = login(cast.finance).get(reverse("showback:reconciliation"))

    assert page.status_code == 200
    text = page.content.decode()
    assert f"negotiated price, standard tier, from {periods.today():%-d %b %Y}" in text
    assert "GPT mini" in text


def test_a_negotiated_price_recosts_the_usage_only_rows_of_an_import(cast, tmp_path):
    import io

    from django.core.management import call_command

    from portfolio.tests.factories import AIModelFactory, ProviderFactory
    from showback.ingest.recost import spend_estimates_recost

    model = AIModelFactory(
        provider=ProviderFactory(slug="anthropic", name="Anthropic"), key="claude-sonnet-4"
    )
    day = periods.today() - datetime.timedelta(days=5)
    path = tmp_path / "usage.json"
    result = {
        "uncached_input_tokens": 1000000,
        "cache_read_input_tokens": 2000000,
        "cache_creation": {"ephemeral_5m_input_tokens": 3000000, "ephemeral_1h_input_tokens": 0},
        "output_tokens": 4000000,
        "model": "claude-sonnet-4",
        "workspace_id": "wrk_1",
    }
    bucket = {
        "starting_at": f"{day.isoformat()}T00:00:00Z",
        "ending_at": f"{(day + datetime.timedelta(days=1)).isoformat()}T00:00:00Z",
        "results": [result],
    }
    path.write_text(json.dumps({"data": [bucket], "has_more": False}))
    call_command("import_spend", str(path), "--format", "anthropic_usage", stdout=io.StringIO())
    records = SpendRecord.objects.filter(is_estimated=True)
    # The catalog's $2 / $8, cache reads and writes at the input price: (1 + 2 + 3) x 2 + 4 x 8.
    assert records.aggregate(t=Sum("effective_cost"))["t"] == Decimal("44")

    change = price_add(
        actor=cast.admin,
        model=model,
        kind="negotiated",
        effective_from=day - datetime.timedelta(days=1),
        input_price_per_mtok=Decimal("1"),
        output_price_per_mtok=Decimal("5"),
        cache_read_price_per_mtok=Decimal("0.1"),
        cache_write_price_per_mtok=Decimal("1.25"),
    )

    expected = 1 * Decimal("1") + 2 * Decimal("0.1") + 3 * Decimal("1.25") + 4 * Decimal("5")
    assert records.aggregate(t=Sum("effective_cost"))["t"] == expected
    assert records.aggregate(t=Sum("list_cost"))["t"] == expected
    assert DailySpend.objects.filter(is_estimated=True).aggregate(t=Sum("estimated_cost"))["t"] == expected
    assert (change.recosting.before, change.recosting.after) == ({"USD": Decimal("44")}, {"USD": expected})
    again = spend_estimates_recost(None, model=model, since=day - datetime.timedelta(days=30))
    assert (again["events"], again["after"]) == (0, {"USD": expected})


def test_the_gateway_charges_the_volume_tier_once_the_month_reached_it(
    cast, catalog, gateway_key, redis_clean
):
    model = catalog["ok"]
    for threshold, price in ((0, "2"), (1500, "1")):
        price_add(
            actor=cast.admin,
            model=model,
            effective_from=periods.month_start(periods.today()),
            volume_threshold=threshold,
            input_price_per_mtok=Decimal(price),
            output_price_per_mtok=Decimal(price),
        )
    client = bearer(gateway_key.raw)

    first = client.post(URL, {"events": [event("v1")]}, format="json")  # 1,500 tokens: the month had 0
    second = client.post(URL, {"events": [event("v2")]}, format="json")  # the month had 1,500

    assert first.json()["events"][0]["cost"] == "0.003000"
    assert second.json()["events"][0]["cost"] == "0.001500"
