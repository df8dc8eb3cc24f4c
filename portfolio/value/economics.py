"""Unit economics of a use case, and the reads of its value record and of the optimization backlog.

Cost per outcome sets the month's cost against the month's outcomes. The model cost is the use case's
AI spend from showback; until any spend has been attributed to it, the expected monthly cost from
intake stands in. Outcomes and value per outcome come from the month's value signal, else from the
use case's expectations. Every figure that is an expectation rather than a measurement is flagged.

Amounts are never added across currencies: spend in another currency than the use case's is kept
apart (`other_currency_spend`) and left out of cost per outcome.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import DecimalField, Sum

from aifinops.core import periods

from .. import spend
from ..choices import CostCategory
from ..models import CostLine, ValueSignal

ZERO = Decimal("0")
MONEY_FIELD = DecimalField(max_digits=24, decimal_places=6)
CENT = Decimal("0.01")
SUB_CENT = Decimal("0.0001")


def _per_unit(amount: Decimal) -> Decimal:
    """Round a per-outcome figure for reading: cents from 0.10 up, four places below (0.0042)."""
    return amount.quantize(CENT if abs(amount) >= Decimal("0.1") else SUB_CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class UnitEconomics:
    month: datetime.date
    currency: str
    model_cost: Decimal
    model_cost_expected: bool
    hidden_costs: Decimal
    hidden_by_category: tuple = ()  # ((category, label, amount), ...), largest first
    outcomes: int = 0
    outcomes_expected: bool = False
    value_per_outcome: Decimal = ZERO
    value_expected: bool = False
    other_currency_spend: dict = field(default_factory=dict)

    @property
    def full_cost(self) -> Decimal:
        return self.model_cost + self.hidden_costs

    @property
    def cost_per_outcome_model(self) -> Decimal | None:
        return _per_unit(self.model_cost / self.outcomes) if self.outcomes else None

    @property
    def cost_per_outcome_full(self) -> Decimal | None:
        return _per_unit(self.full_cost / self.outcomes) if self.outcomes else None

    @property
    def viable(self) -> bool | None:
        """Full cost per outcome below value per outcome; None when there are no outcomes to divide by."""
        if not self.outcomes:
            return None
        # Compared without rounding: cost < value * outcomes is cost per outcome < value per outcome.
        return self.full_cost < self.value_per_outcome * self.outcomes

    @property
    def margin_per_outcome(self) -> Decimal | None:
        if not self.outcomes:
            return None
        return _per_unit(self.value_per_outcome - self.full_cost / self.outcomes)

    @property
    def loss_per_outcome(self) -> Decimal | None:
        """How much each outcome loses, when the margin is negative."""
        margin = self.margin_per_outcome
        return -margin if margin is not None and margin < 0 else None

    @property
    def monthly_value(self) -> Decimal:
        return self.value_per_outcome * self.outcomes

    @property
    def has_expectations(self) -> bool:
        return self.model_cost_expected or self.outcomes_expected or self.value_expected


@dataclass(frozen=True)
class EconomicsOverview:
    current: UnitEconomics
    history: list


def _economics_by_month(use_case, months):
    """UnitEconomics for each of `months` (first days, ascending), with one query per source."""
    first, last = months[0], months[-1]
    # From the beginning of time: whether spend was ever attributed decides measured vs expected.
    monthly_spend = spend.use_case_monthly_spend(
        use_case=use_case,
        start=datetime.date(2000, 1, 1),
        end=periods.add_months(last, 1) - datetime.timedelta(days=1),
    )
    spend_months = sorted(m for m, totals in monthly_spend.items() if any(totals.values()))
    first_spend = spend_months[0] if spend_months else None
    signals = {
        s.month: s for s in ValueSignal.objects.filter(use_case=use_case, month__gte=first, month__lte=last)
    }
    hidden = defaultdict(dict)
    rows = (
        CostLine.objects.filter(
            use_case=use_case, month__gte=first, month__lte=last, currency=use_case.currency
        )
        .order_by()
        .values("month", "category")
        .annotate(total=Sum("amount"))
    )
    for row in rows:
        hidden[row["month"]][row["category"]] = row["total"]
    labels = dict(CostCategory.choices)

    result = []
    for month in months:
        totals = monthly_spend.get(month, {})
        measured = first_spend is not None and first_spend <= month
        by_category = sorted(hidden.get(month, {}).items(), key=lambda kv: (-kv[1], kv[0]))
        signal = signals.get(month)
        result.append(
            UnitEconomics(
                month=month,
                currency=use_case.currency,
                model_cost=totals.get(use_case.currency, ZERO)
                if measured
                else use_case.expected_monthly_cost,
                model_cost_expected=not measured,
                hidden_costs=sum((amount for _, amount in by_category), ZERO),
                hidden_by_category=tuple((c, labels.get(c, c), amount) for c, amount in by_category),
                outcomes=signal.outcomes if signal else use_case.outcomes_per_month,
                outcomes_expected=signal is None,
                value_per_outcome=signal.value_per_outcome if signal else use_case.value_per_outcome,
                value_expected=signal is None,
                other_currency_spend={
                    c: amount for c, amount in totals.items() if c != use_case.currency and amount
                },
            )
        )
    return result


def _default_month(by_month, day):
    """The current month once its value has been recorded, else the last complete month."""
    current = periods.month_start(day)
    entry = by_month.get(current)
    if entry is not None and not entry.outcomes_expected:
        return current
    return periods.months_back(day, 1)


def unit_economics(*, use_case, month=None) -> UnitEconomics:
    """The unit economics of one month; by default the current month once its value signal is in,
    else the last complete month."""
    day = periods.today()
    if month is not None:
        months = [periods.month_start(month)]
    else:
        months = [periods.months_back(day, 1), periods.month_start(day)]
    by_month = {e.month: e for e in _economics_by_month(use_case, months)}
    return by_month[months[0] if month is not None else _default_month(by_month, day)]


def economics_history(*, use_case, months=6) -> list[UnitEconomics]:
    """UnitEconomics for each of the last `months` months, the current one included, oldest first."""
    day = periods.today()
    return _economics_by_month(
        use_case, periods.month_list(periods.months_back(day, months - 1), periods.month_start(day))
    )


def economics_overview(*, use_case, months=6) -> EconomicsOverview:
    """The default month's unit economics and the history, from the same few queries."""
    day = periods.today()
    history = _economics_by_month(
        use_case, periods.month_list(periods.months_back(day, max(months, 2) - 1), periods.month_start(day))
    )
    by_month = {e.month: e for e in history}
    return EconomicsOverview(current=by_month[_default_month(by_month, day)], history=history[-months:])
