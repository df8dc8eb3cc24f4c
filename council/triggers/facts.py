"""What the rules read, gathered for every use case at once in a fixed number of queries."""

import datetime
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Max, Min, Q, Sum

from aifinops.core.periods import month_start, months_back
from intake.models import IntakeRequest, IntakeStatus, ReviewPath
from portfolio.choices import GateItemStatus, MilestoneStatus, MoveRequestStatus, Stage
from portfolio.models import GateItemState, Milestone, StageMoveRequest, ValueSignal
from showback.budgets import selectors as budget_selectors
from showback.models import Budget, BudgetScope, DailySpend

from ..models import (
    AgendaItem,
    AgendaItemStatus,
    FundingRequest,
    FundingStatus,
    MeetingState,
    ReviewThresholds,
)

try:
    from showback.analytics.selectors import open_high_severity_anomalies
except ImportError:  # the anomaly selectors are optional; without them that escalation is silent
    open_high_severity_anomalies = None

ZERO = Decimal("0")
SCALE_TARGETS = (Stage.LAUNCH, Stage.SCALE)
EXPERIMENT_STAGES = (Stage.CONCEPT, Stage.MVP)
# Gate items about quality: reopened after their stage was passed, the quality gate has failed.
QUALITY_GATE_ITEMS = ("testing_plan", "guardrails_enforced", "quality_metric")


@dataclass
class _Spend:
    last_month: Decimal = ZERO
    month_to_date: Decimal = ZERO

    @property
    def peak(self):
        return max(self.last_month, self.month_to_date)


def _spend(use_case_ids, *, currency, today):
    """{use case id: _Spend} of AI spend in `currency`, last full month and month to date."""
    this_month, last_month = month_start(today), months_back(today, 1)
    rows = (
        DailySpend.objects.filter(
            use_case_id__in=use_case_ids, is_ai=True, currency=currency, date__gte=last_month, date__lte=today
        )
        .order_by()
        .values("use_case_id")
        .annotate(
            last=Sum("effective_cost", filter=Q(date__lt=this_month)),
            mtd=Sum("effective_cost", filter=Q(date__gte=this_month)),
        )
    )
    return {r["use_case_id"]: _Spend(r["last"] or ZERO, r["mtd"] or ZERO) for r in rows}


def _new_services(use_case_ids, *, since, today):
    """{use case id: [(provider id, model id, name, first day)]} of provider/model pairs whose
    first spend for the use case is on or after `since`: new to it, never seen before."""
    rows = (
        DailySpend.objects.filter(
            use_case_id__in=use_case_ids, is_ai=True, date__lte=today, effective_cost__gt=0
        )
        .order_by()
        .values("use_case_id", "provider_id", "model_id", "provider__name", "model__name")
        .annotate(first=Min("date"))
        .filter(first__gte=since)
    )
    found = defaultdict(list)
    for r in rows:
        name = " / ".join(n for n in (r["provider__name"], r["model__name"]) if n) or "an unnamed service"
        found[r["use_case_id"]].append((r["provider_id"], r["model_id"], name, r["first"]))
    for services in found.values():
        services.sort(key=lambda s: (s[3], s[2]))
    return found


def _handled_keys(use_case_ids, *, exclude_meeting=None):
    """{use case id: keys} the council has decided, or that wait on a published or running meeting."""
    items = AgendaItem.objects.filter(use_case_id__in=use_case_ids).filter(
        Q(status=AgendaItemStatus.DECIDED)
        | Q(
            status=AgendaItemStatus.OPEN, meeting__state__in=(MeetingState.PUBLISHED, MeetingState.IN_SESSION)
        )
    )
    if exclude_meeting is not None:
        items = items.exclude(meeting=exclude_meeting)
    keys = defaultdict(set)
    for use_case_id, reasons in items.values_list("use_case_id", "reasons"):
        keys[use_case_id].update(r.get("key") for r in reasons or ())
    return keys


def waiting_intakes(*, exclude_meeting=None):
    """Intakes that triage sent to review and that nobody has decided yet, with the keys of the
    reasons the council has already seen for each: {intake: handled keys}. Two queries."""
    intakes = list(
        IntakeRequest.objects.filter(status=IntakeStatus.TRIAGED, review_path=ReviewPath.REVIEW)
        .select_related("team", "requester")
        .order_by("triaged_at", "id")
    )
    items = AgendaItem.objects.filter(intake_id__in=[i.pk for i in intakes], use_case__isnull=True).filter(
        Q(status=AgendaItemStatus.DECIDED)
        | Q(
            status=AgendaItemStatus.OPEN, meeting__state__in=(MeetingState.PUBLISHED, MeetingState.IN_SESSION)
        )
    )
    if exclude_meeting is not None:
        items = items.exclude(meeting=exclude_meeting)
    keys = defaultdict(set)
    for intake_id, reasons in items.values_list("intake_id", "reasons"):
        keys[intake_id].update(r.get("key") for r in reasons or ())
    return [(intake, keys.get(intake.pk, set())) for intake in intakes]


def _budgets(use_case_ids, *, today):
    """{use case id: [(budget, status)]} of active use-case and agent budgets."""
    budgets = list(
        Budget.objects.filter(
            use_case_id__in=use_case_ids, active=True, scope__in=(BudgetScope.USE_CASE, BudgetScope.AGENT)
        ).order_by("id")
    )
    statuses = budget_selectors.budget_statuses(budgets, today=today)
    found = defaultdict(list)
    for budget in budgets:
        found[budget.use_case_id].append((budget, statuses[budget.pk]))
    return found


def _over_budget(budgets, limit_pct):
    """[(budget, status, pct over)] of budgets used more than `limit_pct` over their amount."""
    over = []
    for budget, status in budgets:
        if status.amount and status.actual > status.amount * (1 + limit_pct / 100):
            over.append((budget, status, (status.actual / status.amount - 1) * 100))
    return over


def is_low_cost_experiment(use_case, spend, over, thresholds):
    limit = thresholds.experiment_limit
    return use_case.stage in EXPERIMENT_STAGES and spend.peak <= limit and not over


@dataclass
class _Facts:
    """Everything the rules read, gathered for all use cases at once."""

    thresholds: ReviewThresholds
    today: datetime.date
    spend: dict
    new_services: dict
    budgets: dict
    handled: dict
    funding: dict
    moves: dict
    intakes: dict
    last_missed: dict
    signals: dict
    reopened: dict
    anomalies: dict

    def spend_of(self, use_case):
        return self.spend.get(use_case.pk, _Spend())

    def over_budget(self, use_case):
        return _over_budget(self.budgets.get(use_case.pk, []), self.thresholds.over_budget_pct)


def gather(ids, *, thresholds, today, exclude_meeting):
    moves = {}
    for move in StageMoveRequest.objects.filter(
        use_case_id__in=ids, status=MoveRequestStatus.OPEN, target_stage__in=SCALE_TARGETS
    ).order_by("created_at"):
        moves.setdefault(move.use_case_id, move)
    signals = defaultdict(list)
    since = months_back(today, max(thresholds.missed_criteria_reviews, 1) + 1)
    for signal in ValueSignal.objects.filter(use_case_id__in=ids, month__gte=since).order_by("-month"):
        signals[signal.use_case_id].append(signal)
    reopened = defaultdict(list)
    for state in GateItemState.objects.filter(
        use_case_id__in=ids, status=GateItemStatus.OPEN, code__in=QUALITY_GATE_ITEMS
    ).order_by("code"):
        reopened[state.use_case_id].append(state)
    anomalies = defaultdict(list)
    if open_high_severity_anomalies is not None:
        left_since = today - datetime.timedelta(days=thresholds.anomaly_open_days)
        for anomaly in open_high_severity_anomalies().filter(use_case_id__in=ids, date__lte=left_since):
            anomalies[anomaly.use_case_id].append(anomaly)
    return _Facts(
        thresholds=thresholds,
        today=today,
        spend=_spend(ids, currency=thresholds.currency, today=today),
        new_services=_new_services(
            ids, since=today - datetime.timedelta(days=thresholds.new_service_days), today=today
        ),
        budgets=_budgets(ids, today=today),
        handled=_handled_keys(ids, exclude_meeting=exclude_meeting),
        funding={
            fr.use_case_id: fr
            for fr in FundingRequest.objects.filter(
                use_case_id__in=ids, status=FundingStatus.SUBMITTED
            ).select_related("milestone")
        },
        moves=moves,
        intakes={
            intake.use_case_id: intake
            for intake in IntakeRequest.objects.filter(
                use_case_id__in=ids, status=IntakeStatus.ACCEPTED, review_path=ReviewPath.REVIEW
            ).only("id", "use_case_id", "name", "decided_at")
        },
        last_missed=dict(
            Milestone.objects.filter(use_case_id__in=ids, status=MilestoneStatus.MISSED)
            .order_by()
            .values("use_case_id")
            .annotate(last=Max("id"))
            .values_list("use_case_id", "last")
        ),
        signals=signals,
        reopened=reopened,
        anomalies=anomalies,
    )
