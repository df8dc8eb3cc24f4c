"""Demo data for the finance and executive views: customers behind the product's AI spend, their
revenue, and a budget for every team and a few more functions.

- The demo spend of the customer-facing use cases is attributed to customers (as an attribution
  rule on a customer tag would): each record goes to one customer of the use case's segment, chosen
  by the customer's share of usage that month. Three customers' usage outgrows their revenue
  (margin erosion); one is on a trial with no revenue loaded.
- Twelve months of revenue per customer, loaded through the same service as the CSV upload.
- A monthly budget for each team that has none, and quarterly budgets for three more functions,
  set against the demo spend so that some are on track and some run over.

Runs after showback.demo (it reads the demo spend). Every step checks for its rows first, so a
second run writes nothing. Randomness is seeded per record: the same data every run.
"""

import datetime
import random
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from aifinops.core import periods
from aifinops.core.demo import demo_user
from portfolio.choices import BusinessFunction
from portfolio.models import Team, UseCase
from showback.budgets import selectors as budget_selectors
from showback.budgets.services import budget_save
from showback.margins.services import revenue_import
from showback.models import Budget, BudgetMode, BudgetPeriod, BudgetScope, CustomerRevenue, SpendRecord
from showback.rollups import customer_spend_rebuild

SEED = 20261001
SOURCE = "demo"


@dataclass(frozen=True)
class Customer:
    key: str
    segment: str
    plan: str
    revenue: int  # monthly revenue a year ago, in USD
    revenue_growth: float  # month on month
    usage: float  # share of AI usage a year ago, relative
    usage_growth: float  # month on month
    trial: bool = False  # no revenue loaded


# fmt: off
CUSTOMERS = (
    Customer("acme-corp", "Enterprise", "Enterprise", 210_000, 0.030, 3.0, -0.065),
    Customer("globex", "Enterprise", "Enterprise", 160_000, 0.005, 2.4, 0.080),
    Customer("initech", "Enterprise", "Enterprise", 140_000, 0.040, 2.0, -0.060),
    Customer("umbrella-health", "Enterprise", "Enterprise Plus", 190_000, 0.035, 2.5, -0.065),
    Customer("hooli", "Mid-market", "Business", 48_000, 0.045, 1.2, -0.045),
    Customer("soylent", "Mid-market", "Business", 36_000, 0.000, 1.0, 0.100),
    Customer("stark-logistics", "Mid-market", "Business", 55_000, 0.040, 1.3, -0.050),
    Customer("wayne-retail", "Mid-market", "Business", 41_000, 0.050, 1.0, -0.040),
    Customer("pied-piper", "SMB", "Team", 7_500, 0.060, 0.5, -0.040),
    Customer("vandelay", "SMB", "Team", 5_200, -0.010, 0.4, 0.080),
    Customer("bluth-co", "SMB", "Team", 4_100, 0.040, 0.35, -0.060),
    Customer("dunder-paper", "SMB", "Starter", 2_600, 0.040, 0.3, -0.070),
    Customer("massive-dynamic", "Enterprise", "Trial", 0, 0.0, 0.8, 0.050, trial=True),
)
# The customer-facing use cases: which segments they serve and the feature customers see.
SERVED = {
    "in-app-assistant": (("Enterprise", "Mid-market", "SMB"), "in-app help"),
    "semantic-search": (("Enterprise", "Mid-market", "SMB"), "search"),
    "report-narratives": (("Enterprise",), "report narratives"),
    "onboarding-agent": (("SMB", "Mid-market"), "onboarding"),
    "alt-text-generator": (("Enterprise", "Mid-market", "SMB"), "image alt text"),
}
# name, scope, target (team slug or function), period, amount as a multiple of the period's projection
MONTHLY, QUARTERLY = BudgetPeriod.MONTHLY, BudgetPeriod.QUARTERLY
TEAM, FUNCTION = BudgetScope.TEAM, BudgetScope.FUNCTION
BUDGETS = (
    ("Sales Engineering team, monthly", TEAM, "sales-engineering", MONTHLY, 1.15),
    ("Marketing team, monthly", TEAM, "marketing", MONTHLY, 0.92),
    ("Platform Engineering team, monthly", TEAM, "platform-engineering", MONTHLY, 1.05),
    ("Finance Operations team, monthly", TEAM, "finance-operations", MONTHLY, 1.3),
    ("Product team, monthly", TEAM, "product", MONTHLY, 0.97),
    ("Engineering AI, quarterly", FUNCTION, BusinessFunction.ENGINEERING, QUARTERLY, 1.1),
    ("Product AI, quarterly", FUNCTION, BusinessFunction.PRODUCT, QUARTERLY, 1.02),
    ("Marketing AI, quarterly", FUNCTION, BusinessFunction.MARKETING, QUARTERLY, 0.9),
)
# fmt: on


def _months_ago(day, month):
    return periods.months_between(month, day)


def _weights(customers, months_ago):
    return {c.key: c.usage * (1 + c.usage_growth) ** (11 - min(11, months_ago)) for c in customers}


def _allocate(records, customers, months_ago):
    """Give each record of one use case and month to the customer furthest below their share of
    the cost so far: each customer's cost follows their share closely, without random noise."""
    weights = _weights(customers, months_ago)
    total_weight = sum(weights.values())
    allocated = dict.fromkeys(weights, Decimal(0))
    spent = Decimal(0)
    for record in sorted(records, key=lambda r: (-r.effective_cost, r.source_row_key)):
        spent += record.effective_cost
        key = max(weights, key=lambda k: (Decimal(weights[k] / total_weight) * spent - allocated[k], k))
        allocated[key] += record.effective_cost
        record.customer = key


def _attribute_customers(today):
    """Name the customer on each demo record of the customer-facing use cases."""
    if SpendRecord.objects.filter(source=SOURCE).exclude(customer="").exists():
        return 0, None
    use_cases = {uc.pk: uc.key for uc in UseCase.objects.filter(key__in=SERVED)}
    records = list(
        SpendRecord.objects.filter(source=SOURCE, use_case_id__in=use_cases).only(
            "pk", "source_row_key", "use_case_id", "charge_period_start", "effective_cost", "attributed_by"
        )
    )
    if not records:
        return 0, None
    groups = defaultdict(list)
    for record in records:
        month = record.charge_period_start.date().replace(day=1)
        groups[record.use_case_id, month].append(record)
    for (use_case_id, month), members in groups.items():
        segments, feature = SERVED[use_cases[use_case_id]]
        _allocate(members, [c for c in CUSTOMERS if c.segment in segments], _months_ago(today, month))
        for record in members:
            record.feature = feature
            record.attributed_by = record.attributed_by or "tag:customer"
    # A few thousand records share a few dozen (customer, feature, rule) triples: one UPDATE a triple
    # instead of bulk_update's CASE over every primary key, which took seconds of seed_demo.
    same_values = defaultdict(list)
    for record in records:
        same_values[record.customer, record.feature, record.attributed_by].append(record.pk)
    for (customer, feature, attributed_by), pks in same_values.items():
        SpendRecord.objects.filter(pk__in=pks).update(
            customer=customer, feature=feature, attributed_by=attributed_by
        )
    first = min(r.charge_period_start for r in records).date()
    last = max(r.charge_period_start for r in records).date()
    customer_spend_rebuild(start=first, end=last)
    return len(records), (first, last)


def _load_revenue(today):
    if CustomerRevenue.objects.filter(customer__in=[c.key for c in CUSTOMERS]).exists():
        return 0
    rows, line = [], 0
    this_month = today.replace(day=1)
    for months_ago in range(12, 0, -1):
        month = periods.add_months(this_month, -months_ago)
        for c in CUSTOMERS:
            if c.trial:
                continue
            rng = random.Random(f"{SEED}:{c.key}:{month}")  # noqa: S311 - demo figures, not secrets
            amount = c.revenue * (1 + c.revenue_growth) ** (12 - months_ago) * rng.uniform(0.98, 1.02)
            line += 1
            rows.append(
                (
                    line,
                    {
                        "month": f"{month:%Y-%m}",
                        "customer": c.key,
                        "plan": c.plan,
                        "segment": c.segment,
                        "revenue": f"{Decimal(amount).quantize(Decimal('0.01'))}",
                        "currency": "USD",
                    },
                )
            )
    return revenue_import(actor=None, rows=rows, source="demo").created


def _budget_amount(scope, target, period, factor, day):
    probe = Budget(scope=scope, period=period, currency="USD", **target)
    start, end = budget_selectors.period_bounds(period, day)
    actual = sum((t for _, t in budget_selectors.budget_daily_spend(budget=probe, start=start, end=day)), 0)
    projected = Decimal(actual) / ((day - start).days + 1) * ((end - start).days + 1)
    amount = projected * Decimal(str(factor))
    step = Decimal(10) ** max(0, len(str(int(amount))) - 2)
    return max(Decimal("100"), (amount / step).quantize(Decimal(1)) * step)


def _budgets(day):
    existing = set(Budget.objects.filter(name__in=[b[0] for b in BUDGETS]).values_list("name", flat=True))
    finance = demo_user("finance")
    created = 0
    for name, scope, target_key, period, factor in BUDGETS:
        if name in existing:
            continue
        if scope == BudgetScope.TEAM:
            team = Team.objects.filter(slug=target_key).first()
            if team is None or Budget.objects.filter(active=True, scope=scope, team=team).exists():
                continue
            target = {"team": team}
        else:
            if Budget.objects.filter(active=True, scope=scope, function=target_key).exists():
                continue
            target = {"function": target_key}
        budget_save(
            actor=finance,
            values={
                "name": name,
                "scope": scope,
                "period": period,
                "mode": BudgetMode.ALERT,
                "amount": _budget_amount(scope, target, period, factor, day),
                "currency": "USD",
                "owner": finance,
                **target,
            },
        )
        created += 1
    return created


def seed(*, stdout):
    today = timezone.now().date()
    attributed, span = _attribute_customers(today)
    revenue = _load_revenue(today)
    budgets = _budgets(today - datetime.timedelta(days=1))
    parts = [
        f"{attributed} spend records attributed to customers"
        + (f" ({span[0]} to {span[1]})" if span else ""),
        f"{revenue} months of customer revenue",
        f"{budgets} team and function budgets",
    ]
    stdout.write("  finance: " + ", ".join(parts))
