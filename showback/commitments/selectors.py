"""Reads of commitments: each with its months (use, coverage, saving, amortisation), in a fixed
number of queries however many commitments and days of spend there are.

Covered usage is read from the DailySpend rollup: the spend on the commitment's provider on the
days of its term, narrowed to its models and its service when it names them, converted into the
commitment's currency at each day's recorded rate (showback.fx); spend on a day with no rate is
not counted and is named (`CommitmentView.missing`), never taken at 1.
Bill rows that name the commitment (FOCUS CommitmentDiscountId, or ContractApplied in 1.3) are
summed from the ledger's records as the spend the provider billed under it.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, Sum
from django.db.models.fields.json import KT
from django.shortcuts import get_object_or_404

from aifinops.core import periods
from portfolio.models import UseCase

from .. import fx
from ..models import Commitment, DailySpend, SpendRecord
from . import amortisation
from .pricing import list_prices_load, on_demand_cost

ZERO = Decimal("0")


@dataclass
class CommitmentView:
    commitment: Commitment
    months: list  # [amortisation.Month]
    totals: amortisation.Totals
    use_cases: dict  # {use_case_id: UseCase}
    missing: list = None  # [fx.MissingRate]: covered spend on days with no rate into its currency

    @property
    def this_month(self):
        return periods.month_start(periods.today())

    @property
    def to_date(self) -> list:
        """The complete months of the term so far: this month is still under way, and its unused
        part is not waste yet."""
        return [m for m in self.months if m.month < self.this_month]

    def month_rows(self):
        """[(month, state)] with state "done", "current" or "to come"."""
        return [
            (
                m,
                "done"
                if m.month < self.this_month
                else "current"
                if m.month == self.this_month
                else "to come",
            )
            for m in self.months
        ]

    @property
    def totals_to_date(self) -> amortisation.Totals:
        return amortisation.totals(self.to_date)

    def amortised_rows(self):
        """[(use case or None, amount)] over the term to date, largest first; waste last."""
        sums = defaultdict(lambda: ZERO)
        for m in self.to_date:
            for key, amount in m.amortised.items():
                sums[key] += amount
        waste = sums.pop(amortisation.WASTE, ZERO)
        rows = sorted(
            ((self.use_cases.get(k) if k else None, v) for k, v in sums.items()), key=lambda r: -r[1]
        )
        return rows, waste


def _covers(commitment, model_ids, row) -> bool:
    if row["provider_id"] != commitment.provider_id:
        return False
    if not commitment.term_start <= row["date"] <= commitment.term_end:
        return False
    if model_ids and row["model_id"] not in model_ids:
        return False
    return not commitment.service_name or row["service_name"] == commitment.service_name


def _usage_rows(commitments):
    if not commitments:
        return []
    start = min(c.term_start for c in commitments)
    end = min(max(c.term_end for c in commitments), periods.today())
    return list(
        DailySpend.objects.filter(
            provider_id__in={c.provider_id for c in commitments},
            is_ai=True,
            date__gte=start,
            date__lte=end,
        )
        .values("date", "provider_id", "model_id", "service_name", "currency", "use_case_id")
        .annotate(
            effective=Sum("effective_cost"),
            list_cost=Sum("list_cost"),
            input_tokens=Sum("input_tokens"),
            cached_tokens=Sum("cached_tokens"),
            output_tokens=Sum("output_tokens"),
        )
        .order_by()
    )


def _linked_rows(commitments):
    """{(id text, month): billed} of bill rows naming a commitment in CommitmentDiscountId or
    ContractApplied, over the commitments' terms."""
    ids = [c.commitment_id for c in commitments if c.commitment_id]
    if not ids:
        return []
    start = min(c.term_start for c in commitments)
    end = max(c.term_end for c in commitments) + datetime.timedelta(days=1)
    named = Q(discount_id__in=ids)
    for commitment_id in ids:
        named |= Q(applied__contains=commitment_id)
    return list(
        SpendRecord.objects.filter(
            charge_period_start__gte=datetime.datetime.combine(start, datetime.time(), tzinfo=datetime.UTC),
            charge_period_start__lt=datetime.datetime.combine(end, datetime.time(), tzinfo=datetime.UTC),
        )
        .annotate(
            discount_id=KT("raw_extras__CommitmentDiscountId"), applied=KT("raw_extras__ContractApplied")
        )
        .filter(named)
        .values("discount_id", "applied", "currency", "charge_period_start__date")
        .annotate(billed=Sum("billed_cost"))
        .order_by()
    )


def _view(commitment, usage_rows, linked, use_cases, list_prices, table):
    usage = defaultdict(lambda: defaultdict(lambda: (ZERO, ZERO)))
    model_ids = {m.pk for m in commitment.models_covered.all()}
    covered = []
    for row in usage_rows:
        if not _covers(commitment, model_ids, row):
            continue
        covered.append(
            {
                "currency": row["currency"],
                "day": row["date"],
                "amount": row["effective"] or ZERO,
                "on_demand": on_demand_cost(row, list_prices=list_prices),
                "use_case_id": row["use_case_id"],
            }
        )
    # Usage billed in another currency counts at the day's rate into the commitment's.
    converted, whole = fx.convert_groups(covered, into=commitment.currency, table=table)
    for group, value, rate in converted:
        if value is None:
            continue
        month = periods.month_start(group["day"])
        effective, on_demand = usage[month][group["use_case_id"]]
        usage[month][group["use_case_id"]] = (effective + value, on_demand + group["on_demand"] * rate.rate)
    months = amortisation.months_of(
        commitment.schedule(), usage, draw_on_demand=commitment.category == "usage"
    )
    by_month = {m.month: m for m in months}
    if commitment.commitment_id:
        for row in linked:
            day = row["charge_period_start__date"]
            named = row["discount_id"] == commitment.commitment_id or commitment.commitment_id in (
                row["applied"] or ""
            )
            if (
                named
                and row["currency"] == commitment.currency
                and commitment.term_start <= day <= commitment.term_end
            ):
                by_month[periods.month_start(day)].linked_billed += row["billed"] or ZERO
    return CommitmentView(commitment, months, amortisation.totals(months), use_cases, whole.missing)


def _views(commitments):
    rows = _usage_rows(commitments)
    linked = _linked_rows(commitments)
    ids = {r["use_case_id"] for r in rows if r["use_case_id"]}
    use_cases = UseCase.objects.in_bulk(ids) if ids else {}
    list_prices = list_prices_load({r["model_id"] for r in rows})
    # One read of the rates per currency the commitments are in, whatever the days and rows.
    through = max((r["date"] for r in rows), default=periods.today())
    currencies = {r["currency"] for r in rows}
    tables = {cur: fx.RateTable(currencies, cur, through) for cur in {c.currency for c in commitments}}
    return [_view(c, rows, linked, use_cases, list_prices, tables[c.currency]) for c in commitments]


def _commitments():
    return Commitment.objects.select_related("provider", "created_by").prefetch_related("models_covered")


def commitment_list() -> list[CommitmentView]:
    """Every commitment (finance and platform admins see them all: the views check the rule)."""
    return _views(list(_commitments()))


def commitment_get(*, pk) -> CommitmentView:
    return _views([get_object_or_404(_commitments(), pk=pk)])[0]


@dataclass
class UseCaseShare:
    commitment: Commitment
    amortised: Decimal  # the use case's part of the commitment's cost in the window
    committed: Decimal  # the commitment's cost in the window
    months: int

    @property
    def share(self) -> Decimal | None:
        return self.amortised / self.committed if self.committed > 0 else None


def use_case_commitment_shares(*, use_case, months=3, today=None) -> list[UseCaseShare]:
    """The use case's share of each commitment it drew on over the last `months` months, this one
    included: what the council's review pack shows beside its spend."""
    today = today or periods.today()
    first = periods.months_back(today, months - 1)
    this_month = periods.month_start(today)
    commitments = list(_commitments().filter(term_end__gte=first, term_start__lte=today))
    out = []
    for view in _views(commitments):
        window = [m for m in view.months if first <= m.month <= this_month]
        part = sum((m.amortised.get(use_case.pk, ZERO) for m in window), ZERO)
        if part:
            committed = sum((m.committed for m in window), ZERO)
            out.append(UseCaseShare(view.commitment, part, committed, len(window)))
    return out
