"""Writes of the price book and of a model's place in the catalog (status, tier).

`price_add` is the one way a price enters the book: the price pages, the API, the catalog load and
the LiteLLM price refresh call it (the refresh through `price_list_write`, which updates today's
list price in place). A price that takes effect today or earlier re-costs the estimated usage it
affects (see `portfolio.signals.model_prices_changed`), in the same transaction and audited.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from aifinops.core import periods, permissions
from aifinops.core.audit import audit_record, snapshot

from ..choices import ModelStatus, ModelTier, PriceKind, PriceTier
from ..models import PRICE_BOOK_EPOCH, AIModel, PriceBookEntry
from ..pricing import price_pick
from ..signals import model_prices_changed

PRICE_LIMIT = Decimal(10) ** 12
PRICE_PLACES = Decimal("0.000001")
# A price is announced ahead of its date, but not by years: a date that far out is a typo.
FUTURE_LIMIT = datetime.timedelta(days=2 * 366)
MAX_TOKENS = 10**15
PRICE_FIELDS = (
    "input_price_per_mtok",
    "output_price_per_mtok",
    "cache_read_price_per_mtok",
    "cache_write_price_per_mtok",
    "long_context_input_price_per_mtok",
    "long_context_output_price_per_mtok",
)
REQUIRED_PRICES = ("input_price_per_mtok", "output_price_per_mtok")
# The catalog's mirror fields and the book's fields they mirror.
MIRROR = {
    "input_price_per_mtok": "input_price_per_mtok",
    "output_price_per_mtok": "output_price_per_mtok",
    "cached_input_price_per_mtok": "cache_read_price_per_mtok",
    "currency": "currency",
}


@dataclass
class Recosting:
    """What re-costing changed: estimated events re-costed, and their totals per currency."""

    since: datetime.date | None = None
    events: int = 0
    before: dict = field(default_factory=dict)
    after: dict = field(default_factory=dict)


@dataclass
class PriceChange:
    price: PriceBookEntry
    recosting: Recosting


def _fail(field_name, message):
    raise ValidationError({field_name: [message]})


def _price(value, field_name, *, required):
    if value is None or value == "":
        if required:
            _fail(field_name, "Required: a price per million tokens.")
        return None
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        _fail(field_name, "Must be a price per million tokens.")
    try:
        price = Decimal(str(value))
    except ArithmeticError:
        _fail(field_name, f"“{str(value)[:30]}” is not a number.")
    if not price.is_finite():
        _fail(field_name, "Must be a number.")
    if price < 0:
        _fail(field_name, "A price cannot be negative.")
    if price >= PRICE_LIMIT:
        _fail(field_name, "Too large for a price per million tokens.")
    if price != price.quantize(PRICE_PLACES):
        _fail(field_name, "At most six decimal places.")
    return price


def _tokens(value, field_name, *, allow_none):
    if value is None or value == "":
        if allow_none:
            return None
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > MAX_TOKENS:
        _fail(field_name, f"A whole number of tokens from 0 to {MAX_TOKENS:,}.")
    return value


def _price_clean(
    *, model, kind, tier, effective_from, prices, volume_threshold, long_context_threshold, currency
):
    if kind not in PriceKind.values:
        _fail("kind", f"One of {', '.join(PriceKind.values)}.")
    if tier not in PriceTier.values:
        _fail("tier", f"One of {', '.join(PriceTier.values)}.")
    if not isinstance(effective_from, datetime.date) or isinstance(effective_from, datetime.datetime):
        _fail("effective_from", "Required: the date the price takes effect (YYYY-MM-DD).")
    if effective_from < PRICE_BOOK_EPOCH:
        _fail("effective_from", f"No earlier than {PRICE_BOOK_EPOCH:%Y-%m-%d}.")
    if effective_from > periods.today() + FUTURE_LIMIT:
        _fail("effective_from", "More than two years ahead: check the date.")
    cleaned = {
        name: _price(prices.get(name), name, required=name in REQUIRED_PRICES) for name in PRICE_FIELDS
    }
    volume_threshold = _tokens(volume_threshold, "volume_threshold", allow_none=False)
    long_context_threshold = _tokens(long_context_threshold, "long_context_threshold", allow_none=True)
    long_prices = (
        cleaned["long_context_input_price_per_mtok"],
        cleaned["long_context_output_price_per_mtok"],
    )
    if long_context_threshold is None and any(p is not None for p in long_prices):
        _fail("long_context_threshold", "Give the prompt size above which the long-context prices apply.")
    if long_context_threshold is not None and all(p is None for p in long_prices):
        _fail("long_context_input_price_per_mtok", "Give the long-context prices, or no threshold.")
    currency = currency or model.currency or "USD"
    if (
        not isinstance(currency, str)
        or len(currency) != 3
        or not currency.isascii()
        or not currency.isalpha()
    ):
        _fail("currency", "A three-letter ISO 4217 code, e.g. USD.")
    return cleaned, volume_threshold, long_context_threshold, currency.upper()


@transaction.atomic
def price_add(
    *,
    actor,
    model,
    effective_from,
    input_price_per_mtok,
    output_price_per_mtok,
    kind=PriceKind.LIST,
    tier=PriceTier.STANDARD,
    volume_threshold=0,
    cache_read_price_per_mtok=None,
    cache_write_price_per_mtok=None,
    long_context_threshold=None,
    long_context_input_price_per_mtok=None,
    long_context_output_price_per_mtok=None,
    currency=None,
    source="manual",
    note="",
) -> PriceChange:
    """Add a price to the book; a price already in force re-costs the usage it affects.

    A second price for the same model, kind, tier, date and volume threshold is refused (the
    error names effective_from): a correction is a new price, or a change of the one there.
    """
    if actor is not None:
        permissions.require(actor, permissions.CHANGE_MODEL_CATALOG)
    prices = {
        "input_price_per_mtok": input_price_per_mtok,
        "output_price_per_mtok": output_price_per_mtok,
        "cache_read_price_per_mtok": cache_read_price_per_mtok,
        "cache_write_price_per_mtok": cache_write_price_per_mtok,
        "long_context_input_price_per_mtok": long_context_input_price_per_mtok,
        "long_context_output_price_per_mtok": long_context_output_price_per_mtok,
    }
    cleaned, volume_threshold, long_context_threshold, currency = _price_clean(
        model=model,
        kind=kind,
        tier=tier,
        effective_from=effective_from,
        prices=prices,
        volume_threshold=volume_threshold,
        long_context_threshold=long_context_threshold,
        currency=currency,
    )
    if not isinstance(note, str) or len(note) > 250 or "\x00" in note:
        _fail("note", "Text of at most 250 characters, without NUL.")
    # Lock the model: two prices added at once re-cost one after the other.
    AIModel.objects.select_for_update().filter(pk=model.pk).first()
    key = {
        "model": model,
        "kind": kind,
        "tier": tier,
        "effective_from": effective_from,
        "volume_threshold": volume_threshold,
    }
    if PriceBookEntry.objects.filter(**key).exists():
        _fail(
            "effective_from",
            f"This model already has a {kind} {tier} price from {effective_from:%Y-%m-%d}"
            + (f" at {volume_threshold:,} tokens a month" if volume_threshold else "")
            + ": pick another date.",
        )
    price = PriceBookEntry(
        **key,
        **cleaned,
        long_context_threshold=long_context_threshold,
        currency=currency,
        source=source[:32],
        note=note.strip(),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    price.save()
    audit_record(actor=actor, action="ai_model.price_add", obj=model, after=_price_snapshot(price))
    return PriceChange(
        price=price, recosting=_after_price_change(actor=actor, model=model, since=effective_from)
    )


def price_list_write(*, actor, model, prices, source, on_date=None):
    """Set the model's list price of the standard tier from `on_date` (today): a new row, or the
    row of that date changed. `prices` holds the book's price field names. For the catalog load
    and the LiteLLM price refresh, inside their transaction; returns the Recosting."""
    on_date = on_date or periods.today()
    row = PriceBookEntry.objects.filter(
        model=model, kind=PriceKind.LIST, tier=PriceTier.STANDARD, effective_from=on_date, volume_threshold=0
    ).first()
    if row is None:
        return price_add(actor=actor, model=model, effective_from=on_date, source=source, **prices).recosting
    changed = {name: value for name, value in prices.items() if getattr(row, name) != value}
    if not changed:
        return Recosting()
    before = _price_snapshot(row)
    for name, value in changed.items():
        setattr(row, name, value)
    row.source = source
    row.save()
    audit_record(
        actor=actor, action="ai_model.price_change", obj=model, before=before, after=_price_snapshot(row)
    )
    return _after_price_change(actor=actor, model=model, since=on_date)


def _price_snapshot(price):
    data = snapshot(
        price,
        fields=[
            "kind",
            "tier",
            "effective_from",
            "volume_threshold",
            *PRICE_FIELDS,
            "long_context_threshold",
            "currency",
            "source",
            "note",
        ],
    )
    data["price_id"] = price.pk
    return data


def _after_price_change(*, actor, model, since):
    """Bring the catalog's mirror fields to today's list price and re-cost past usage."""
    _mirror_refresh(model)
    if since > periods.today():
        return Recosting()
    return estimates_recost(actor=actor, model=model, since=since)


def estimates_recost(*, actor, model, since, until=None, cause=None) -> Recosting:
    """Re-cost the model's estimated usage costed from the book, from `since` (to `until`,
    exclusive, when given), and audit what changed (`ai_model.recost`, with `cause` in its after).

    The one path for every re-costing: a price of the book in force from a past day, and an import
    that carries a month's volume across a volume tier (`showback.ingest.recost`). Showback's
    receivers of `model_prices_changed` do the work; call it inside the writing transaction.
    """
    result = Recosting(since=since)
    for _receiver, answer in model_prices_changed.send(sender=AIModel, model=model, since=since, until=until):
        if not answer:
            continue
        result.events += answer["events"]
        for side in ("before", "after"):
            for currency, total in answer[side].items():
                getattr(result, side)[currency] = getattr(result, side).get(currency, Decimal("0")) + total
    if result.events:
        period = {"since": since.isoformat()} | ({"until": until.isoformat()} if until else {})
        audit_record(
            actor=actor,
            action="ai_model.recost",
            obj=model,
            before={**period, "estimated": {c: str(t) for c, t in result.before.items()}},
            after={
                **period,
                **(cause or {}),
                "events": result.events,
                "estimated": {c: str(t) for c, t in result.after.items()},
            },
        )
    return result


def _mirror_refresh(model):
    """The catalog's price fields follow the list price of the standard tier in force today."""
    rows = list(PriceBookEntry.objects.filter(model=model, kind=PriceKind.LIST))
    current = price_pick(rows, on_date=periods.today())
    if current is None:
        return
    values = {mirror: getattr(current, book) for mirror, book in MIRROR.items()}
    changed = [name for name, value in values.items() if getattr(model, name) != value]
    if changed:
        for name in changed:
            setattr(model, name, values[name])
        model.save(update_fields=changed)


@transaction.atomic
def ai_model_update(*, actor, model, status, tier) -> bool:
    """Change a model's status (approved, restricted, blocked) and tier; False when nothing changed."""
    permissions.require(actor, permissions.CHANGE_MODEL_CATALOG)
    if status not in ModelStatus.values:
        _fail("status", f"One of {', '.join(ModelStatus.values)}.")
    if tier not in ModelTier.values:
        _fail("tier", f"One of {', '.join(ModelTier.values)}.")
    model = AIModel.objects.select_for_update().select_related("provider").get(pk=model.pk)
    changed = [name for name, value in (("status", status), ("tier", tier)) if getattr(model, name) != value]
    if not changed:
        return False
    before = snapshot(model, fields=changed)
    model.status, model.tier = status, tier
    model.save(update_fields=changed)
    audit_record(
        actor=actor, action="ai_model.update", obj=model, before=before, after=snapshot(model, fields=changed)
    )
    return True
