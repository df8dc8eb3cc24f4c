"""Driver assumptions: what a planner knows that the history cannot (a launch, adoption growth, a
planned model switch), applied to a forecast. Pure functions; no database.

Assumptions shape the future only: the history already shows the past. A step that starts
mid-month counts for the days after it.
"""

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from aifinops.core.periods import add_months, months_between

from .forecasting import CENT, ONE, ZERO, Forecast, ForecastPoint


@dataclass(frozen=True)
class Adjustment:
    """A planner's assumption, ready to apply: see `adjust`.

    launch_date: from `effective_from` the spend steps up to `level` a month (when above the
    forecast), or by `step_pct` percent. adoption_growth: from `effective_from`'s month on, spend
    grows `growth_pct` percent a month, compounding, on top of the trend the history shows.
    model_switch: from `effective_from`, the `share` of the spend that runs on the replaced model
    costs `price_ratio` times as much. A step that starts mid-month counts for the days after it.
    """

    kind: str
    effective_from: datetime.date
    level: Decimal | None = None
    step_pct: Decimal | None = None
    growth_pct: Decimal | None = None
    share: Decimal = ONE
    price_ratio: Decimal = ONE
    label: str = ""


ORDER = {"launch_date": 0, "model_switch": 1, "adoption_growth": 2}


def _month_fraction_after(month: datetime.date, day: datetime.date) -> Decimal:
    """The share of `month` from `day` on: 1 for later months, 0 for earlier ones."""
    if day <= month:
        return ONE
    next_month = add_months(month, 1)
    if day >= next_month:
        return ZERO
    return Decimal((next_month - day).days) / (next_month - month).days


def _apply(point: ForecastPoint, adjustment: Adjustment, first_month: datetime.date) -> ForecastPoint:
    fraction = _month_fraction_after(point.month, adjustment.effective_from)
    if adjustment.kind == "adoption_growth":
        start = max(
            first_month, datetime.date(adjustment.effective_from.year, adjustment.effective_from.month, 1)
        )
        k = months_between(start, point.month)
        if k <= 0:
            return point
        factor = (1 + (adjustment.growth_pct or ZERO) / 100) ** k
        return replace(
            point, value=point.value * factor, lower=point.lower * factor, upper=point.upper * factor
        )
    if not fraction:
        return point
    if adjustment.kind == "model_switch":
        factor = 1 + fraction * adjustment.share * (adjustment.price_ratio - 1)
        return replace(
            point, value=point.value * factor, lower=point.lower * factor, upper=point.upper * factor
        )
    if adjustment.kind == "launch_date":
        if adjustment.step_pct is not None:
            target = point.value * (1 + adjustment.step_pct / 100)
        else:
            target = max(point.value, adjustment.level or ZERO)
        delta = (target - point.value) * fraction
        return replace(point, value=point.value + delta, lower=point.lower + delta, upper=point.upper + delta)
    raise ValueError(f"Unknown assumption kind {adjustment.kind!r}.")


def adjust(base: Forecast, adjustments: Sequence[Adjustment]) -> Forecast:
    """The forecast with the assumptions applied: launches first, then model switches, then growth,
    each in date order. Assumptions shape the future only; the history already shows the past."""
    if not adjustments or not base.points:
        return base
    first_month = base.points[0].month
    ordered = sorted(adjustments, key=lambda a: (ORDER[a.kind], a.effective_from))
    points = []
    for point in base.points:
        for adjustment in ordered:
            point = _apply(point, adjustment, first_month)
        points.append(
            ForecastPoint(
                point.month,
                max(ZERO, point.value).quantize(CENT),
                max(ZERO, point.lower).quantize(CENT),
                max(ZERO, point.upper).quantize(CENT),
            )
        )
    return replace(base, points=points, adjusted=True)


def with_delta(base: Forecast, deltas: Sequence[Decimal]) -> Forecast:
    """The forecast with an amount added to each month (a use case's assumptions, in the portfolio)."""
    points = [
        replace(p, value=max(ZERO, p.value + d), lower=max(ZERO, p.lower + d), upper=max(ZERO, p.upper + d))
        for p, d in zip(base.points, deltas, strict=True)
    ]
    return replace(base, points=points, adjusted=base.adjusted or any(deltas))


@dataclass(frozen=True)
class ModelMix:
    """A model's part of a use case's recent spend, for pricing a switch."""

    input_price: Decimal
    output_price: Decimal
    input_tokens: int
    output_tokens: int
    cost: Decimal


# Input tokens per output token assumed when the history has no token counts.
DEFAULT_INPUT_PER_OUTPUT = 4


def switch_price_ratio(
    mix: Sequence[ModelMix], target_input: Decimal, target_output: Decimal
) -> Decimal | None:
    """What the same tokens would cost on the target model, as a multiple of today's cost: the
    cost-weighted average over the models replaced, each priced with its own input/output mix
    (4 input tokens per output token when unknown). Cached input is priced as input."""
    weighted, weights = ZERO, ZERO
    for m in mix:
        tokens_in, tokens_out = m.input_tokens, m.output_tokens
        if not tokens_in and not tokens_out:
            tokens_in, tokens_out = DEFAULT_INPUT_PER_OUTPUT, 1
        current = tokens_in * m.input_price + tokens_out * m.output_price
        if current <= 0:
            continue
        target = tokens_in * target_input + tokens_out * target_output
        weight = m.cost if m.cost > 0 else ONE
        weighted += weight * target / current
        weights += weight
    return weighted / weights if weights else None
