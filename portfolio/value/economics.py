"""Unit economics of a use case, and the reads of its value record and of the optimization backlog.

Cost per outcome sets the month's cost against the month's outcomes. The model cost is the use case's
AI spend from showback; until any spend has been attributed to it, the expected monthly cost from
intake stands in. Outcomes and value per outcome come from the month's value signal, else from the
use case's expectations. Every figure that is an expectation rather than a measurement is flagged.

The tab shows the use case's currency. Measured amounts in other currencies are converted into it by
showback's unit economics (through portfolio.spend): AI spend each day at its rate, other recorded
costs and value at the rate of the first day of their month. So for the same use case and month the
tab gives the figure that the showback page and the dashboard give in that currency. An amount
without a rate is named (`missing_spend`, `missing_costs`, `missing_value`), left out of its total,
and the ratios it would change are None: never counted at 1.
"""

import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from aifinops.core import periods

from .. import spend
from ..choices import CostCategory

ZERO = Decimal("0")
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
    value_per_outcome: Decimal | None = ZERO  # None: the signal's currency has no rate
    value_expected: bool = False
    # {currency: amount as billed} of the month's AI spend, before conversion into `currency`.
    spend_billed: tuple = ()
    # Amounts without a rate into `currency` (showback.fx.MissingRate: currency, amount, days).
    missing_spend: tuple = ()
    missing_costs: tuple = ()
    missing_value: tuple = ()

    @property
    def complete(self) -> bool:
        """Whether every amount of the month had a rate into the tab's currency."""
        return not (self.missing_spend or self.missing_costs or self.missing_value)

    @property
    def missing(self) -> tuple:
        return (*self.missing_spend, *self.missing_costs, *self.missing_value)

    @property
    def converted(self) -> bool:
        """Whether some AI spend was billed in another currency than the tab's."""
        return any(currency != self.currency for currency, _ in self.spend_billed)

    @property
    def full_cost(self) -> Decimal:
        return self.model_cost + self.hidden_costs

    @property
    def cost_per_outcome_model(self) -> Decimal | None:
        if not self.outcomes or self.missing_spend:
            return None
        return _per_unit(self.model_cost / self.outcomes)

    @property
    def cost_per_outcome_full(self) -> Decimal | None:
        if not self.outcomes or self.missing_spend or self.missing_costs:
            return None
        return _per_unit(self.full_cost / self.outcomes)

    @property
    def viable(self) -> bool | None:
        """Full cost per outcome below value per outcome; None when there are no outcomes to divide
        by, or when an amount had no rate (a gate never passes on a guess)."""
        if not self.outcomes or not self.complete:
            return None
        # Compared without rounding: cost < value * outcomes is cost per outcome < value per outcome.
        return self.full_cost < self.value_per_outcome * self.outcomes

    @property
    def margin_per_outcome(self) -> Decimal | None:
        if not self.outcomes or not self.complete:
            return None
        return _per_unit(self.value_per_outcome - self.full_cost / self.outcomes)

    @property
    def loss_per_outcome(self) -> Decimal | None:
        """How much each outcome loses, when the margin is negative."""
        margin = self.margin_per_outcome
        return -margin if margin is not None and margin < 0 else None

    @property
    def monthly_value(self) -> Decimal | None:
        return None if self.value_per_outcome is None else self.value_per_outcome * self.outcomes

    @property
    def has_expectations(self) -> bool:
        return self.model_cost_expected or self.outcomes_expected or self.value_expected


@dataclass(frozen=True)
class EconomicsOverview:
    current: UnitEconomics
    history: list


def _economics_by_month(use_case, months):
    """UnitEconomics for each of `months` (first days, ascending), in the use case's currency, from
    showback's one reading of them: a constant number of queries whatever the months or rows."""
    read = spend.use_case_month_economics(use_case=use_case, months=months, into=use_case.currency)
    first_spend = read["first_spend"]
    labels = dict(CostCategory.choices)

    result = []
    for month in months:
        found = read["months"][month]
        measured = first_spend is not None and first_spend <= month
        by_category = sorted(found["costs"].items(), key=lambda kv: (-kv[1], kv[0]))
        signal = found["signal"]
        result.append(
            UnitEconomics(
                month=month,
                currency=use_case.currency,
                model_cost=found["spend"] if measured else use_case.expected_monthly_cost,
                model_cost_expected=not measured,
                hidden_costs=sum((amount for _, amount in by_category), ZERO),
                hidden_by_category=tuple((c, labels.get(c, c), amount) for c, amount in by_category),
                outcomes=signal["outcomes"] if signal else use_case.outcomes_per_month,
                outcomes_expected=signal is None,
                value_per_outcome=signal["value_per_outcome"] if signal else use_case.value_per_outcome,
                value_expected=signal is None,
                # The tab's currency first, then the others by amount, as showback lists them.
                spend_billed=tuple(
                    sorted(
                        found["spend_billed"].items(),
                        key=lambda kv: (kv[0] != use_case.currency, -kv[1], kv[0]),
                    )
                )
                if measured
                else (),
                missing_spend=tuple(found["spend_missing"]) if measured else (),
                missing_costs=tuple(found["costs_missing"]),
                missing_value=tuple(signal["value_missing"]) if signal else (),
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
