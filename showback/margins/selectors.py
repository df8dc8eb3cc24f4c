"""Reads of product margins: revenue per customer set against the AI cost to serve them.

Cost to serve is the AI spend of the records that name a customer (the CustomerDailySpend rollup);
revenue is what finance loaded per customer and month. Both are compared month by month in the
customer's revenue currency: spend in another currency counts at each day's rate (showback.fx), and
spend on a day without a rate is counted apart and named, never at 1.

Each customer's revenue, cost to serve and margin, and the page's totals, are also given in the
reporting currency (or another the caller names): cost each day at its rate, revenue on the first
day of its month at the rate then, the rates used and the missing named; a margin is only computed
when neither side misses a rate.

Margin erosion compares the later half of the window with the earlier half: a customer erodes
when their AI cost grows faster than their revenue (by growth rate), and the cost grew.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property

from django.db.models import Sum

from aifinops.core import periods

from .. import fx
from ..models import CustomerDailySpend, CustomerRevenue

ZERO = Decimal("0")
WINDOWS = (3, 6, 12)
DEFAULT_MONTHS = 6
NO_SEGMENT = "No segment"
NO_REVENUE = "No revenue loaded"


def _month(value):
    return value.date() if isinstance(value, datetime.datetime) else value


def _ratio(part, whole):
    return part / whole if whole else None


@dataclass
class CustomerMargin:
    customer: str
    segment: str = ""
    plan: str = ""
    currency: str = "USD"
    revenue: Decimal = ZERO
    cost: Decimal = ZERO
    other_currency_cost: dict = field(default_factory=dict)  # {currency: cost without a rate}
    converted_cost: dict = field(default_factory=dict)  # {currency: cost as billed, counted in `cost`}
    earlier_revenue: Decimal = ZERO
    later_revenue: Decimal = ZERO
    earlier_cost: Decimal = ZERO
    later_cost: Decimal = ZERO
    months_with_revenue: int = 0
    reporting: "InReporting | None" = None

    @property
    def margin(self):
        return self.revenue - self.cost

    @property
    def cost_share(self):
        """AI cost as a share of revenue."""
        return _ratio(self.cost, self.revenue)

    # Read many times by the page and its chart; the figures do not change once margins_get is done.
    @cached_property
    def cost_growth(self):
        return _ratio(self.later_cost - self.earlier_cost, self.earlier_cost)

    @cached_property
    def revenue_growth(self):
        return _ratio(self.later_revenue - self.earlier_revenue, self.earlier_revenue)

    @cached_property
    def eroding(self) -> bool:
        if not self.months_with_revenue or self.later_cost <= self.earlier_cost or not self.earlier_cost:
            return False
        revenue_growth = self.revenue_growth
        return revenue_growth is None or self.cost_growth > revenue_growth


@dataclass
class InReporting:
    """Revenue and cost to serve converted into one currency (fx.Converted each, naming the rates
    used and the missing ones); the margin only when both are complete, never guessed."""

    currency: str
    revenue: fx.Converted
    cost: fx.Converted

    @property
    def complete(self) -> bool:
        return self.revenue.complete and self.cost.complete

    @property
    def margin(self) -> Decimal | None:
        return (self.revenue.amount - self.cost.amount).quantize(fx.MICRO) if self.complete else None

    @property
    def missing(self) -> list:
        return [*self.revenue.missing, *self.cost.missing]

    @property
    def foreign(self) -> bool:
        return self.revenue.foreign or self.cost.foreign

    def as_json(self):
        return {
            "currency": self.currency,
            "revenue": self.revenue.as_json(),
            "cost": self.cost.as_json(),
            "margin": None if self.margin is None else str(self.margin),
            "complete": self.complete,
        }


@dataclass
class SegmentMargin:
    segment: str
    currency: str
    customers: int
    revenue: Decimal
    cost: Decimal

    @property
    def margin(self):
        return self.revenue - self.cost

    @property
    def cost_share(self):
        return _ratio(self.cost, self.revenue)

    @property
    def cost_per_customer(self):
        return _ratio(self.cost, Decimal(self.customers))


@dataclass
class Margins:
    months: list
    earlier: list
    later: list
    customers: list  # [CustomerMargin], by cost, largest first
    segments: list  # [SegmentMargin]
    eroding: list  # [CustomerMargin], most eroding first
    unmatched_cost: list  # [(customer, currency, cost)]: cost to serve with no revenue loaded
    features: list  # [{feature, currency, cost, customers}]
    has_revenue: bool
    has_cost: bool
    conversions: list = field(default_factory=list)  # [fx.Converted] per target currency, when foreign
    reporting: InReporting | None = None  # the whole window, every customer, in one currency


def window(months: int, today=None) -> list[datetime.date]:
    """The last `months` complete months, oldest first."""
    day = today or periods.today()
    return [periods.months_back(day, n) for n in range(months, 0, -1)]


def margins_get(*, months=DEFAULT_MONTHS, today=None, into=None) -> Margins:
    """Margins over the last `months` complete months, in five queries and one more per currency
    cost is counted in (its rates). Each customer and the whole are also given in `into` (the
    reporting currency by default). The caller checked that the user may see margins (finance and
    admins: revenue is commercially sensitive)."""
    span = window(months, today)
    first, last = span[0], span[-1]
    end = periods.months_back(last, -1) - datetime.timedelta(days=1)
    half = len(span) // 2
    earlier, later = set(span[:half]), set(span[half:])

    revenue_rows = list(
        CustomerRevenue.objects.filter(month__gte=first, month__lte=last)
        .order_by("month")
        .values_list("customer", "month", "plan", "segment", "revenue", "currency", named=True)
    )
    cost_rows = list(
        CustomerDailySpend.objects.filter(date__gte=first, date__lte=end)
        .order_by()
        .values("customer", "currency", "date")
        .annotate(total=Sum("effective_cost"))
    )
    revenue_of = {(r.customer, r.month): r for r in revenue_rows}
    by_customer: dict[str, CustomerMargin] = {}

    def entry(name):
        found = by_customer.get(name)
        if found is None:
            found = by_customer[name] = CustomerMargin(customer=name)
        return found

    for r in revenue_rows:  # oldest first: the latest month's segment, plan and currency win
        e = entry(r.customer)
        e.segment, e.plan, e.currency = r.segment, r.plan, r.currency
        e.months_with_revenue += 1
    segment_totals = defaultdict(lambda: {"revenue": ZERO, "cost": ZERO, "customers": set()})
    for r in revenue_rows:
        e = by_customer[r.customer]
        if r.currency != e.currency:
            continue
        e.revenue += r.revenue
        if r.month in earlier:
            e.earlier_revenue += r.revenue
        if r.month in later:
            e.later_revenue += r.revenue
        seg = segment_totals[r.segment or NO_SEGMENT, r.currency]
        seg["revenue"] += r.revenue
        seg["customers"].add(r.customer)
    # Cost to serve counts in the customer's revenue currency (the reporting currency for a
    # customer with no revenue loaded): other currencies at each day's rate by showback.fx, one
    # rate query per target currency; a day without a rate stays apart, named, never at 1.
    reporting = fx.reporting_currency()
    by_target = defaultdict(list)
    for r in cost_rows:
        e = entry(r["customer"])
        target = e.currency if e.months_with_revenue else reporting
        if not e.months_with_revenue:
            e.currency = reporting
        by_target[target].append(
            {
                "customer": r["customer"],
                "currency": r["currency"],
                "day": r["date"],
                "amount": r["total"] or ZERO,
            }
        )
    conversions = []
    unmatched = defaultdict(Decimal)
    for target, groups in sorted(by_target.items()):
        table = fx.RateTable({g["currency"] for g in groups}, target, end)
        converted, whole = fx.convert_groups(groups, into=target, table=table)
        if whole.foreign:
            conversions.append(whole)
        for g, total, _rate in converted:
            customer, currency, month = g["customer"], g["currency"], periods.month_start(g["day"])
            e = by_customer[customer]
            if total is None:
                e.other_currency_cost[currency] = e.other_currency_cost.get(currency, ZERO) + g["amount"]
                continue
            if currency != target:
                e.converted_cost[currency] = e.converted_cost.get(currency, ZERO) + g["amount"]
            e.cost += total
            if month in earlier:
                e.earlier_cost += total
            if month in later:
                e.later_cost += total
            loaded = revenue_of.get((customer, month))
            if loaded is None:
                unmatched[customer, target] += total
                seg = segment_totals[NO_REVENUE, target]
            else:
                seg = segment_totals[loaded.segment or NO_SEGMENT, target]
            seg["cost"] += total
            seg["customers"].add(customer)
    for e in by_customer.values():
        e.cost = e.cost.quantize(fx.MICRO)
    whole = _in_reporting(by_customer, revenue_rows, cost_rows, into=into or reporting, through=end)

    customers = sorted(by_customer.values(), key=lambda e: (-e.cost, e.customer))
    segments = sorted(
        (
            SegmentMargin(segment, currency, len(t["customers"]), t["revenue"], t["cost"])
            for (segment, currency), t in segment_totals.items()
        ),
        key=lambda s: (s.segment == NO_REVENUE, -s.revenue, s.segment),
    )
    eroding = sorted(
        (e for e in customers if e.eroding),
        key=lambda e: -(e.cost_growth - (e.revenue_growth or ZERO)),
    )
    features = (
        CustomerDailySpend.objects.filter(date__gte=first, date__lte=end)
        .order_by()
        .values("feature", "currency")
        .annotate(cost=Sum("effective_cost"))
        .order_by("-cost")[:10]
    )
    return Margins(
        months=span,
        earlier=span[:half],
        later=span[half:],
        customers=customers,
        segments=segments,
        eroding=eroding,
        unmatched_cost=sorted(((c, cur, v) for (c, cur), v in unmatched.items()), key=lambda x: -x[2]),
        features=[
            {"feature": f["feature"] or "No feature named", "currency": f["currency"], "cost": f["cost"]}
            for f in features
        ],
        has_revenue=bool(revenue_rows),
        has_cost=any(e.cost or e.other_currency_cost for e in customers),
        conversions=conversions,
        reporting=whole,
    )


def _in_reporting(by_customer, revenue_rows, cost_rows, *, into, through) -> InReporting:
    """Give each customer its InReporting in `into` and return the whole: one query for the rates.

    Revenue counts the rows its original figure counts (the customer's latest currency), each on
    the first day of its month; cost every row, each day at its rate, straight from the currency it
    was billed in (never through the customer's currency, so no rate is applied twice)."""
    revenue_groups, cost_groups = defaultdict(list), defaultdict(list)
    for r in revenue_rows:
        if r.currency == by_customer[r.customer].currency:
            revenue_groups[r.customer].append(
                {"currency": r.currency, "day": _month(r.month), "amount": r.revenue}
            )
    for r in cost_rows:
        cost_groups[r["customer"]].append(
            {"currency": r["currency"], "day": r["date"], "amount": r["total"] or ZERO}
        )
    currencies = {g["currency"] for gs in (*revenue_groups.values(), *cost_groups.values()) for g in gs}
    table = fx.RateTable(currencies, into, through)
    for name, e in by_customer.items():
        e.reporting = InReporting(
            into,
            fx.convert_groups(revenue_groups[name], into=into, table=table)[1],
            fx.convert_groups(cost_groups[name], into=into, table=table)[1],
        )
    return InReporting(
        into,
        fx.convert_groups([g for gs in revenue_groups.values() for g in gs], into=into, table=table)[1],
        fx.convert_groups([g for gs in cost_groups.values() for g in gs], into=into, table=table)[1],
    )


def revenue_list(*, month=None, customer=None):
    """Loaded revenue rows, newest month first, for the API."""
    qs = CustomerRevenue.objects.order_by("-month", "customer")
    if month is not None:
        qs = qs.filter(month=month)
    if customer:
        qs = qs.filter(customer=customer)
    return qs
