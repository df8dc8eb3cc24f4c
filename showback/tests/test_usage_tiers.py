"""Usage events at their service tier and with their cache writes: costed at the price book's price
of that tier (falling back to standard), cache writes at the cache-write price, counted in the
telemetry and the gateway's spend, and re-costed at their own tier."""

import datetime
import uuid
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aifinops.core import periods
from portfolio.models import PriceBookEntry
from portfolio.services.prices import price_add
from showback.models import SpendRecord, UsageEvent, UsageHourly

from .gateway_helpers import bearer, event, iso

pytestmark = pytest.mark.django_db

URL = "/api/v1/usage-events/"
MILLION = Decimal(1_000_000)
TIERS = ("standard", "batch", "priority", "flex")


def _ago(days):
    return periods.today() - datetime.timedelta(days=days)


def _when(days_ago):
    return iso(
        datetime.datetime.combine(_ago(days_ago), datetime.time(9), tzinfo=datetime.UTC) if days_ago else None
    )


def _price(model, *, tier="standard", kind="list", days_ago=30, inp, out, read=None, write=None):
    return PriceBookEntry.objects.create(
        model=model,
        kind=kind,
        tier=tier,
        effective_from=_ago(days_ago),
        input_price_per_mtok=Decimal(inp),
        output_price_per_mtok=Decimal(out),
        cache_read_price_per_mtok=None if read is None else Decimal(read),
        cache_write_price_per_mtok=None if write is None else Decimal(write),
    )


def _post(client, events):
    answer = client.post(URL, {"events": events}, format="json")
    assert answer.status_code == 200, answer.content
    return answer.json()


TOKENS = {"input_tokens": 1000, "cached_tokens": 4000, "cache_write_tokens": 2000, "output_tokens": 500}


def test_a_batch_event_costs_the_batch_price_and_flex_falls_back_to_standard(
    cast, catalog, gateway_key, redis_clean, django_capture_on_commit_callbacks
):
    # Given a book with a standard price (cache reads 0.2, writes 2.5) and a batch price at half
    model = catalog["ok"]
    _price(model, inp="2", out="8", read="0.2", write="2.5")
    _price(model, tier="batch", inp="1", out="4", read="0.1", write="1.25")

    # When a gateway reports a call at each tier, in OpenAI's names too
    with django_capture_on_commit_callbacks(execute=True):
        answer = _post(
            bearer(gateway_key.raw),
            [
                event("std", **TOKENS),
                event("batch", service_tier="batch", **TOKENS),
                event("flex", service_tier="flex", **TOKENS),
                event("openai-default", service_tier="default", **TOKENS),
                event("openai-scale", service_tier="scale", **TOKENS),
            ],
        )

    # Then the batch call is costed at the batch prices, the others at the standard ones,
    # cache writes at the cache-write price (not as input)
    standard = (1000 * 2 + 4000 * Decimal("0.2") + 2000 * Decimal("2.5") + 500 * 8) / MILLION
    batch = (1000 * 1 + 4000 * Decimal("0.1") + 2000 * Decimal("1.25") + 500 * 4) / MILLION
    costs = {e["request_id"]: Decimal(e["cost"]) for e in answer["events"]}
    assert costs == {
        "std": standard,
        "batch": batch,
        "flex": standard,
        "openai-default": standard,
        "openai-scale": standard,
    }
    stored = dict(UsageEvent.objects.values_list("request_id", "service_tier"))
    assert stored == {
        "std": "standard",
        "batch": "batch",
        "flex": "flex",
        "openai-default": "standard",
        "openai-scale": "priority",
    }
    assert set(UsageEvent.objects.values_list("cache_write_tokens", flat=True)) == {2000}
    # And the cache writes are counted in the telemetry and the gateway's spend
    hourly = UsageHourly.objects.get(use_case=cast.use_case_a)
    assert (hourly.cached_tokens, hourly.cache_write_tokens) == (20_000, 10_000)
    record = SpendRecord.objects.get(source="gateway", use_case=cast.use_case_a)
    assert record.cached_tokens == 5 * (4000 + 2000)
    assert record.quantity == 5 * (1000 + 4000 + 2000 + 500)
    assert record.effective_cost == 4 * standard + batch


def test_a_priority_price_costs_priority_calls_and_scale_is_priority(cast, catalog, gateway_key, redis_clean):
    model = catalog["ok"]
    _price(model, inp="2", out="8")
    _price(model, tier="priority", inp="3.5", out="14")

    answer = _post(
        bearer(gateway_key.raw),
        [event("p", service_tier="priority"), event("s", service_tier="scale"), event("d")],
    )

    priority = (1000 * Decimal("3.5") + 500 * 14) / MILLION
    assert [Decimal(e["cost"]) for e in answer["events"]] == [priority, priority, Decimal("0.006")]


def test_without_a_cache_write_price_writes_cost_the_input_price(cast, catalog, gateway_key, redis_clean):
    answer = _post(
        bearer(gateway_key.raw), [event("w", input_tokens=0, cache_write_tokens=1000, output_tokens=0)]
    )

    assert answer["events"][0]["cost"] == "0.002000"  # the catalog's $2 input price


def _independent_cost(rows, model, *, tier, day, tokens):
    """The price in force worked out here: the rows of the event's tier (else standard) in force
    on the day, negotiated before list, then the latest; else the catalog's fields."""

    def pick(of_tier):
        eligible = [r for r in rows if r["tier"] == of_tier and r["effective_from"] <= day]
        eligible.sort(key=lambda r: (r["kind"] == "negotiated", r["effective_from"]))
        return eligible[-1] if eligible else None

    row = pick(tier) or pick("standard")
    if row is None:
        inp, out, read, write = model.input_price_per_mtok, model.output_price_per_mtok, None, None
    else:
        inp, out, read, write = row["input"], row["output"], row["read"], row["write"]
    read = inp if read is None else read
    write = inp if write is None else write
    uncached, cached, written, output = tokens
    return (uncached * inp + cached * read + written * write + output * out) / MILLION


prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("90"), places=2)
price_rows = st.lists(
    st.fixed_dictionaries(
        {
            "tier": st.sampled_from(TIERS),
            "kind": st.sampled_from(["list", "negotiated"]),
            "days_ago": st.integers(0, 60),
            "input": prices,
            "output": prices,
            "read": st.none() | prices,
            "write": st.none() | prices,
        }
    ),
    max_size=8,
)
events = st.lists(
    st.tuples(
        st.sampled_from([*TIERS, None]),
        st.integers(0, 45),
        st.tuples(*[st.integers(0, 2_000_000)] * 4),
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=price_rows, calls=events)
def test_events_are_costed_at_their_tier_as_an_independent_computation_says(
    cast, catalog, gateway_key, redis_clean, rows, calls
):
    # Given random price rows per tier (one per model, kind, tier and day, as the book allows)
    model = catalog["ok"]
    PriceBookEntry.objects.filter(model=model).delete()
    kept = {}
    for row in rows:
        kept[(row["kind"], row["tier"], row["days_ago"])] = row
    book = []
    for row in kept.values():
        _price(
            model,
            tier=row["tier"],
            kind=row["kind"],
            days_ago=row["days_ago"],
            inp=row["input"],
            out=row["output"],
            read=row["read"],
            write=row["write"],
        )
        book.append({**row, "effective_from": _ago(row["days_ago"])})

    # When random calls are reported at random tiers and days
    batch = []
    for tier, days_ago, tokens in calls:
        uncached, cached, written, output = tokens
        fields = {
            "timestamp": _when(days_ago),
            "input_tokens": uncached,
            "cached_tokens": cached,
            "cache_write_tokens": written,
            "output_tokens": output,
        }
        if tier is not None:
            fields["service_tier"] = tier
        batch.append(event(uuid.uuid4().hex, **fields))
    answer = _post(bearer(gateway_key.raw), batch)

    # Then each stored cost is the independent computation's, to the last decimal
    stored = {
        e.request_id: e for e in UsageEvent.objects.filter(request_id__in=[b["request_id"] for b in batch])
    }
    for sent, (tier, _days_ago, tokens) in zip(batch, calls, strict=True):
        e = stored[sent["request_id"]]
        expected = _independent_cost(
            book, model, tier=tier or "standard", day=e.occurred_at.date(), tokens=tokens
        )
        assert e.cost == expected
        assert e.service_tier == (tier or "standard")
    assert answer["stored"] == len(batch)


def test_recosting_keeps_each_events_tier_and_cache_writes(
    cast, catalog, gateway_key, redis_clean, django_capture_on_commit_callbacks
):
    # Given a standard and a batch event of six days ago, costed at the catalog's $2 / $8
    model = catalog["ok"]
    with django_capture_on_commit_callbacks(execute=True):
        _post(
            bearer(gateway_key.raw),
            [
                event("std", timestamp=_when(6), **TOKENS),
                event("batch", timestamp=_when(6), service_tier="batch", **TOKENS),
            ],
        )

    # When a negotiated batch price in force from ten days ago is added
    with django_capture_on_commit_callbacks(execute=True):
        price_add(
            actor=cast.admin,
            model=model,
            effective_from=_ago(10),
            kind="negotiated",
            tier="batch",
            input_price_per_mtok=Decimal("1"),
            output_price_per_mtok=Decimal("4"),
            cache_read_price_per_mtok=Decimal("0.1"),
            cache_write_price_per_mtok=Decimal("1.25"),
        )

    # Then the batch event is re-costed at it, writes at its cache-write price; the standard one is not
    costs = dict(UsageEvent.objects.values_list("request_id", "cost"))
    catalog_cost = (1000 * 2 + 4000 * 2 + 2000 * 2 + 500 * 8) / MILLION
    batch = (1000 * 1 + 4000 * Decimal("0.1") + 2000 * Decimal("1.25") + 500 * 4) / MILLION
    assert costs == {"std": catalog_cost, "batch": batch}
    assert dict(UsageEvent.objects.values_list("request_id", "service_tier")) == {
        "std": "standard",
        "batch": "batch",
    }
    record = SpendRecord.objects.get(source="gateway", use_case=cast.use_case_a)
    assert record.effective_cost == catalog_cost + batch
