"""The maturity scorecard of the AI FinOps programme itself, after "the operating system can start
small": a spend map, named owners, budgets and anomaly alerts, value signals, premium usage
reviewed, an optimization backlog in motion, a monthly cadence. Each figure lists what is missing,
so it can be fixed from the page.

Definitions (the page says them too):
- attributed: the share of last month's AI spend attributed to a use case;
- owners: the share of use cases not sunset with a named business and technical owner;
- budgets: the share of live use cases (MVP to scale) under an active budget of their own (use
  case or agent) or of their team;
- anomaly thresholds: the share of live use cases whose guardrails set an anomaly threshold;
- value signals: the share of live use cases with a value signal in the last three complete months;
- premium reviewed: the share of last month's frontier and reasoning spend in use cases that
  record a model routing policy;
- backlog in motion: the share of backlog items not rejected that are in progress or done; the
  proposals not started are listed, and called stalled after 60 days untouched;
- council cadence: the share of the last three cadence periods in which a council meeting was held.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from aifinops.core import periods, permissions
from portfolio.choices import OptimizationStatus, Stage
from portfolio.models import OptimizationItem, ValueSignal
from showback.models import Budget, BudgetScope

from .data import PREMIUM_TIERS, ZERO, DashboardData
from .filters import default_filters

LIVE = (Stage.MVP, Stage.PILOT, Stage.LAUNCH, Stage.SCALE)
STALLED_DAYS = 60
VALUE_MONTHS = 3
CADENCE_PERIODS = 3
MAX_LISTED = 50


@dataclass
class Missing:
    label: str
    url: str = ""
    detail: str = ""


@dataclass
class Score:
    key: str
    label: str
    step: str  # the step of "start small" it measures
    value: Decimal | None  # a fraction, or None when it cannot be measured yet
    numerator: str
    definition: str
    missing: list = field(default_factory=list)
    missing_total: int = 0
    link: tuple = ()  # (label, url) of the page where it is fixed

    @property
    def level(self):
        if self.value is None:
            return "unknown"
        return (
            "good" if self.value >= Decimal("0.9") else ("fair" if self.value >= Decimal("0.6") else "poor")
        )


def _share(part, whole):
    return Decimal(part) / Decimal(whole) if whole else None


def _listed(items):
    return items[:MAX_LISTED], len(items)


def _not_counted(data: DashboardData) -> str:
    """ " (not counted, no rate: €70 in EUR ...)" for the spend without a rate, or ""."""
    missing = data.reporting.missing
    if not missing:
        return ""
    return (
        " (not counted for want of a rate: "
        + ", ".join(f"{m.amount:,.2f} {m.currency}" for m in missing)
        + ")"
    )


def _attributed(data: DashboardData):
    """In the reporting currency, each day at its rate, as the dashboard's AI spend."""
    cur = data.reporting_currency
    total = data.reporting.amount
    by_team = data.reporting_sum(lambda g: g["team_id"], where=lambda g: g["use_case_id"] is None)
    gaps = {}
    for team_id, amount in by_team.items():
        if amount:
            team = data.teams.get(team_id)
            key = team.name if team else "No team"
            gaps[key] = gaps.get(key, ZERO) + amount
    unattributed = sum(gaps.values(), ZERO)
    missing, n = _listed(
        [
            Missing(f"{name}: {amount:,.2f} {cur} with no use case")
            for name, amount in sorted(gaps.items(), key=lambda kv: -kv[1])
        ]
    )
    return Score(
        "attributed",
        "AI spend attributed",
        "Begin with a spend map",
        _share(total - unattributed, total),
        f"{total - unattributed:,.0f} of {total:,.0f} {cur} last month{_not_counted(data)}",
        "Last month's AI spend attributed to a use case, other currencies at each day's rate.",
        missing,
        n,
        ("Attribute it", reverse("showback:unattributed")),
    )


def _use_case_score(key, label, step, population, has, definition, why_missing, link):
    lacking = [uc for uc in population if not has(uc)]
    missing, n = _listed([Missing(uc.name, uc.get_absolute_url(), why_missing(uc)) for uc in lacking])
    return Score(
        key,
        label,
        step,
        _share(len(population) - len(lacking), len(population)),
        f"{len(population) - len(lacking)} of {len(population)} use cases",
        definition,
        missing,
        n,
        link,
    )


def _premium(data: DashboardData):
    cur = data.reporting_currency
    per_use_case = data.reporting_sum(
        lambda g: g["use_case_id"], where=lambda g: g["model_tier"] in PREMIUM_TIERS and g["use_case_id"]
    )
    total = sum(per_use_case.values(), ZERO)
    unreviewed = [
        (data.use_cases[i], amount)
        for i, amount in sorted(per_use_case.items(), key=lambda kv: -kv[1])
        if i in data.use_cases and not data.use_cases[i].routing_policy.strip()
    ]
    reviewed = total - sum((a for _, a in unreviewed), ZERO)
    missing, n = _listed(
        [
            Missing(uc.name, uc.get_absolute_url(), f"{a:,.2f} {cur} on premium models, no routing policy")
            for uc, a in unreviewed
        ]
    )
    return Score(
        "premium",
        "Premium usage reviewed",
        "Review premium model usage",
        _share(reviewed, total),
        f"{reviewed:,.0f} of {total:,.0f} {cur} of premium spend last month{_not_counted(data)}",
        "Frontier and reasoning spend in use cases that record a model routing policy, other "
        "currencies at each day's rate.",
        missing,
        n,
        ("Premium share on the dashboard", reverse("dashboard:index") + "#premium"),
    )


def _backlog(user, now):
    items = list(
        OptimizationItem.objects.filter(permissions.use_case_scope(user, prefix="use_case__"))
        .exclude(status=OptimizationStatus.REJECTED)
        .select_related("use_case")
    )
    moving = [i for i in items if i.status in (OptimizationStatus.IN_PROGRESS, OptimizationStatus.DONE)]
    waiting = sorted(
        (i for i in items if i.status == OptimizationStatus.PROPOSED), key=lambda i: i.updated_at
    )

    def detail(item):
        days = (now - item.updated_at).days
        if days >= STALLED_DAYS:
            return f"proposed, not started; stalled, untouched for {days} days"
        if days == 0:
            return "proposed today, not started"
        return f"proposed {days} day{'s' if days != 1 else ''} ago, not started"

    missing, n = _listed(
        [Missing(f"{i.title} ({i.use_case.name})", i.use_case.get_absolute_url(), detail(i)) for i in waiting]
    )
    return Score(
        "backlog",
        "Backlog in motion",
        "Build the first optimization backlog",
        _share(len(moving), len(items)),
        f"{len(moving)} of {len(items)} items in progress or done",
        "Backlog items not rejected that are in progress or done; below, the proposals not started, "
        f"oldest first (untouched for {STALLED_DAYS} days: stalled).",
        missing,
        n,
        ("Backlog", reverse("portfolio:optimization_backlog")),
    )


def _council_cadence(now):
    """Meetings held in the last three cadence periods, when the council app records meetings."""
    try:
        from council.models import Council, Meeting
    except ImportError:
        return None
    periods = {"weekly": 7, "fortnightly": 14, "monthly": 30, "quarterly": 91}
    council = Council.objects.order_by("pk").first()
    definition = f"Council meetings held in each of the last {CADENCE_PERIODS} periods of its cadence."
    if council is None:
        return Score(
            "cadence",
            "Council cadence kept",
            "Establish a monthly cadence",
            None,
            "no council set up",
            definition,
            [Missing("No council is set up.")],
            1,
        )
    days = periods.get(council.cadence, 30)
    since = now - datetime.timedelta(days=days * CADENCE_PERIODS)
    held = [
        m.started_at or m.scheduled_for
        for m in Meeting.objects.filter(council=council, scheduled_for__gte=since, scheduled_for__lte=now)
        .filter(Q(started_at__isnull=False) | Q(closed_at__isnull=False))
        .only("started_at", "scheduled_for")
    ]
    kept, missing = 0, []
    for k in range(CADENCE_PERIODS):
        end = now - datetime.timedelta(days=days * k)
        start = end - datetime.timedelta(days=days)
        if any(start < when <= end for when in held):
            kept += 1
        else:
            missing.append(Missing(f"No meeting held from {start:%-d %b} to {end:%-d %b %Y}"))
    return Score(
        "cadence",
        "Council cadence kept",
        "Establish a monthly cadence",
        _share(kept, CADENCE_PERIODS),
        f"{kept} of the last {CADENCE_PERIODS} {council.get_cadence_display().lower()} periods",
        definition,
        missing,
        len(missing),
        ("Council", reverse("council:index")),
    )


def scorecard_get(*, user, now=None) -> list[Score]:
    """Every figure of the scorecard, for a user who may see the whole portfolio (the caller
    checked). A constant number of queries."""
    now = now or timezone.now()
    data = DashboardData(user=user, filters=default_filters(now.date()), now=now)
    use_cases = [uc for uc in data.use_cases.values() if uc.stage != Stage.SUNSET]
    use_cases.sort(key=lambda uc: uc.name)
    live = [uc for uc in use_cases if uc.stage in LIVE]
    budgets = Budget.objects.filter(
        active=True, scope__in=(BudgetScope.USE_CASE, BudgetScope.AGENT, BudgetScope.TEAM)
    ).values_list("use_case_id", "team_id")
    covered_use_cases = {u for u, _ in budgets if u}
    covered_teams = {t for _, t in budgets if t}
    since = periods.months_back(data.today, VALUE_MONTHS)
    with_value = set(ValueSignal.objects.filter(month__gte=since).values_list("use_case_id", flat=True))
    scores = [
        _attributed(data),
        _use_case_score(
            "owners",
            "Use cases with named owners",
            "Name owners",
            use_cases,
            lambda uc: uc.business_owner_id and uc.technical_owner_id,
            "Use cases not sunset with both a business and a technical owner.",
            lambda uc: (
                "no "
                + " and no ".join(
                    w
                    for w, p in (
                        ("business owner", uc.business_owner_id),
                        ("technical owner", uc.technical_owner_id),
                    )
                    if not p
                )
            ),
            ("Portfolio", reverse("portfolio:use_case_list")),
        ),
        _use_case_score(
            "budgets",
            "Live use cases with budgets",
            "Add budgets where risk is highest",
            live,
            lambda uc: uc.pk in covered_use_cases or uc.team_id in covered_teams,
            "Live use cases (MVP to scale) under an active budget of their own or of their team.",
            lambda uc: f"{uc.get_risk_tier_display().lower()} risk, no budget for it or for {uc.team.name}",
            ("Budgets", reverse("showback:budget_list")),
        ),
        _use_case_score(
            "anomaly",
            "Live use cases with anomaly thresholds",
            "Add anomaly alerts where risk is highest",
            live,
            lambda uc: uc.anomaly_threshold_pct is not None,
            "Live use cases whose guardrails set an anomaly threshold.",
            lambda uc: f"{uc.get_risk_tier_display().lower()} risk, no anomaly threshold in its guardrails",
            ("Portfolio", reverse("portfolio:use_case_list")),
        ),
        _use_case_score(
            "value",
            "Live use cases with value signals",
            "Connect spend to value",
            live,
            lambda uc: uc.pk in with_value,
            f"Live use cases with a value signal in the last {VALUE_MONTHS} complete months.",
            lambda uc: f"no value signal since {since:%b %Y}",
            ("Portfolio", reverse("portfolio:use_case_list")),
        ),
        _premium(data),
        _backlog(user, now),
    ]
    cadence = _council_cadence(now)
    if cadence is not None:
        scores.append(cadence)
    return scores
