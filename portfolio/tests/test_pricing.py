"""The price book: which price is in force, what tokens cost at it, and who writes it."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aifinops.core import periods
from aifinops.core.models import AuditEvent
from portfolio.catalog import estimate_monthly_cost
from portfolio.choices import PriceKind, PriceTier
from portfolio.models import PriceBookEntry
from portfolio.pricing import price_pick, usage_cost
from portfolio.selectors import price_in_force
from portfolio.services import model_prices_refresh
from portfolio.services.prices import price_add

from .factories import AIModelFactory, ProviderFactory

pytestmark = pytest.mark.django_db

MILLION = Decimal(1_000_000)
TODAY = periods.today()
BASE = TODAY - datetime.timedelta(days=400)


def brute_force_price(rows, day, tier, volume):
    """The rule spelt out step by step: the tier's rows in force (else the standard tier's), the
    negotiated ones if any, the latest date among them, the highest volume tier reached."""
    for of_tier in [tier] if tier == PriceTier.STANDARD else [tier, PriceTier.STANDARD]:
        live = [
            r for r in rows if r.tier == of_tier and r.effective_from <= day and r.volume_threshold <= volume
        ]
        if not live:
            continue
        pool = [r for r in live if r.kind == PriceKind.NEGOTIATED] or live
        latest = max(r.effective_from for r in pool)
        pool = [r for r in pool if r.effective_from == latest]
        return max(pool, key=lambda r: r.volume_threshold)
    return None


def independent_cost(model, row, *, uncached, cache_read, cache_write, output):
    if row is None:
        inp, out, read, write = (
            model.input_price_per_mtok,
            model.output_price_per_mtok,
            model.cached_input_price_per_mtok,
            None,
        )
    else:
        inp, out = row.input_price_per_mtok, row.output_price_per_mtok
        if (
            row.long_context_threshold is not None
            and uncached + cache_read + cache_write > row.long_context_threshold
        ):
            # A long-context price of 0 is a price (free), not a missing one.
            if row.long_context_input_price_per_mtok is not None:
                inp = row.long_context_input_price_per_mtok
            if row.long_context_output_price_per_mtok is not None:
                out = row.long_context_output_price_per_mtok
        read, write = row.cache_read_price_per_mtok, row.cache_write_price_per_mtok
    read = inp if read is None else read
    write = inp if write is None else write
    total = uncached * inp + cache_read * read + cache_write * write + output * out
    return total / MILLION


prices = st.decimals(min_value=0, max_value=100, places=2)
row_strategy = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(PriceKind.values),
        "tier": st.sampled_from(PriceTier.values),
        "offset": st.integers(min_value=0, max_value=800),
        "volume_threshold": st.sampled_from([0, 0, 1_000, 50_000, 1_000_000]),
        "input_price_per_mtok": prices,
        "output_price_per_mtok": prices,
        "cache_read_price_per_mtok": st.none() | prices,
        "cache_write_price_per_mtok": st.none() | prices,
        "long_context": st.none() | st.integers(min_value=1, max_value=5_000),
        "long_in": prices,
        "long_out": prices,
    }
)
usage_strategy = st.fixed_dictionaries(
    {
        "offset": st.integers(min_value=-10, max_value=810),
        "tier": st.sampled_from(PriceTier.values),
        "volume": st.sampled_from([0, 999, 1_000, 70_000, 5_000_000]),
        "uncached": st.integers(min_value=0, max_value=10_000),
        "cache_read": st.integers(min_value=0, max_value=10_000),
        "cache_write": st.integers(min_value=0, max_value=10_000),
        "output": st.integers(min_value=0, max_value=10_000),
    }
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw_rows=st.lists(row_strategy, max_size=12), usages=st.lists(usage_strategy, min_size=1, max_size=6))
def test_the_price_in_force_and_the_cost_equal_a_brute_force_pick(raw_rows, usages):
    model = AIModelFactory(cached_input_price_per_mtok=Decimal("0.5"))
    rows, keys = [], set()
    for r in raw_rows:
        day = BASE + datetime.timedelta(days=r["offset"])
        key = (r["kind"], r["tier"], day, r["volume_threshold"])
        if key in keys:
            continue
        keys.add(key)
        rows.append(
            PriceBookEntry(
                model=model,
                kind=r["kind"],
                tier=r["tier"],
                effective_from=day,
                volume_threshold=r["volume_threshold"],
                input_price_per_mtok=r["input_price_per_mtok"],
                output_price_per_mtok=r["output_price_per_mtok"],
                cache_read_price_per_mtok=r["cache_read_price_per_mtok"],
                cache_write_price_per_mtok=r["cache_write_price_per_mtok"],
                long_context_threshold=r["long_context"],
                long_context_input_price_per_mtok=r["long_in"] if r["long_context"] else None,
                long_context_output_price_per_mtok=r["long_out"] if r["long_context"] else None,
            )
        )
    rows = PriceBookEntry.objects.bulk_create(rows)

    for u in usages:
        day = BASE + datetime.timedelta(days=u["offset"])
        expected = brute_force_price(rows, day, u["tier"], u["volume"])

        in_db = price_in_force(model, day, tier=u["tier"], monthly_volume=u["volume"])
        picked = price_pick(rows, on_date=day, tier=u["tier"], monthly_volume=u["volume"])
        costed = usage_cost(
            model,
            on_date=day,
            tier=u["tier"],
            monthly_volume=u["volume"],
            input_tokens=u["uncached"],
            cache_read_tokens=u["cache_read"],
            cache_write_tokens=u["cache_write"],
            output_tokens=u["output"],
        )

        expected_id = expected.pk if expected else None
        assert (in_db.pk if in_db else None) == expected_id
        assert (picked.pk if picked else None) == expected_id
        assert costed.price_id == expected_id
        assert costed.amount == independent_cost(
            model,
            expected,
            uncached=u["uncached"],
            cache_read=u["cache_read"],
            cache_write=u["cache_write"],
            output=u["output"],
        )
    PriceBookEntry.objects.filter(model=model).delete()


def _row(model, kind, days_ago, inp, out, **fields):
    return PriceBookEntry.objects.create(
        model=model,
        kind=kind,
        effective_from=TODAY - datetime.timedelta(days=days_ago),
        input_price_per_mtok=Decimal(inp),
        output_price_per_mtok=Decimal(out),
        **fields,
    )


def test_usage_is_costed_with_the_price_in_force_on_its_day():
    model = AIModelFactory()
    _row(model, "list", 100, "2", "8")
    _row(model, "list", 10, "3", "12")
    negotiated = _row(model, "negotiated", 5, "1", "4")
    tokens = {"input_tokens": 1_000_000, "output_tokens": 1_000_000}

    def cost(days_ago):
        return usage_cost(model, on_date=TODAY - datetime.timedelta(days=days_ago), **tokens)

    assert cost(50).amount == Decimal("10")  # list price of 100 days ago
    assert cost(7).amount == Decimal("15")  # the newer list price
    assert (cost(5).amount, cost(5).price_id) == (Decimal("5"), negotiated.pk)
    assert cost(0).amount == Decimal("5")  # negotiated beats the list price still in force
    assert cost(200).price_id is None  # before the book: the catalog's fields
    assert cost(200).amount == Decimal("10")


def test_a_long_prompt_takes_the_long_context_prices_and_a_batch_call_falls_back_to_standard():
    model = AIModelFactory()
    long_prices = {
        "long_context_input_price_per_mtok": Decimal("4"),
        "long_context_output_price_per_mtok": Decimal("16"),
    }
    _row(model, "list", 1, "2", "8", long_context_threshold=200_000, **long_prices)

    short = usage_cost(model, on_date=TODAY, input_tokens=200_000, output_tokens=1_000_000, tier="batch")
    long = usage_cost(
        model, on_date=TODAY, input_tokens=150_000, cache_read_tokens=50_001, output_tokens=1_000_000
    )

    assert short.amount == Decimal("0.4") + Decimal("8")
    assert long.amount == (Decimal("150000") * 4 + Decimal("50001") * 4 + Decimal("1000000") * 16) / MILLION


def test_the_intake_estimate_uses_the_negotiated_price_in_force_today():
    model = AIModelFactory()
    _row(model, "negotiated", 3, "1", "4")

    estimate = estimate_monthly_cost(model=model, calls_per_month=1000, input_tokens=1000, output_tokens=500)

    assert estimate.monthly_cost == Decimal("3.00")  # 1000 x (1000 x 1 + 500 x 4) / 1M


def test_a_price_added_by_an_admin_is_audited_and_keeps_the_catalog_mirror_at_todays_list_price(cast):
    model = AIModelFactory()

    change = price_add(actor=cast.admin, model=model, effective_from=TODAY - datetime.timedelta(days=2),
                       input_price_per_mtok=Decimal("2.5"), output_price_per_mtok=Decimal("10"))  # fmt: skip
    price_add(actor=cast.admin, model=model, kind="negotiated", effective_from=TODAY,
              input_price_per_mtok=Decimal("1"), output_price_per_mtok=Decimal("4"))  # fmt: skip
    price_add(actor=cast.admin, model=model, effective_from=TODAY + datetime.timedelta(days=30),
              input_price_per_mtok=Decimal("9"), output_price_per_mtok=Decimal("9"))  # fmt: skip

    model.refresh_from_db()
    assert (model.input_price_per_mtok, model.output_price_per_mtok) == (Decimal("2.5"), Decimal("10"))
    assert change.price.created_by == cast.admin
    assert AuditEvent.objects.filter(action="ai_model.price_add", object_id=str(model.pk)).count() == 3


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"input_price_per_mtok": Decimal("-1")}, "input_price_per_mtok"),
        ({"output_price_per_mtok": Decimal("1e13")}, "output_price_per_mtok"),
        ({"cache_read_price_per_mtok": Decimal("0.0000001")}, "cache_read_price_per_mtok"),
        ({"effective_from": datetime.date(1999, 12, 31)}, "effective_from"),
        ({"effective_from": TODAY + datetime.timedelta(days=800)}, "effective_from"),
        ({"kind": "secret"}, "kind"),
        ({"tier": "gold"}, "tier"),
        ({"volume_threshold": -5}, "volume_threshold"),
        ({"long_context_input_price_per_mtok": Decimal("3")}, "long_context_threshold"),
        ({"currency": "US"}, "currency"),
        ({"note": "a\x00b"}, "note"),
    ],
)
def test_the_price_service_refuses_a_bad_value_naming_the_field(cast, fields, field):
    model = AIModelFactory()
    values = {
        "effective_from": TODAY,
        "input_price_per_mtok": Decimal("1"),
        "output_price_per_mtok": Decimal("2"),
    }

    with pytest.raises(ValidationError) as refused:
        price_add(actor=cast.admin, model=model, **{**values, **fields})

    assert field in refused.value.message_dict
    assert not PriceBookEntry.objects.filter(model=model).exists()


def test_a_second_price_for_the_same_key_is_refused_and_others_may_not_add_prices(cast):
    model = AIModelFactory()
    values = {
        "effective_from": TODAY,
        "input_price_per_mtok": Decimal("1"),
        "output_price_per_mtok": Decimal("2"),
    }
    price_add(actor=cast.admin, model=model, **values)

    with pytest.raises(ValidationError) as duplicate:
        price_add(actor=cast.admin, model=model, **values)
    with pytest.raises(PermissionDenied):
        price_add(actor=cast.finance, model=model, **{**values, "kind": "negotiated"})

    assert "effective_from" in duplicate.value.message_dict
    assert PriceBookEntry.objects.filter(model=model).count() == 1


def test_the_litellm_refresh_feeds_list_prices_effective_today(cast):
    model = AIModelFactory(provider=ProviderFactory(slug="openai", name="OpenAI"), key="gpt-4.1")
    entry = {"litellm_provider": "openai", "input_cost_per_token": 0.0000018}
    entry.update(output_cost_per_token=0.000007, cache_read_input_token_cost=0.0000005)
    data = {"gpt-4.1": entry}

    model_prices_refresh(actor=cast.admin, path_or_data=data)
    model_prices_refresh(actor=cast.admin, path_or_data=data)

    row = PriceBookEntry.objects.get(model=model)
    assert (row.kind, row.tier, row.effective_from, row.source) == ("list", "standard", TODAY, "litellm")
    assert (row.input_price_per_mtok, row.output_price_per_mtok, row.cache_read_price_per_mtok) == (
        Decimal("1.8"), Decimal("7"), Decimal("0.5")
    )  # fmt: skip
