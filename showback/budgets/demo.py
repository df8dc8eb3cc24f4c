"""Demo budgets at every level, set against the demo spend so each tells its story on any date:
the portfolio on track, a business function and a provider projected over, a team in approval
mode with an increase request waiting, a use case over its hard cap (capped, with its alerts),
an agent under its cap, and a model on an annual budget.

Evaluation is replayed day by day through the current month, as the hourly check would have run,
so alerts carry the day they fired. A second run finds the budgets and adds nothing.
"""

import datetime
import math
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from aifinops.core.demo import demo_user
from portfolio.choices import BusinessFunction
from portfolio.models import AIModel, Provider, Team, UseCase

from ..models import Budget, BudgetAlert, BudgetIncreaseRequest, BudgetMode, BudgetPeriod, BudgetScope
from . import selectors
from .services import budget_save, budgets_evaluate


@dataclass(frozen=True)
class Spec:
    name: str
    scope: str
    target: str  # slug, key, provider/model ref or business function
    period: str
    mode: str
    owner: str
    # The amount as a multiple of the period's figures at yesterday: ("projected", 1.12) or ("actual", 0.9).
    basis: tuple
    approval_above_pct: int = 100
    thresholds: tuple = (50, 80, 100)


# fmt: off
SPECS = (
    Spec("AI portfolio, monthly", BudgetScope.PORTFOLIO, "", BudgetPeriod.MONTHLY, BudgetMode.ALERT,
         "finance", ("projected", 1.12)),
    Spec("Customer support AI, quarterly", BudgetScope.FUNCTION, BusinessFunction.CUSTOMER_SUPPORT,
         BudgetPeriod.QUARTERLY, BudgetMode.ALERT, "mhernandez", ("projected", 0.96)),
    Spec("Customer Support team, monthly", BudgetScope.TEAM, "customer-support", BudgetPeriod.MONTHLY,
         BudgetMode.APPROVAL, "mhernandez", ("actual", 1 / 0.93), approval_above_pct=90),
    Spec("Ticket triage router, monthly cap", BudgetScope.USE_CASE, "ticket-triage-router",
         BudgetPeriod.MONTHLY, BudgetMode.HARD_CAP, "owner", ("actual", 0.92)),
    Spec("Refund resolution agent, monthly cap", BudgetScope.AGENT, "refund-resolution-agent",
         BudgetPeriod.MONTHLY, BudgetMode.HARD_CAP, "mhernandez", ("projected", 1.5)),
    Spec("OpenAI, monthly", BudgetScope.PROVIDER, "openai", BudgetPeriod.MONTHLY, BudgetMode.ALERT,
         "finance", ("projected", 0.97)),
    Spec("Claude Sonnet 4, annual", BudgetScope.MODEL, "anthropic/claude-sonnet-4-20250514",
         BudgetPeriod.ANNUAL, BudgetMode.ALERT, "finance", ("projected", 1.25), thresholds=(50, 75, 90, 100)),
)
# fmt: on


def _target(spec):
    if spec.scope == BudgetScope.FUNCTION:
        return {"function": spec.target}
    if spec.scope == BudgetScope.TEAM:
        return {"team": Team.objects.filter(slug=spec.target).first()}
    if spec.scope in (BudgetScope.USE_CASE, BudgetScope.AGENT):
        return {"use_case": UseCase.objects.filter(key=spec.target).first()}
    if spec.scope == BudgetScope.PROVIDER:
        return {"provider": Provider.objects.filter(slug=spec.target).first()}
    if spec.scope == BudgetScope.MODEL:
        return {"model": AIModel.objects.filter(ref=spec.target).first()}
    return {}


def _amount(spec, target, day):
    """The amount that puts the budget where the story wants it, from its spend up to `day`."""
    probe = Budget(scope=spec.scope, period=spec.period, currency="USD", **target)
    start, end = selectors.period_bounds(spec.period, day)
    actual = sum((total for _, total in selectors.budget_daily_spend(budget=probe, start=start, end=day)), 0)
    projected = Decimal(actual) / ((day - start).days + 1) * ((end - start).days + 1)
    basis, factor = spec.basis
    figure = projected if basis == "projected" else Decimal(actual)
    amount = figure * Decimal(str(factor))
    # Round to a figure a person would set, without crossing the line the story needs.
    step = Decimal(10) ** max(0, len(str(int(amount))) - 2)
    rounded = (Decimal(math.floor(amount / step)) if factor < 1 else Decimal(math.ceil(amount / step))) * step
    return max(Decimal("100"), rounded)


def seed(*, stdout):
    if Budget.objects.filter(name__in=[s.name for s in SPECS]).exists():
        stdout.write("  budgets: demo budgets already present, nothing to add")
        return
    yesterday = timezone.now().date() - datetime.timedelta(days=1)
    finance = demo_user("finance")
    created = []
    for spec in SPECS:
        target = _target(spec)
        if any(v is None for v in target.values()):
            stdout.write(f"  budgets: skipped {spec.name}: {spec.target} is not in the demo data")
            continue
        values = {
            "name": spec.name,
            "scope": spec.scope,
            "period": spec.period,
            "mode": spec.mode,
            "amount": _amount(spec, target, yesterday),
            "currency": "USD",
            "thresholds": list(spec.thresholds),
            "approval_above_pct": spec.approval_above_pct,
            "owner": demo_user(spec.owner),
            **target,
        }
        created.append(budget_save(actor=finance, values=values))

    ids = [b.pk for b in created]
    day = yesterday.replace(day=1)
    while day <= yesterday:
        at = datetime.datetime.combine(day, datetime.time(23, 0), tzinfo=datetime.UTC)
        alerts = budgets_evaluate(now=at, budget_ids=ids)
        BudgetAlert.objects.filter(pk__in=[a.pk for a in alerts]).update(created_at=at)
        BudgetIncreaseRequest.objects.filter(budget_id__in=ids, created_at__gt=at).update(created_at=at)
        day += datetime.timedelta(days=1)
    alerts = BudgetAlert.objects.filter(budget_id__in=ids).count()
    requests = BudgetIncreaseRequest.objects.filter(budget_id__in=ids).count()
    stdout.write(f"  budgets: {len(created)} budgets, {alerts} alerts, {requests} increase requests")
