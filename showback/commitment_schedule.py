"""A commitment's cost month by month, to the cent: the ledger's own arithmetic, so the forecast,
the commitments page and the council's review pack all read the same figure for a month.

A term runs from its first day to its last, both included. Each month carries the term's cost in
proportion to the days of the term that fall in it; the cents are shared by largest remainder, so
the months add up to the term's cost exactly.
"""

import datetime
from collections.abc import Sequence
from decimal import ROUND_FLOOR, Decimal

from aifinops.core import periods

CENT = Decimal("0.01")
ZERO = Decimal("0")


def largest_remainder(total: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """`total` (to the cent) split in proportion to `weights` (none negative), to the cent, the
    parts adding up to `total` exactly. All weights zero: nothing is split (all parts zero)."""
    total = Decimal(total).quantize(CENT)
    weight_sum = sum(weights, ZERO)
    if not weights or weight_sum <= 0:
        return [ZERO.quantize(CENT) for _ in weights]
    cents = int(total / CENT)
    sign = -1 if cents < 0 else 1
    cents = abs(cents)
    exact = [Decimal(cents) * w / weight_sum for w in weights]
    floors = [int(e.to_integral_value(rounding=ROUND_FLOOR)) for e in exact]
    left = cents - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return [Decimal(sign * c) * CENT for c in floors]


def term_months(start: datetime.date, end: datetime.date) -> list[tuple[datetime.date, int]]:
    """[(first day of month, days of the term in it)] from `start` to `end`, both included."""
    out = []
    month = periods.month_start(start)
    while month <= end:
        first = max(month, start)
        last = min(periods.month_end(month), end)
        out.append((month, (last - first).days + 1))
        month = periods.add_months(month, 1)
    return out


def term_schedule(
    total: Decimal, start: datetime.date, end: datetime.date
) -> list[tuple[datetime.date, Decimal]]:
    """[(month, cost)] of a term costing `total`, each month by its days in the term."""
    months = term_months(start, end)
    parts = largest_remainder(total, [Decimal(days) for _, days in months])
    return [(month, part) for (month, _), part in zip(months, parts, strict=True)]


def capacity_total(monthly_price: Decimal, start: datetime.date, end: datetime.date) -> Decimal:
    """The cost of capacity priced by the month over a term: a part month pays its share of days."""
    total = ZERO
    for month, days in term_months(start, end):
        in_month = (periods.month_end(month) - month).days + 1
        total += monthly_price * days / in_month
    return total.quantize(CENT)
