"""Issue 19: the reporting currency and dated exchange rates. Conversion by day against an
independent computation, the rate in force at valid_from boundaries, and the batch loader under
attack. On the real PostgreSQL."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aifinops.core import periods
from aifinops.core.models import AuditEvent
from showback import fx
from showback.models import DailySpend, ExchangeRate

from .factories import DailySpendFactory

pytestmark = pytest.mark.django_db

TODAY = periods.today()


def day(n):
    """n days before today."""
    return TODAY - datetime.timedelta(days=n)


def rate(base, quote, value, valid_from, source="ECB reference rates"):
    return ExchangeRate.objects.create(
        base=base, quote=quote, rate=Decimal(value), valid_from=valid_from, source=source
    )


# Conversion equals an independent computation.

CURRENCIES = ["USD", "EUR", "GBP"]
rows_strategy = st.lists(
    st.tuples(
        st.sampled_from(CURRENCIES),
        st.integers(0, 40),  # days ago
        st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999"), places=2),
    ),
    min_size=1,
    max_size=30,
)
rates_strategy = st.lists(
    st.tuples(
        st.sampled_from(["EUR", "GBP"]),
        st.integers(0, 45),
        st.decimals(min_value=Decimal("0.5"), max_value=Decimal("2"), places=4),
        st.booleans(),  # recorded the other way round: 1 USD = 1/rate
    ),
    max_size=12,
)


def _rate_in_force(recorded, currency, on):
    """The independent rule: the latest recorded rate of the pair on or before the day, in either
    direction (the later pk wins a tie), or None."""
    best = None
    for n, (cur, valid_from, value, inverse) in enumerate(recorded):
        if cur == currency and valid_from <= on and (best is None or (valid_from, n) >= best[:2]):
            best = (valid_from, n, value, inverse)
    if best is None:
        return None
    value = Decimal(str(best[2]))
    # Stored as a 10-place decimal: the inverse pair is stored as 1/rate rounded to 10 places.
    return Decimal(1) / best[3] if best[3] else value


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=rows_strategy, recorded=rates_strategy)
def test_a_reporting_total_is_the_sum_of_each_row_at_the_rate_in_force_on_its_day(rows, recorded):
    DailySpend.objects.all().delete()
    ExchangeRate.objects.all().delete()
    stored = []
    seen = set()
    for currency, ago, value, inverse in recorded:
        valid_from = day(ago)
        pair = ("USD", currency) if inverse else (currency, "USD")
        if (pair, valid_from) in seen:
            continue
        seen.add((pair, valid_from))
        if inverse:
            row = rate("USD", currency, (Decimal(1) / value).quantize(Decimal("0.0000000001")), valid_from)
            stored.append((currency, valid_from, value, row.rate))
        else:
            rate(currency, "USD", value, valid_from)
            stored.append((currency, valid_from, value, None))
    for currency, ago, amount in rows:
        DailySpendFactory(currency=currency, date=day(ago), effective_cost=amount, provider=None)

    converted = fx.converted_sum(DailySpend.objects.all(), into="USD")

    expected, missing = Decimal(0), {}
    for currency, ago, amount in rows:
        on = day(ago)
        if currency == "USD":
            expected += amount
            continue
        in_force = _rate_in_force(stored, currency, on)
        if in_force is None:
            missing.setdefault(currency, set()).add(on)
        else:
            expected += amount * in_force
    assert converted.amount.quantize(Decimal("0.000001")) == expected.quantize(Decimal("0.000001"))
    assert {m.currency: (m.first, m.last) for m in converted.missing} == {
        c: (min(days), max(days)) for c, days in missing.items()
    }
    assert converted.original == {
        c: sum((a for cur, _, a in rows if cur == c), Decimal(0)) for c in {r[0] for r in rows}
    }


def test_the_rate_in_force_changes_exactly_on_valid_from():
    rate("EUR", "USD", "1.10", day(10))
    rate("EUR", "USD", "1.20", day(5))
    DailySpendFactory(currency="EUR", date=day(6), effective_cost=Decimal("100"))
    DailySpendFactory(currency="EUR", date=day(5), effective_cost=Decimal("10"))

    converted = fx.converted_sum(DailySpend.objects.all(), into="USD")

    assert converted.amount == Decimal("110") + Decimal("12")
    assert [str(r) for r in converted.rates] == [
        f"1 EUR = 1.20 USD (ECB reference rates, {day(5).isoformat()})"
    ]
    assert converted.rates_counted == {"EUR": 2}
    assert converted.complete


def test_a_day_before_the_first_rate_is_named_missing_and_not_counted_at_one():
    rate("GBP", "USD", "1.25", day(3))
    DailySpendFactory(currency="GBP", date=day(4), effective_cost=Decimal("40"))
    DailySpendFactory(currency="GBP", date=day(3), effective_cost=Decimal("8"))
    DailySpendFactory(currency="USD", date=day(4), effective_cost=Decimal("5"))

    converted = fx.converted_sum(DailySpend.objects.all(), into="USD")

    assert converted.amount == Decimal("5") + Decimal("10")
    assert not converted.complete
    (gap,) = converted.missing
    assert (gap.currency, gap.amount, gap.first, gap.days) == ("GBP", Decimal("40"), day(4), 1)
    assert "no GBP→USD rate for" in str(gap)


def test_the_inverse_pair_converts_as_rate_for_does():
    rate("USD", "EUR", "0.8", day(2))
    DailySpendFactory(currency="EUR", date=day(1), effective_cost=Decimal("8"))

    converted = fx.converted_sum(DailySpend.objects.all(), into="USD")

    assert converted.amount == Decimal("10")
    assert fx.rate_for("EUR", "USD", day(1)) == Decimal("1.25")


def test_conversion_reads_the_rollup_in_two_queries_however_many_rows(django_assert_num_queries):
    rate("EUR", "USD", "1.1", day(30))
    for n in range(20):
        DailySpendFactory(currency="EUR" if n % 2 else "USD", date=day(n), provider=None)
    with django_assert_num_queries(2):
        fx.converted_sum(DailySpend.objects.all(), into="USD")


# The reporting currency.


def test_the_reporting_currency_defaults_to_the_setting_and_is_set_with_an_audit_row(cast, settings):
    settings.AIFINOPS_REPORTING_CURRENCY = "usd"
    assert fx.reporting_currency() == "USD"

    fx.reporting_currency_set(actor=cast.finance, code="eur")

    assert fx.reporting_currency() == "EUR"
    event = AuditEvent.objects.get(action="reporting_currency.set")
    assert (event.before, event.after, event.actor) == ({"code": "USD"}, {"code": "EUR"}, cast.finance)


@pytest.mark.parametrize("code", ["", "EURO", "XXX", "E\x00R", "\ud800", "btc"])
def test_a_reporting_currency_that_is_no_iso_code_is_refused(cast, code):
    with pytest.raises(ValidationError) as caught:
        fx.reporting_currency_set(actor=cast.admin, code=code)
    assert "code" in caught.value.message_dict
    assert not AuditEvent.objects.filter(action="reporting_currency.set").exists()


def test_only_finance_and_admins_set_the_reporting_currency(cast):
    with pytest.raises(PermissionDenied):
        fx.reporting_currency_set(actor=cast.owner, code="EUR")


# The batch loader.


def batch(*rows):
    return [{"date": d, "base": b, "quote": q, "rate": r} for d, b, q, r in rows]


def test_a_batch_is_recorded_once_and_loading_it_again_changes_nothing(cast):
    rows = batch((day(2).isoformat(), "eur", "USD", "1.0812"), (day(1).isoformat(), "EUR", "USD", "1.0790"))

    first = fx.exchange_rates_load(actor=cast.finance, rows=rows, source="ECB reference rates")
    again = fx.exchange_rates_load(actor=cast.finance, rows=rows, source="ECB reference rates")

    assert (first.created, first.changed, again.created, again.changed, again.unchanged) == (2, 0, 0, 0, 2)
    assert ExchangeRate.objects.count() == 2
    event = AuditEvent.objects.get(action="exchange_rate.load")
    assert event.after["source"] == "ECB reference rates"
    assert event.after["created"] == 2


def test_a_new_value_for_a_pair_and_day_replaces_the_old_and_is_audited(cast):
    fx.exchange_rates_load(
        actor=cast.finance, rows=batch((day(1).isoformat(), "EUR", "USD", "1.1")), source="a"
    )

    result = fx.exchange_rates_load(
        actor=cast.finance, rows=batch((day(1).isoformat(), "EUR", "USD", "1.2")), source="b"
    )

    assert result.changed == 1
    assert ExchangeRate.objects.get().rate == Decimal("1.2")
    assert AuditEvent.objects.filter(action="exchange_rate.load").count() == 2


@pytest.mark.parametrize(
    ("row", "words"),
    [
        (("{d}", "EUR", "USD", "0"), "rate must be positive"),
        (("{d}", "EUR", "USD", "-1.1"), "rate must be positive"),
        (("{d}", "EUR", "USD", "1e400"), "out of range"),
        (("{d}", "EUR", "USD", "NaN"), "rate must be positive"),
        (("{d}", "EUR", "USD", "Infinity"), "rate must be positive"),
        (("{d}", "EUR", "USD", "one"), "not a number"),
        (("{d}", "EUR", "USD", "0.00000000001"), "out of range"),
        (("{d}", "EUX", "USD", "1.1"), "base 'EUX' is not an ISO 4217"),
        (("{d}", "EUR", "XAU", "1.1"), "quote 'XAU' is not an ISO 4217"),
        (("{d}", "EUR", "EUR", "1.1"), "quote must differ"),
        (("{d}", "E\x00R", "USD", "1.1"), "NUL"),
        (("{d}", "EUR", "USD", "1.1\ud800"), "surrogate"),
        (("2026-02-30", "EUR", "USD", "1.1"), "not a date"),
        (("30/11/2026", "EUR", "USD", "1.1"), "not a date"),
        (("1800-01-01", "EUR", "USD", "1.1"), "out of range"),
        (("", "EUR", "USD", "1.1"), "not a date"),
    ],
)
def test_a_bad_row_is_named_and_nothing_is_written(cast, row, words):
    good = (day(3).isoformat(), "GBP", "USD", "1.27")
    bad = (row[0].format(d=day(1).isoformat()), *row[1:])

    with pytest.raises(ValidationError) as caught:
        fx.exchange_rates_load(actor=cast.finance, rows=batch(good, bad), source="ECB")

    (message,) = caught.value.message_dict["rates"]
    assert message.startswith("Row 2:")
    assert words in message
    assert not ExchangeRate.objects.exists()
    assert not AuditEvent.objects.filter(action="exchange_rate.load").exists()


def test_a_pair_twice_on_one_day_in_a_batch_is_refused_naming_both_rows(cast):
    d = day(1).isoformat()
    with pytest.raises(ValidationError) as caught:
        fx.exchange_rates_load(
            actor=cast.finance, rows=batch((d, "EUR", "USD", "1.1"), (d, "eur", "usd", "1.2")), source="ECB"
        )
    assert "Row 2: EUR/USD" in caught.value.message_dict["rates"][0]
    assert "also row 1" in caught.value.message_dict["rates"][0]
    assert not ExchangeRate.objects.exists()


def test_a_batch_of_100k_rows_is_refused_before_it_is_read(cast):
    rows = batch(*[(day(1).isoformat(), "EUR", "USD", "1.1")] * 100_000)
    with pytest.raises(ValidationError) as caught:
        fx.exchange_rates_load(actor=cast.finance, rows=rows, source="ECB")
    assert "At most 20,000 rates" in caught.value.message_dict["rates"][0]


@pytest.mark.parametrize("source", ["", "   ", "x" * 101, "EC\x00B"])
def test_a_batch_needs_a_named_source(cast, source):
    with pytest.raises(ValidationError) as caught:
        fx.exchange_rates_load(
            actor=cast.finance, rows=batch((day(1).isoformat(), "EUR", "USD", "1")), source=source
        )
    assert "source" in caught.value.message_dict


def test_only_finance_and_admins_load_rates(cast):
    with pytest.raises(PermissionDenied):
        fx.exchange_rates_load(
            actor=cast.requester_a, rows=batch((day(1).isoformat(), "EUR", "USD", "1")), source="x"
        )
