"""Commitment planning: where a provider's monthly spend has been steady, commit to part of it.

Pure functions over a provider's complete months [(month, Decimal)]; no database.

Providers sell committed use (a monthly or yearly commitment, provisioned throughput, reserved
capacity) at a discount on the on-demand price. Committing pays off only for spend that reliably
recurs, so a suggestion needs:

- at least STABLE_MIN_MONTHS complete months (of the last LOOKBACK_MONTHS) with spend;
- a coefficient of variation (standard deviation / mean) of those months below MAX_CV: steady;
- and it commits the lowest of those months, so that in none of them would the commitment have
  gone unused. Spend above it stays on demand.

The saving assumes COMMITMENT_DISCOUNT on the committed part: 20 % is typical of one-year
commitments and provisioned throughput at the large model vendors and clouds; replace it with the
rate you negotiated. Expected saving = committed amount x discount, a month.
"""

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

LOOKBACK_MONTHS = 6
STABLE_MIN_MONTHS = 3
MAX_CV = Decimal("0.15")
COMMITMENT_DISCOUNT = Decimal("0.20")
ZERO = Decimal("0")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Stability:
    months: int
    mean: Decimal
    cv: Decimal | None
    lowest: Decimal

    @property
    def stable(self) -> bool:
        return self.months >= STABLE_MIN_MONTHS and self.cv is not None and self.cv < MAX_CV


@dataclass(frozen=True)
class Suggestion:
    """Commit `committed` a month: it costs committed x (1 - discount); on-demand spend above it is
    unchanged. `on_demand` is what the recent months cost on average with no commitment."""

    months: int
    on_demand: Decimal
    committed: Decimal
    commitment_cost: Decimal
    monthly_saving: Decimal
    annual_saving: Decimal
    cv: Decimal
    discount: Decimal

    @property
    def plan_cost(self) -> Decimal:
        return self.on_demand - self.monthly_saving


def stability(history: Sequence[tuple[datetime.date, Decimal]]) -> Stability:
    """Steadiness of the last LOOKBACK_MONTHS months, counted from the first with spend."""
    recent = [v for _, v in history][-LOOKBACK_MONTHS:]
    while recent and not recent[0]:
        recent = recent[1:]
    n = len(recent)
    if n == 0:
        return Stability(0, ZERO, None, ZERO)
    mean = sum(recent, ZERO) / n
    if n < 2 or mean <= 0:
        return Stability(n, mean, None, min(recent))
    variance = sum(((v - mean) ** 2 for v in recent), ZERO) / (n - 1)
    return Stability(n, mean, variance.sqrt() / mean, min(recent))


def suggest_commitment(
    history: Sequence[tuple[datetime.date, Decimal]], *, discount: Decimal = COMMITMENT_DISCOUNT
) -> Suggestion | None:
    """The commitment to suggest for one provider's complete months, or None when unsteady."""
    s = stability(history)
    if not s.stable or s.lowest <= 0:
        return None
    committed = s.lowest.quantize(CENT)
    saving = (committed * discount).quantize(CENT)
    return Suggestion(
        months=s.months,
        on_demand=s.mean.quantize(CENT),
        committed=committed,
        commitment_cost=committed - saving,
        monthly_saving=saving,
        annual_saving=saving * 12,
        cv=s.cv,
        discount=discount,
    )
