"""Exchange rates: the one way an amount in one currency is counted against money in another.

Minimal on purpose (issue 19 extends it): recorded rates per pair, valid from a date until the
next rate of the pair; the inverse pair is used when only it is recorded; no triangulation.
"""

import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Q

from aifinops.core.audit import audit_record, snapshot

from .currencies import is_currency
from .models import ExchangeRate

RATE_FIELDS = ["base", "quote", "rate", "valid_from", "source"]


def rate_for(base: str, quote: str, on_date: datetime.date) -> Decimal | None:
    """How many `quote` one `base` buys on `on_date`, by the recorded rates; None without one."""
    if base == quote:
        return Decimal(1)
    rows = (
        ExchangeRate.objects.filter(base__in=(base, quote), quote__in=(base, quote), valid_from__lte=on_date)
        .order_by("-valid_from", "-pk")
        .values_list("base", "rate")
    )
    for row_base, rate in rows[:1]:
        return rate if row_base == base else Decimal(1) / rate
    return None


def rates_into(currencies, on_date: datetime.date) -> dict[str, str]:
    """{"EUR>USD": "1.08", …}: every recorded rate on `on_date` into one of `currencies` (either
    direction of a pair), latest first. One query; for the gateway's cached policy."""
    currencies = set(currencies)
    if not currencies:
        return {}
    found: dict[str, str] = {}
    rows = (
        ExchangeRate.objects.filter(Q(quote__in=currencies) | Q(base__in=currencies), valid_from__lte=on_date)
        .order_by("-valid_from", "-pk")
        .values_list("base", "quote", "rate")
    )
    for base, quote, rate in rows:
        if quote in currencies:
            found.setdefault(f"{base}>{quote}", str(rate))
        if base in currencies:
            found.setdefault(f"{quote}>{base}", str(Decimal(1) / rate))
    return found


@transaction.atomic
def exchange_rate_record(*, actor, base, quote, rate, valid_from, source) -> ExchangeRate:
    """Record a rate (or correct the rate of a pair on a day). Hard caps use it from the next
    authorization on."""
    from django.core.exceptions import ValidationError

    base, quote = (base or "").upper(), (quote or "").upper()
    errors = {}
    for name, code in (("base", base), ("quote", quote)):
        if not is_currency(code):
            errors[name] = f"Not an ISO 4217 currency code: {code!r}."
    if not errors and base == quote:
        errors["quote"] = "A rate converts between two different currencies."
    if rate is None or not Decimal(rate).is_finite() or Decimal(rate) <= 0:
        errors["rate"] = "A positive rate: how many of the quote currency one base buys."
    if errors:
        raise ValidationError(errors)
    found = ExchangeRate.objects.select_for_update().filter(base=base, quote=quote, valid_from=valid_from)
    row = found.first()
    before = snapshot(row, RATE_FIELDS) if row else None
    if row is None:
        row = ExchangeRate(base=base, quote=quote, valid_from=valid_from)
    row.rate, row.source = Decimal(rate), (source or "").strip()[:100]
    row.save()
    audit_record(
        actor=actor,
        action="exchange_rate.record",
        obj=row,
        before=before,
        after=snapshot(row, RATE_FIELDS),
    )
    return row
