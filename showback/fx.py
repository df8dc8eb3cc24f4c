"""Exchange rates: the one way an amount in one currency is counted against money in another.

Recorded rates per pair, valid from a date until the next rate of the pair; the inverse pair is
used when only it is recorded (the latest of either direction wins); no triangulation.

Sums are converted by day: an amount in currency C on day D counts at the rate of (C, target) in
force on D, the latest valid_from <= D. Callers sum in the database per (currency, day) group and
this module converts the groups (`converted_sum`, `RateTable`), so a ledger of millions of rows
costs a few hundred groups, never a loop over rows. A group with no rate is returned as missing,
named by currency and days: never counted at 1, never dropped silently.

The organisation's reporting currency (`reporting_currency`) is the target of every total that
adds currencies.
"""

import bisect
import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from aifinops.core import permissions
from aifinops.core.audit import audit_record, snapshot

from .currencies import is_currency
from .models import ExchangeRate, ReportingCurrency
from .signals import exchange_rates_loaded

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


# The organisation's reporting currency.


def reporting_currency() -> str:
    """The code every cross-currency total is shown in: the stored setting, else the default."""
    code = ReportingCurrency.objects.filter(pk=1).values_list("code", flat=True).first()
    return code or str(settings.AIFINOPS_REPORTING_CURRENCY).upper()


@transaction.atomic
def reporting_currency_set(*, actor, code) -> ReportingCurrency:
    """Set the reporting currency (platform admins and finance analysts), audited."""
    permissions.require(actor, permissions.SET_REPORTING_CURRENCY)
    code = (code or "").strip().upper()
    if not is_currency(code):
        raise ValidationError(
            {"code": f"Not an ISO 4217 currency code: {code[:10]!r}. Enter e.g. USD or EUR."}
        )
    row = ReportingCurrency.objects.select_for_update().filter(pk=1).first()
    before = {"code": row.code} if row else {"code": reporting_currency()}
    if row is None:
        row = ReportingCurrency(pk=1)
    row.code, row.updated_at = code, timezone.now()
    row.save()
    audit_record(actor=actor, action="reporting_currency.set", obj=row, before=before, after={"code": code})
    return row


# Loading rates in batches: a CSV upload and the API both call exchange_rates_load.

MAX_BATCH_ROWS = 20_000
# 1 of a currency buys at most this much of another (1 USD is about 25,000 VND; 1 VES far more of
# some): a rate above it is a typo or an overflow, not a rate.
MAX_RATE = Decimal("10000000")
MIN_RATE = Decimal("0.0000000001")
MAX_ERRORS_SHOWN = 20
MICRO = Decimal("0.000001")


@dataclass
class LoadResult:
    created: int = 0
    changed: int = 0
    unchanged: int = 0
    pairs: list = field(default_factory=list)
    first: datetime.date | None = None
    last: datetime.date | None = None

    @property
    def total(self):
        return self.created + self.changed + self.unchanged


def _clean_rate_row(raw, where):
    """(base, quote, date, rate) from one row {date, base, quote, rate}, or a list of problems
    naming the row and field."""
    problems = []
    refused = set()

    def text(name):
        value = raw.get(name) if isinstance(raw, dict) else None
        if value is None:
            return ""
        if not isinstance(value, str | int | float | Decimal):
            problems.append(f"{where}: {name} must be text.")
            refused.add(name)
            return ""
        value = str(value).strip()
        if "\x00" in value or any(0xD800 <= ord(ch) <= 0xDFFF for ch in value):
            problems.append(f"{where}: {name} holds a NUL or an unpaired surrogate.")
            refused.add(name)
            return ""
        return value[:40]

    if not isinstance(raw, dict):
        return None, [f"{where}: expected an object with date, base, quote and rate."]
    base, quote = text("base").upper(), text("quote").upper()
    for name, code in (("base", base), ("quote", quote)):
        if name in refused:
            continue
        if not code:
            problems.append(f"{where}: {name} is missing.")
        elif not is_currency(code):
            problems.append(f"{where}: {name} {code[:10]!r} is not an ISO 4217 currency code.")
    if base and base == quote:
        problems.append(f"{where}: quote must differ from base.")
    day = None
    raw_date = text("date")
    try:
        day = datetime.date.fromisoformat(raw_date)
    except ValueError:
        if "date" not in refused:
            problems.append(f"{where}: date {raw_date[:20]!r} is not a date; use YYYY-MM-DD.")
    else:
        if not datetime.date(1990, 1, 1) <= day <= timezone.now().date() + datetime.timedelta(days=366):
            problems.append(f"{where}: date {day} is out of range (1990 to a year from today).")
    rate = None
    raw_rate = text("rate")
    try:
        rate = Decimal(raw_rate)
    except (InvalidOperation, ValueError):
        if "rate" not in refused:
            problems.append(f"{where}: rate {raw_rate[:20]!r} is not a number.")
    else:
        if not rate.is_finite() or rate <= 0:
            problems.append(f"{where}: rate must be positive (how many quote one base buys).")
        elif rate > MAX_RATE or rate < MIN_RATE:
            problems.append(f"{where}: rate {raw_rate[:20]} is out of range (0.0000000001 to 10,000,000).")
        else:
            rate = rate.quantize(MIN_RATE)
    if problems:
        return None, problems
    return (base, quote, day, rate), []


@transaction.atomic
def exchange_rates_load(*, actor, rows, source, lines=None) -> LoadResult:
    """Record a batch of rates [{date, base, quote, rate}] from one source, all or nothing.

    Idempotent on (base, quote, date): a rate already recorded with the same value and source is
    left as it is, another value or source replaces it. One audit event names the batch, its
    source, its dates and counts; refused rows are named (row number, or the file's `lines`, and
    field) and nothing is written.
    """
    permissions.require(actor, permissions.LOAD_EXCHANGE_RATES)
    errors = {}
    source = source if isinstance(source, str) else ""
    if "\x00" in source or any(0xD800 <= ord(ch) <= 0xDFFF for ch in source):
        errors["source"] = "The source holds a NUL or an unpaired surrogate."
    source = source.strip()
    if not source and "source" not in errors:
        errors["source"] = "Name the source of the rates, e.g. ECB reference rates."
    elif len(source) > 100:
        errors["source"] = "At most 100 characters."
    if not isinstance(rows, list | tuple) or not rows:
        errors["rates"] = "Give at least one rate."
        raise ValidationError(errors)
    if len(rows) > MAX_BATCH_ROWS:
        errors["rates"] = (
            f"At most {MAX_BATCH_ROWS:,} rates in one batch; this one has {len(rows):,}. Split it."
        )
        raise ValidationError(errors)
    problems, clean, seen = [], {}, {}
    for number, raw in enumerate(rows, start=1):
        where = f"Line {lines[number - 1]}" if lines else f"Row {number}"
        row, row_problems = _clean_rate_row(raw, where)
        problems.extend(row_problems)
        if row is None:
            continue
        key = row[:3]
        if key in seen:
            problems.append(
                f"{where}: {row[0]}/{row[1]} on {row[2]} is also {seen[key].lower()}; "
                "give each pair one rate a day."
            )
            continue
        seen[key] = where
        clean[key] = row[3]
    if problems:
        shown = problems[:MAX_ERRORS_SHOWN]
        if len(problems) > MAX_ERRORS_SHOWN:
            shown.append(f"… and {len(problems) - MAX_ERRORS_SHOWN} more problems.")
        errors["rates"] = shown
    if errors:
        raise ValidationError(errors)

    bases = {k[0] for k in clean}
    quotes = {k[1] for k in clean}
    days = {k[2] for k in clean}
    existing = {
        (r.base, r.quote, r.valid_from): r
        for r in ExchangeRate.objects.select_for_update().filter(
            base__in=bases, quote__in=quotes, valid_from__gte=min(days), valid_from__lte=max(days)
        )
    }
    result = LoadResult(first=min(days), last=max(days))
    new, changed = [], []
    for (base, quote, day), rate in clean.items():
        row = existing.get((base, quote, day))
        if row is None:
            new.append(ExchangeRate(base=base, quote=quote, valid_from=day, rate=rate, source=source))
        elif row.rate != rate or row.source != source:
            row.rate, row.source = rate, source
            changed.append(row)
        else:
            result.unchanged += 1
    ExchangeRate.objects.bulk_create(new, batch_size=2000)
    ExchangeRate.objects.bulk_update(changed, ["rate", "source"], batch_size=2000)
    result.created, result.changed = len(new), len(changed)
    result.pairs = sorted({f"{b}/{q}" for b, q, _ in clean})
    if new or changed:
        audit_record(
            actor=actor,
            action="exchange_rate.load",
            object_type="showback.exchangerate",
            object_id=f"{result.first}..{result.last}",
            after={
                "source": source,
                "pairs": result.pairs,
                "first": result.first.isoformat(),
                "last": result.last.isoformat(),
                "created": result.created,
                "changed": result.changed,
                "unchanged": result.unchanged,
                "changed_rates": [
                    {"base": r.base, "quote": r.quote, "date": r.valid_from.isoformat(), "rate": str(r.rate)}
                    for r in changed[:200]
                ],
            },
        )
        transaction.on_commit(lambda: exchange_rates_loaded.send(sender=ExchangeRate))
    return result


# Converting sums.


@dataclass(frozen=True)
class RateUsed:
    """1 `currency` = `rate` `into` from `valid_from`, by `source` (inverted where only the other
    direction is recorded)."""

    currency: str
    into: str
    rate: Decimal
    valid_from: datetime.date
    source: str

    def __str__(self):
        day = self.valid_from.isoformat()
        return f"1 {self.currency} = {plain_rate(self.rate)} {self.into} ({self.source}, {day})"


@dataclass(frozen=True)
class MissingRate:
    """Spend in `currency` on days with no rate into the target: its original amount and days."""

    currency: str
    into: str
    amount: Decimal
    first: datetime.date
    last: datetime.date
    days: int

    @property
    def months(self) -> list[str]:
        months, day = [], self.first.replace(day=1)
        while day <= self.last:
            months.append(day.strftime("%b %Y"))
            day = (day + datetime.timedelta(days=32)).replace(day=1)
        return months

    def as_json(self):
        return {
            "currency": self.currency,
            "amount": str(self.amount),
            "first_day": self.first.isoformat(),
            "last_day": self.last.isoformat(),
            "days": self.days,
        }

    def __str__(self):
        when = self.first.isoformat() if self.first == self.last else f"{self.first} to {self.last}"
        return (
            f"no {self.currency}→{self.into} rate for {when} ({self.days} day{'s' if self.days != 1 else ''})"
        )


@dataclass
class Converted:
    """A sum in `currency`: `amount` adds the groups that had a rate; `missing` names the others
    (their amount is left out of `amount`); `rates` is the latest rate used per currency with how
    many distinct rates were used; `original` keeps the sums per currency as they were."""

    currency: str
    amount: Decimal = Decimal("0")
    original: dict = field(default_factory=dict)
    rates: list = field(default_factory=list)
    rates_counted: dict = field(default_factory=dict)
    missing: list = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def rate_lines(self) -> list[dict]:
        """[{rate, earlier}]: the latest rate used per currency and how many earlier ones were."""
        return [{"rate": r, "earlier": self.rates_counted.get(r.currency, 1) - 1} for r in self.rates]

    @property
    def foreign(self) -> bool:
        """Whether any currency other than the target was converted or missed."""
        return any(c != self.currency for c in self.original)

    def as_json(self):
        return {
            "currency": self.currency,
            "amount": str(self.amount.quantize(MICRO)),
            "complete": self.complete,
            "rates_used": [
                {
                    "currency": r.currency,
                    "rate": plain_rate(r.rate),
                    "valid_from": r.valid_from.isoformat(),
                    "source": r.source,
                    "distinct_rates": self.rates_counted.get(r.currency, 1),
                }
                for r in self.rates
            ],
            "missing": [m.as_json() for m in self.missing],
        }


def plain_rate(value: Decimal) -> str:
    """A rate as people write it: 1.0812, not 1.0812000000; at least two decimals."""
    text = format(value.normalize(), "f")
    if "." not in text:
        return f"{text}.00"
    whole, frac = text.split(".")
    return f"{whole}.{frac[:8].ljust(2, '0')}"


class RateTable:
    """The rates from `currencies` (None: any) into `into` in force from any day up to `through`,
    read in one query; `rate(currency, day)` is the rate in force on the day, as rate_for finds it."""

    def __init__(self, currencies, into: str, through: datetime.date):
        self.into = into
        self._days = defaultdict(list)
        self._rates = defaultdict(list)
        if currencies is None:
            # Any currency: for callers that read the rates before the spend.
            pairs = Q(quote=into) | Q(base=into)
        else:
            foreign = {c for c in currencies if c != into}
            if not foreign:
                return
            pairs = Q(base__in=foreign, quote=into) | Q(base=into, quote__in=foreign)
        rows = (
            ExchangeRate.objects.filter(pairs, valid_from__lte=through)
            .order_by("valid_from", "pk")
            .values_list("base", "quote", "rate", "valid_from", "source")
        )
        for base, quote, rate, valid_from, source in rows:
            currency, value = (base, rate) if quote == into else (quote, Decimal(1) / rate)
            self._days[currency].append(valid_from)
            self._rates[currency].append(RateUsed(currency, into, value, valid_from, source))

    def rate(self, currency: str, day: datetime.date) -> RateUsed | None:
        if currency == self.into:
            return RateUsed(currency, currency, Decimal(1), day, "same currency")
        at = bisect.bisect_right(self._days[currency], day)
        return self._rates[currency][at - 1] if at else None


def convert_groups(groups, *, into: str, table: RateTable | None = None):
    """[(group, converted or None, RateUsed or None)] for groups [{..., currency, day, amount}]
    summed per currency and day, with the Converted sum of all of them (rates used, missing)."""
    groups = list(groups)
    if table is None:
        through = max((g["day"] for g in groups), default=datetime.date.min)
        table = RateTable({g["currency"] for g in groups}, into, through)
    total = Converted(currency=into)
    latest, used, gaps = {}, defaultdict(set), defaultdict(list)
    out = []
    for g in groups:
        amount = g["amount"] or Decimal("0")
        total.original[g["currency"]] = total.original.get(g["currency"], Decimal("0")) + amount
        rate = table.rate(g["currency"], g["day"])
        if rate is None:
            gaps[g["currency"]].append((g["day"], amount))
            out.append((g, None, None))
            continue
        value = amount * rate.rate
        total.amount += value
        out.append((g, value, rate))
        if g["currency"] != into:
            used[g["currency"]].add(rate.valid_from)
            if g["currency"] not in latest or rate.valid_from > latest[g["currency"]].valid_from:
                latest[g["currency"]] = rate
    # The target currency first, then the others by amount, as the page reads them.
    total.original = dict(sorted(total.original.items(), key=lambda kv: (kv[0] != into, -kv[1], kv[0])))
    total.rates = [latest[c] for c in sorted(latest)]
    total.rates_counted = {c: len(days) for c, days in used.items()}
    total.missing = missing_rates(gaps, into=into)
    return out, total


def missing_rates(gaps, *, into: str) -> list[MissingRate]:
    """[MissingRate] by currency from gaps {currency: [(day, original amount)]} of spend that had
    no rate into `into`: how much, from which day to which, on how many days."""
    found = []
    for currency in sorted(gaps):
        if not gaps[currency]:
            continue
        days = [d for d, _ in gaps[currency]]
        found.append(
            MissingRate(
                currency=currency,
                into=into,
                amount=sum((a for _, a in gaps[currency]), Decimal("0")),
                first=min(days),
                last=max(days),
                days=len(set(days)),
            )
        )
    return found


def converted_sum(qs, *, into: str | None = None, amount="effective_cost", day_field="date") -> Converted:
    """The sum of `amount` over `qs` in `into` (the reporting currency by default), converted by
    day: one query for the sums per (currency, day), one for the rates."""
    into = into or reporting_currency()
    groups = [
        {"currency": r["currency"], "day": r[day_field], "amount": r["total"]}
        for r in qs.order_by().values("currency", day_field).annotate(total=Sum(amount))
    ]
    return convert_groups(groups, into=into)[1]


def converted_lines(groups, *, key, into: str | None = None, table: RateTable | None = None):
    """{key(group): {amount, rate, rate_date, missing, missing_rates}} over groups [{..., currency,
    day, amount}] summed per day: a line's amount in `into` (None when a day of it has no rate), its
    effective rate (amount in `into` / original amount, the spend-weighted average of its days'
    rates), the latest rate date it used and the rates it lacks ([MissingRate]); and the
    Converted whole."""
    into = table.into if table else (into or reporting_currency())
    converted, total = convert_groups(groups, into=into, table=table)
    lines, gaps = {}, defaultdict(lambda: defaultdict(list))
    for g, value, rate in converted:
        line = lines.setdefault(
            key(g), {"original": Decimal("0"), "amount": Decimal("0"), "rate_date": None, "missing": False}
        )
        line["original"] += g["amount"] or Decimal("0")
        if value is None:
            line["missing"] = True
            gaps[key(g)][g["currency"]].append((g["day"], g["amount"] or Decimal("0")))
            continue
        line["amount"] += value
        if line["rate_date"] is None or rate.valid_from > line["rate_date"]:
            line["rate_date"] = rate.valid_from if rate.source != "same currency" else None
    for name, line in lines.items():
        line["missing_rates"] = missing_rates(gaps.get(name, {}), into=into)
        if line["missing"]:
            line["amount"] = line["rate"] = None
        else:
            line["amount"] = line["amount"].quantize(MICRO)
            line["rate"] = (
                (line["amount"] / line["original"]).quantize(Decimal("0.000001"))
                if line["original"]
                else None
            )
    return lines, total
