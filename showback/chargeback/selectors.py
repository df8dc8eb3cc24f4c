"""Reads for chargeback: a team's monthly statement, estimated against billed spend, and the rows
of the FOCUS export.

Amounts are summed per currency and never added across currencies. Statements and reconciliation
read the DailySpend rollups; the reconciliation's prices read which months and models of
SpendRecords the price book costed (one grouped query), and the FOCUS export reads SpendRecords,
one at a time, streamed.
"""

import datetime
from collections import defaultdict
from decimal import Decimal

from django.db.models import Q, Sum
from django.db.models.functions import TruncMonth

from aifinops.core import periods, permissions
from portfolio.models import PriceBookEntry
from portfolio.pricing import price_pick

from .. import fx
from .. import selectors as spend
from ..models import PRICED_TOKENS, SpendRecord
from ..rollups import SPEND_SUMS
from .exports import focus_row

ZERO = Decimal("0")
# The ledger's sums, under the names a statement line shows.
MEASURES = {
    "billed": SPEND_SUMS["billed"],
    "effective": SPEND_SUMS["effective"],
    "estimated": SPEND_SUMS["estimated"],
    "input_tokens": SPEND_SUMS["tokens_in"],
    "cached_tokens": SPEND_SUMS["tokens_cached"],
    "output_tokens": SPEND_SUMS["tokens_out"],
    "requests": SPEND_SUMS["n_requests"],
}
MEASURE_NAMES = tuple(MEASURES)


def month_bounds(month: datetime.date) -> tuple[datetime.date, datetime.date]:
    """(first day, first day of the next month) of month's month."""
    start = periods.month_start(month)
    return start, periods.months_back(start, -1)


def _line(row, **labels):
    line = {**labels, "currency": row["currency"]}
    for name in MEASURE_NAMES:
        line[name] = row[name] or (ZERO if name in ("billed", "effective", "estimated") else 0)
    line["tokens"] = line["input_tokens"] + line["cached_tokens"] + line["output_tokens"]
    return line


def _add_shares(lines, totals):
    for line in lines:
        total = totals[line["currency"]]["effective"]
        line["share"] = (line["effective"] * 100 / total).quantize(Decimal("0.1")) if total else None


def team_statement(*, user, team, month):
    """What the team's AI spend was in month, and what drove it.

    Lines per use case (the team's spend attributed to no use case is a line of its own) and per
    provider and model, each per currency with billed, effective and estimated cost, tokens and
    requests; totals per currency. The caller has checked that the user may see the team.
    """
    start, end = month_bounds(month)
    qs = spend.daily_spend_queryset(user=user).filter(team=team, date__gte=start, date__lt=end).order_by()

    by_use_case = [
        _line(
            r,
            key=r["use_case__key"],
            name=r["use_case__name"] or "Not attributed to a use case",
            attributed=r["use_case__key"] is not None,
        )
        for r in qs.values("use_case__key", "use_case__name", "currency")
        .annotate(**MEASURES)
        .order_by("currency", "-effective", "use_case__name")
    ]
    by_model = [
        _line(
            r,
            provider=r["provider__name"] or "Unknown provider",
            provider_key=r["provider__name"],
            model=r["model__name"] or "Unknown model",
            model_key=r["model__key"],
        )
        for r in qs.values("provider__name", "model__name", "model__key", "currency")
        .annotate(**MEASURES)
        .order_by("currency", "-effective", "provider__name", "model__name")
    ]
    totals = {}
    for line in by_use_case:
        total = totals.setdefault(
            line["currency"],
            {name: (ZERO if name in ("billed", "effective", "estimated") else 0) for name in MEASURE_NAMES},
        )
        for name in MEASURE_NAMES:
            total[name] += line[name]
    for total in totals.values():
        total["tokens"] = total["input_tokens"] + total["cached_tokens"] + total["output_tokens"]
    _add_shares(by_use_case, totals)
    _add_shares(by_model, totals)
    unattributed = {line["currency"]: line["effective"] for line in by_use_case if not line["attributed"]}
    reporting = _reporting(qs, by_use_case, by_model, totals, end=end)
    return {
        "reporting": reporting,
        "team": team,
        "month": start,
        "period_end": end - datetime.timedelta(days=1),
        "by_use_case": by_use_case,
        "by_model": by_model,
        "totals": dict(sorted(totals.items())),
        "unattributed": unattributed,
    }


def _reporting(qs, by_use_case, by_model, totals, *, end):
    """Each line and total in the reporting currency, each day at its rate: the line gains
    reporting = {amount, rate, rate_date} (amount None where a day has no rate). Two queries for
    the days of the lines, one for the rates; the Converted whole is returned."""
    groups = {
        "use_case": [
            {
                "key": (r["use_case__key"], r["currency"]),
                "currency": r["currency"],
                "day": r["date"],
                "amount": r["t"],
            }
            for r in qs.values("use_case__key", "currency", "date").annotate(t=Sum("effective_cost"))
        ],
        "model": [
            {
                "key": (r["provider__name"], r["model__key"], r["currency"]),
                "currency": r["currency"],
                "day": r["date"],
                "amount": r["t"],
            }
            for r in qs.values("provider__name", "model__key", "currency", "date").annotate(
                t=Sum("effective_cost")
            )
        ],
    }
    currencies = {g["currency"] for g in groups["use_case"]}
    table = fx.RateTable(currencies, fx.reporting_currency(), end)
    by_key, whole = fx.converted_lines(groups["use_case"], key=lambda g: g["key"], table=table)
    for line in by_use_case:
        line["reporting"] = by_key.get((line["key"], line["currency"]))
    by_key, _ = fx.converted_lines(groups["model"], key=lambda g: g["key"], table=table)
    for line in by_model:
        # by_model's provider and model are display names; the grouping keeps the catalog's.
        line["reporting"] = by_key.get((line["provider_key"], line["model_key"], line["currency"]))
    by_currency, _ = fx.converted_lines(groups["use_case"], key=lambda g: g["currency"], table=table)
    for currency, total in totals.items():
        total["reporting"] = by_currency.get(currency)
    return whole


def reconciliation(*, user, start_month, months):
    """Estimated spend (gateway, LiteLLM: costed from a price book) against billed spend (FOCUS,
    provider cost reports), per provider, month and currency, from start_month for months months.

    Estimated is the effective cost of estimated rows; billed the billed cost of the others. The
    difference is estimated minus billed, and its percentage is of billed (None when nothing was
    billed). Only rows where either exists.
    """
    start = periods.month_start(start_month)
    end = periods.months_back(start, -months)
    rows = (
        spend.daily_spend_queryset(user=user)
        .filter(date__gte=start, date__lt=end)
        .annotate(month=TruncMonth("date"))
        .order_by()
        .values("month", "provider__slug", "provider__name", "currency")
        .annotate(
            estimated=Sum("effective_cost", filter=Q(is_estimated=True)),
            billed=Sum("billed_cost", filter=Q(is_estimated=False)),
            n_estimated=Sum("record_count", filter=Q(is_estimated=True)),
            n_billed=Sum("record_count", filter=Q(is_estimated=False)),
        )
        .order_by("month", "provider__name", "currency")
    )
    result = []
    for r in rows:
        if not (r["n_estimated"] or r["n_billed"]):
            continue
        estimated, billed = r["estimated"] or ZERO, r["billed"] or ZERO
        difference = estimated - billed
        month = r["month"].date() if isinstance(r["month"], datetime.datetime) else r["month"]
        result.append(
            {
                "month": month,
                "provider": r["provider__slug"],
                "provider_name": r["provider__name"] or "Unknown provider",
                "currency": r["currency"],
                "estimated": estimated,
                "billed": billed,
                "has_estimate": bool(r["n_estimated"]),
                "has_bill": bool(r["n_billed"]),
                "difference": difference,
                "difference_pct": (difference * 100 / billed).quantize(Decimal("0.1")) if billed else None,
                "prices": [],
            }
        )
    _prices_used(result, user=user, start=start, end=end)
    return result


def _prices_used(rows, *, user, start, end):
    """Give each reconciliation row with an estimate the prices of the book that costed it, so
    "negotiated price, standard tier, from 1 Nov 2026" explains a gap: per model, the
    standard-tier rows in force on some day of the month at the month's volume, and that volume
    (the tier it reached). Only estimated rows the book costed, which a price change re-costs,
    name a price (`PRICED_TOKENS`: usage-only import rows, the gateway's records of events it
    costed); an estimate that brought its own cost names none. The volume is the ledger's one
    rule (`showback.selectors.model_month_volumes`: every token of the model that month, from
    every source, whoever may see them), the one the gateway and the imports cost with. Four
    queries, however many rows."""
    wanted = {(r["month"], r["provider"], r["currency"]): r for r in rows if r["has_estimate"]}
    if not wanted:
        return
    model_ids = set(
        spend.daily_spend_queryset(user=user)
        .filter(date__gte=start, date__lt=end, is_estimated=True, model__isnull=False)
        .order_by()
        .values_list("model_id", flat=True)
        .distinct()
    )
    if not model_ids:
        return
    usage = list(
        SpendRecord.objects.filter(permissions.spend_scope(user))
        .filter(
            is_ai=True,
            is_estimated=True,
            model_id__in=model_ids,
            charge_period_start__gte=_midnight(start),
            charge_period_start__lt=_midnight(end),
            raw_extras__has_key=PRICED_TOKENS,
        )
        .annotate(month=TruncMonth("charge_period_start", tzinfo=datetime.UTC))
        .order_by()
        .values("month", "provider__slug", "currency", "model_id", "model__name")
        .distinct()
    )
    volumes = spend.model_month_volumes(
        model_ids={u["model_id"] for u in usage}, months={u["month"].date() for u in usage}
    )
    prices = defaultdict(list)
    for price in PriceBookEntry.objects.filter(model_id__in={u["model_id"] for u in usage}):
        prices[price.model_id].append(price)
    for u in sorted(usage, key=lambda u: u["model__name"]):
        month = u["month"].date()
        row = wanted.get((month, u["provider__slug"], u["currency"]))
        if row is None:
            continue
        month_end = periods.months_back(month, -1)
        model_prices = prices[u["model_id"]]
        volume = volumes.get((u["model_id"], month), 0)
        changes = {p.effective_from for p in model_prices if month < p.effective_from < month_end}
        used = []
        for day in [month, *sorted(changes)]:
            price = price_pick(model_prices, on_date=day, monthly_volume=volume)
            if price is not None and price not in used:
                used.append(price)
        row["prices"].append({"model": u["model__name"], "prices": used, "volume": volume})


def _midnight(day):
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=datetime.UTC)


def reconciliation_reporting(*, user, start_month, months):
    """The reconciliation's totals in the reporting currency, each day at its rate: {estimated,
    billed (Converted each, naming rates and missing days), difference (None when some spend had
    no rate)}. Two queries: the sums per (currency, day) and the rates."""
    start = periods.month_start(start_month)
    end = periods.months_back(start, -months)
    rows = list(
        spend.daily_spend_queryset(user=user)
        .filter(date__gte=start, date__lt=end)
        .order_by()
        .values("currency", "date")
        .annotate(
            estimated=Sum("effective_cost", filter=Q(is_estimated=True)),
            billed=Sum("billed_cost", filter=Q(is_estimated=False)),
        )
    )
    into = fx.reporting_currency()
    table = fx.RateTable({r["currency"] for r in rows}, into, max((r["date"] for r in rows), default=start))
    out = {}
    for name in ("estimated", "billed"):
        groups = [{"currency": r["currency"], "day": r["date"], "amount": r[name]} for r in rows if r[name]]
        out[name] = fx.convert_groups(groups, into=into, table=table)[1]
    complete = out["estimated"].complete and out["billed"].complete
    out["difference"] = out["estimated"].amount - out["billed"].amount if complete else None
    out["foreign"] = out["estimated"].foreign or out["billed"].foreign
    return out


def reconciliation_totals(rows):
    """{currency: {estimated, billed, difference}} over reconciliation rows."""
    totals = defaultdict(lambda: {"estimated": ZERO, "billed": ZERO, "difference": ZERO})
    for r in rows:
        for name in ("estimated", "billed", "difference"):
            totals[r["currency"]][name] += r[name]
    return dict(sorted(totals.items()))


def focus_export_records(*, user, month, chunk_size=2000):
    """SpendRecords of AI spend attributed to a team in month, by charge period start, streamed.

    Only billed rows: estimates (LiteLLM, gateways) cost the same usage a bill already covers, so
    exporting both would count it twice; the reconciliation page compares the two instead.
    """
    start, end = month_bounds(month)
    period_start = datetime.datetime.combine(start, datetime.time.min, tzinfo=datetime.UTC)
    period_end = datetime.datetime.combine(end, datetime.time.min, tzinfo=datetime.UTC)
    return (
        SpendRecord.objects.filter(permissions.spend_scope(user))
        .filter(
            is_ai=True,
            is_estimated=False,
            team__isnull=False,
            charge_period_start__gte=period_start,
            charge_period_start__lt=period_end,
        )
        .select_related("team", "use_case", "provider", "model")
        .order_by("charge_period_start", "id")
        .iterator(chunk_size=chunk_size)
    )


def focus_export_rows(*, user, month, version="1.2"):
    """The FOCUS rows of `version` (lists of cells, in `exports.FOCUS_VERSIONS[version]` order) of
    the month's attributed AI spend, one at a time."""
    start, end = month_bounds(month)
    # One query for every rate into the reporting currency up to the month's end, before the rows.
    rates = fx.RateTable(None, fx.reporting_currency(), end)
    for record in focus_export_records(user=user, month=month):
        yield focus_row(record, billing_period=(start, end), rates=rates, version=version)
