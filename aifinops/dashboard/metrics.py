"""The metric hierarchy of one use case: from cost per outcome (for executives) down to cost per
workflow, per active user, per call and per token (for engineers), month by month.

Every level divides the same AI spend (the use case's DailySpend in its own currency) by a
different count, so each level explains the one above: cost per outcome = calls per outcome x cost
per call, and cost per call = tokens per call x cost per token. A level whose count is missing says
what is missing instead of guessing it.

Cost per workflow sets the AI spend of every use case that serves the same workflow (the use case's
workflow classification, compared case-blind, among the use cases the user may see) against this
use case's outcomes: what one outcome costs the whole workflow, not just this step of it.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q, Sum
from django.db.models.functions import Lower, Trim, TruncMonth

from aifinops.core import periods, permissions
from portfolio.models import UseCase, ValueSignal
from showback.models import DailySpend

from .data import as_date

ZERO = Decimal("0")
MILLION = Decimal(1_000_000)
HISTORY_MONTHS = 6


@dataclass
class Level:
    key: str
    level: str
    metric: str
    audience: str
    value: Decimal | None
    unit: str  # what the value is per
    numerator: str
    denominator: str
    missing: str = ""
    bridge: str = ""  # how this level explains the one above


@dataclass
class MonthFigures:
    month: datetime.date
    currency: str
    cost: Decimal = ZERO
    token_cost: Decimal = ZERO
    requests: int = 0
    input_tokens: int = 0
    cached_tokens: int = 0
    output_tokens: int = 0
    outcomes: int | None = None
    active_users: int | None = None
    value_per_outcome: Decimal | None = None
    workflow_cost: Decimal | None = None
    other_currencies: dict = field(default_factory=dict)

    @property
    def tokens(self):
        return self.input_tokens + self.cached_tokens + self.output_tokens


@dataclass
class Hierarchy:
    use_case: UseCase
    month: datetime.date
    months: list  # [MonthFigures], oldest first
    levels: list  # [Level] of `month`
    workflow_use_cases: list  # [UseCase] sharing the workflow
    history: list  # [(month, {level key: value})]


def _ratio(part, whole):
    return Decimal(part) / Decimal(whole) if whole else None


def _months(day, n):
    return [periods.months_back(day, k) for k in range(n - 1, -1, -1)]


def default_month(use_case, today=None) -> datetime.date:
    """The current month once its value signal is in, else the last complete month."""
    day = today or periods.today()
    this_month = periods.month_start(day)
    if ValueSignal.objects.filter(use_case=use_case, month=this_month).exists():
        return this_month
    return periods.months_back(day, 1)


def _figures(*, user, use_case, months):
    first, last = months[0], months[-1]
    end = periods.add_months(last, 1) - datetime.timedelta(days=1)
    by_month = {m: MonthFigures(month=m, currency=use_case.currency) for m in months}
    tokened = Q(input_tokens__gt=0) | Q(cached_tokens__gt=0) | Q(output_tokens__gt=0)
    rows = (
        DailySpend.objects.filter(use_case=use_case, is_ai=True, date__gte=first, date__lte=end)
        .annotate(month=TruncMonth("date"))
        .order_by()
        .values("month", "currency")
        .annotate(
            cost=Sum("effective_cost"),
            token_cost=Sum("effective_cost", filter=tokened),
            n_requests=Sum("requests"),
            tokens_in=Sum("input_tokens"),
            tokens_cached=Sum("cached_tokens"),
            tokens_out=Sum("output_tokens"),
        )
    )
    for r in rows:
        f = by_month.get(as_date(r["month"]))
        if f is None:
            continue
        if r["currency"] != use_case.currency:
            f.other_currencies[r["currency"]] = r["cost"] or ZERO
            continue
        f.cost = r["cost"] or ZERO
        f.token_cost = r["token_cost"] or ZERO
        f.requests = r["n_requests"] or 0
        f.input_tokens = r["tokens_in"] or 0
        f.cached_tokens = r["tokens_cached"] or 0
        f.output_tokens = r["tokens_out"] or 0
    for s in ValueSignal.objects.filter(use_case=use_case, month__gte=first, month__lte=last):
        f = by_month.get(s.month)
        if f is not None:
            f.outcomes = s.outcomes
            f.active_users = s.active_users
            f.value_per_outcome = s.value_per_outcome if s.currency == use_case.currency else None
    workflow = []
    if use_case.workflow.strip():
        workflow = list(
            UseCase.objects.filter(permissions.use_case_scope(user))
            .annotate(flow=Trim(Lower("workflow")))
            .filter(flow=use_case.workflow.strip().lower())
            .order_by("name")
        )
        rows = (
            DailySpend.objects.filter(
                use_case__in=[uc.pk for uc in workflow],
                is_ai=True,
                currency=use_case.currency,
                date__gte=first,
                date__lte=end,
            )
            .annotate(month=TruncMonth("date"))
            .order_by()
            .values("month")
            .annotate(cost=Sum("effective_cost"))
        )
        totals = defaultdict(Decimal)
        for r in rows:
            totals[as_date(r["month"])] += r["cost"] or ZERO
        for m, f in by_month.items():
            f.workflow_cost = totals.get(m, ZERO)
    return [by_month[m] for m in months], workflow


def _levels(use_case, f: MonthFigures, workflow):
    cur = use_case.currency
    when = f"{f.month:%B %Y}"
    no_spend = f"No AI spend was attributed to this use case in {when}." if not f.cost else ""
    no_signal = (
        f"No value signal for {when}: record the month's outcomes on the use case page."
        if f.outcomes is None
        else ("The value signal of {when} reports no outcomes." if not f.outcomes else "")
    ).format(when=when)
    per_outcome = _ratio(f.cost, f.outcomes) if f.cost and f.outcomes else None
    per_call = _ratio(f.cost, f.requests) if f.cost and f.requests else None
    per_user = _ratio(f.cost, f.active_users) if f.cost and f.active_users else None
    per_mtok = _ratio(f.token_cost * MILLION, f.tokens) if f.token_cost and f.tokens else None
    calls_per_outcome = _ratio(f.requests, f.outcomes) if f.requests and f.outcomes else None
    tokens_per_call = _ratio(f.tokens, f.requests) if f.tokens and f.requests else None

    if not use_case.workflow.strip():
        workflow_missing = "No workflow is named on this use case: set its workflow classification."
        per_workflow = None
    else:
        workflow_missing = no_signal or (
            "" if f.workflow_cost else f"No AI spend in the workflow “{use_case.workflow}” in {when}."
        )
        per_workflow = _ratio(f.workflow_cost, f.outcomes) if f.workflow_cost and f.outcomes else None
    others = len(workflow) - 1
    users_missing = no_spend or (
        f"The value signal of {when} does not report active users."
        if f.outcomes is not None and not f.active_users
        else (no_signal if f.outcomes is None else "")
    )
    return [
        Level(
            "outcome",
            "Executive",
            "Cost per outcome",
            "C-suite, SVP, VP",
            per_outcome,
            f"outcome ({use_case.value_metric})" if use_case.value_metric else "outcome",
            f"AI spend {f.cost:,.2f} {cur}",
            f"{f.outcomes:,} outcomes" if f.outcomes else "outcomes: not reported",
            no_spend or no_signal,
            (
                f"Value per outcome {f.value_per_outcome:,.2f} {cur}: "
                + ("cost is below value." if per_outcome < f.value_per_outcome else "cost is above value.")
            )
            if per_outcome is not None and f.value_per_outcome
            else "",
        ),
        Level(
            "workflow",
            "Business",
            "Cost per workflow",
            "Business unit owners",
            per_workflow,
            "outcome, for the whole workflow",
            f"AI spend of the workflow {f.workflow_cost or ZERO:,.2f} {cur}"
            + (f" ({others + 1} use cases)" if others > 0 else " (this use case only)"),
            f"{f.outcomes:,} outcomes of this use case" if f.outcomes else "outcomes: not reported",
            workflow_missing,
            f"This use case carries {_ratio(f.cost, f.workflow_cost):.0%} of the workflow's AI spend."
            if f.workflow_cost and others > 0
            else "",
        ),
        Level(
            "user",
            "Product",
            "Cost per active user",
            "Product leaders",
            per_user,
            "active user a month",
            f"AI spend {f.cost:,.2f} {cur}",
            f"{f.active_users:,} active users" if f.active_users else "active users: not reported",
            users_missing,
            f"{_ratio(f.outcomes, f.active_users):,.1f} outcomes per active user."
            if f.outcomes and f.active_users
            else "",
        ),
        Level(
            "call",
            "Platform",
            "Cost per call",
            "Platform owners",
            per_call,
            "call",
            f"AI spend {f.cost:,.2f} {cur}",
            f"{f.requests:,} calls" if f.requests else "calls: not in the bills",
            no_spend
            or (
                ""
                if f.requests
                else f"The spend of {when} carries no call counts: its bills do not report them."
            ),
            f"{calls_per_outcome:,.1f} calls per outcome at {per_call:,.5f} {cur} a call make the cost "
            "per outcome."
            if calls_per_outcome is not None and per_call is not None
            else "",
        ),
        Level(
            "token",
            "Engineering",
            "Cost per million tokens",
            "Developers, engineers, QA",
            per_mtok,
            "million tokens",
            f"AI spend on tokens {f.token_cost:,.2f} {cur}",
            f"{f.tokens:,} tokens ({f.input_tokens:,} in, {f.cached_tokens:,} cached, "
            f"{f.output_tokens:,} out)"
            if f.tokens
            else "tokens: not in the bills",
            no_spend
            or (
                "" if f.tokens else f"The spend of {when} carries no token counts: seat fees or other units."
            ),
            f"{tokens_per_call:,.0f} tokens per call at {per_mtok:,.4f} {cur} per million tokens "
            "make the cost per call."
            if tokens_per_call is not None and per_mtok is not None
            else "",
        ),
    ]


def metric_hierarchy(*, user, use_case, month=None, today=None) -> Hierarchy:
    """The hierarchy of `month` (by default the current month once its value signal is in, else the
    last complete month) and of the months before it. The caller checked the user may see the use
    case. A constant number of queries."""
    day = today or periods.today()
    month = periods.month_start(month) if month else default_month(use_case, day)
    months = _months(month, HISTORY_MONTHS)
    figures, workflow = _figures(user=user, use_case=use_case, months=months)
    history = []
    for f in figures:
        history.append((f.month, {lv.key: lv for lv in _levels(use_case, f, workflow)}))
    return Hierarchy(
        use_case=use_case,
        month=month,
        months=figures,
        levels=list(history[-1][1].values()),
        workflow_use_cases=workflow,
        history=history,
    )
