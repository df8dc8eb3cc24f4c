"""A commitment's months: use, coverage, saving against on-demand, and its cost amortised to use
cases. Pure functions over figures the selectors read; no database.

For one month of the term, with C its cost (`Commitment.schedule`):

- draw: what the covered usage drew on the commitment. Committed spend is drawn at what the usage
  cost (effective cost); capacity (PTU, provisioned throughput) is drawn at the usage's value on
  demand, since the capacity paid for itself only as far as it carried that much usage.
- used = min(draw, C); utilisation = used / C; waste = C - used (paid for and not used).
- coverage: the share of the covered usage that ran under the commitment. Spend beyond a committed
  amount is billed on demand, so coverage = used / draw. Capacity takes the traffic sent to it (a
  PTU deployment serves the requests routed to it), so all covered usage ran under it: coverage is
  1 where there was usage. The bill has no throughput figures to tell otherwise.
- saving = on-demand value of the usage that ran under it (coverage x on-demand value) - C:
  negative when the commitment cost more than the usage it carried would have on demand.
- amortised: C split across use cases by their share of the draw, the unused part left to
  "waste"; largest remainder, so the parts and the waste add up to C to the cent.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from ..commitment_schedule import CENT, largest_remainder

ZERO = Decimal("0")
WASTE = "waste"


@dataclass
class Month:
    month: datetime.date
    committed: Decimal
    capacity: bool = False  # capacity (units) rather than committed spend
    draw: Decimal = ZERO
    on_demand: Decimal = ZERO
    by_use_case: dict = field(default_factory=dict)  # {use_case_id or None: draw}
    linked_billed: Decimal = ZERO  # billed on bill rows that name the commitment (FOCUS)
    amortised: dict = field(default_factory=dict)  # {use_case_id or None or WASTE: Decimal}

    @property
    def used(self) -> Decimal:
        return min(self.draw, self.committed)

    @property
    def waste(self) -> Decimal:
        return self.amortised.get(WASTE, ZERO)

    @property
    def utilisation(self) -> Decimal | None:
        return self.used / self.committed if self.committed > 0 else None

    @property
    def coverage(self) -> Decimal | None:
        if self.draw <= 0:
            return None
        return Decimal(1) if self.capacity else self.used / self.draw

    @property
    def saving(self) -> Decimal:
        under = self.on_demand * self.coverage if self.coverage is not None else ZERO
        return (under - self.committed).quantize(CENT)


def amortise(committed: Decimal, by_use_case: dict) -> dict:
    """{use_case_id or None: part, WASTE: unused} of `committed`, to the cent, adding up to it.

    Each use case's weight is its draw; the waste's weight is what the draws fall short of the
    commitment. Negative draws (credits) weigh nothing."""
    keys = [k for k, v in by_use_case.items() if v > 0]
    weights = [by_use_case[k] for k in keys]
    shortfall = committed - sum(weights, ZERO)
    keys.append(WASTE)
    weights.append(shortfall if shortfall > 0 else ZERO)
    if sum(weights, ZERO) <= 0:
        return {WASTE: Decimal(committed).quantize(CENT)}
    return dict(zip(keys, largest_remainder(committed, weights), strict=True))


def months_of(schedule, usage: dict, *, draw_on_demand: bool) -> list[Month]:
    """The months of a term. `schedule` is [(month, cost)]; `usage` {month: {use_case_id:
    (effective cost, on-demand value)}} of the covered usage."""
    out = []
    for month, committed in schedule:
        m = Month(month=month, committed=committed, capacity=draw_on_demand)
        for use_case_id, (effective, on_demand) in usage.get(month, {}).items():
            draw = on_demand if draw_on_demand else effective
            m.by_use_case[use_case_id] = m.by_use_case.get(use_case_id, ZERO) + draw
            m.draw += draw
            m.on_demand += on_demand
        m.draw = max(m.draw, ZERO)
        m.amortised = amortise(committed, m.by_use_case)
        out.append(m)
    return out


@dataclass
class Totals:
    committed: Decimal
    used: Decimal
    waste: Decimal
    saving: Decimal
    draw: Decimal
    ran_under: Decimal  # the part of the covered usage that ran under the commitment

    @property
    def utilisation(self) -> Decimal | None:
        return self.used / self.committed if self.committed > 0 else None

    @property
    def coverage(self) -> Decimal | None:
        return self.ran_under / self.draw if self.draw > 0 else None


def totals(months: list[Month]) -> Totals:
    return Totals(
        committed=sum((m.committed for m in months), ZERO),
        used=sum((m.used for m in months), ZERO),
        waste=sum((m.waste for m in months), ZERO),
        saving=sum((m.saving for m in months), ZERO),
        draw=sum((m.draw for m in months), ZERO),
        ran_under=sum((m.draw * m.coverage for m in months if m.coverage is not None), ZERO),
    )
