"""Review triggers and escalation rules: why a use case must come before the council.

`review_triggers` reads the whole portfolio in a fixed number of queries (about fifteen, however
many use cases there are) and returns, per use case, every reason that fires now. Each reason has
a `key` naming the fact that fired it (a funding request, a budget period, a model new to the use
case...). A key already on an agenda item that the council decided, or on an item of a published
or running meeting, is left out: the council does not see the same fact twice, and the agenda
builder adds nothing when run again.

Mandatory reviews: a funding request submitted; a pilot asking to scale (a move, or a funding
request, into launch or scale); monthly spend past the threshold; a provider or model new to the
use case in its spend; an intake triaged as review-required and accepted into a use case.
Escalations: spend more than `over_budget_pct` over an active use-case budget; consecutive missed
milestones; a failed quality gate (the latest value signal's quality below the floor, or a
quality gate item reopened after its stage was passed); a high-severity anomaly left open; the
success criteria missed at consecutive monthly reviews, which recommends a sunset.

Low-cost experimentation within budget never reaches the agenda: a concept or MVP use case whose
spend (last full month and month to date) stays under `experiment_limit`, and that is not over any
budget, is not brought in by a new provider or model. It still comes when its
owners ask for funding or escalations fire.

Spend is compared in the thresholds' currency only; spend in other currencies is never added.
"""

import datetime
import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Max, Min, Q, Sum
from django.utils import timezone

from intake.models import IntakeRequest, IntakeStatus, ReviewPath
from portfolio import gates
from portfolio.choices import GateItemStatus, MilestoneStatus, MoveRequestStatus, Stage
from portfolio.models import GateItemState, Milestone, StageMoveRequest, UseCase, ValueSignal
from showback import budget_selectors
from showback.models import Budget, BudgetScope, DailySpend
from showback.selectors import months_back

from .models import (
    SEVERITY_RANK,
    AgendaItem,
    AgendaItemStatus,
    FundingRequest,
    FundingStatus,
    MeetingState,
    ReviewThresholds,
    Severity,
)

try:
    from showback.analytics.selectors import open_high_severity_anomalies
except ImportError:  # the anomaly selectors are optional; without them that escalation is silent
    open_high_severity_anomalies = None

ZERO = Decimal("0")
CENT = Decimal("0.01")
SCALE_TARGETS = (Stage.LAUNCH, Stage.SCALE)
EXPERIMENT_STAGES = (Stage.CONCEPT, Stage.MVP)
# Gate items about quality: reopened after their stage was passed, the quality gate has failed.
QUALITY_GATE_ITEMS = ("testing_plan", "guardrails_enforced", "quality_metric")


class Code:
    FUNDING_REQUEST = "funding_request"
    SCALE_REQUEST = "scale_request"
    SPEND_THRESHOLD = "spend_threshold"
    NEW_SERVICE = "new_variable_cost_service"
    INTAKE_REVIEW = "intake_review_required"
    OVER_BUDGET = "over_budget"
    MISSED_MILESTONES = "missed_milestones"
    QUALITY_GATE = "quality_gate_failed"
    OPEN_ANOMALY = "open_high_severity_anomaly"
    CRITERIA_MISSED = "success_criteria_missed"


MANDATORY = "mandatory"
ESCALATION = "escalation"

LABELS = {
    Code.FUNDING_REQUEST: "Funding requested for the next milestone",
    Code.SCALE_REQUEST: "Pilot asking to scale",
    Code.SPEND_THRESHOLD: "Spend past the review threshold",
    Code.NEW_SERVICE: "Variable-cost AI service introduced",
    Code.INTAKE_REVIEW: "Intake triaged as review required",
    Code.OVER_BUDGET: "Over the approved budget",
    Code.MISSED_MILESTONES: "Consecutive missed milestones",
    Code.QUALITY_GATE: "Quality gate failed",
    Code.OPEN_ANOMALY: "High-severity anomaly left open",
    Code.CRITERIA_MISSED: "Success criteria missed: sunset recommended",
}
KINDS = {
    Code.FUNDING_REQUEST: MANDATORY,
    Code.SCALE_REQUEST: MANDATORY,
    Code.SPEND_THRESHOLD: MANDATORY,
    Code.NEW_SERVICE: MANDATORY,
    Code.INTAKE_REVIEW: MANDATORY,
    Code.OVER_BUDGET: ESCALATION,
    Code.MISSED_MILESTONES: ESCALATION,
    Code.QUALITY_GATE: ESCALATION,
    Code.OPEN_ANOMALY: ESCALATION,
    Code.CRITERIA_MISSED: ESCALATION,
}


@dataclass(frozen=True)
class Reason:
    code: str
    detail: str
    severity: str
    key: str

    @property
    def label(self):
        return LABELS[self.code]

    def as_dict(self):
        return {
            "code": self.code,
            "label": self.label,
            "detail": self.detail,
            "severity": str(self.severity),
            "kind": KINDS[self.code],
            "key": self.key,
        }


@dataclass
class UseCaseTriggers:
    """Every reason that brings one use case before the council now."""

    use_case: UseCase
    reasons: list = field(default_factory=list)
    amount_at_stake: Decimal = ZERO
    currency: str = "USD"

    @property
    def severity(self):
        return max((r.severity for r in self.reasons), key=lambda s: SEVERITY_RANK[s], default=Severity.LOW)

    @property
    def codes(self):
        return [r.code for r in self.reasons]


def thresholds_for(council) -> ReviewThresholds:
    """The council's thresholds, or the defaults (unsaved) when none were set."""
    found = ReviewThresholds.objects.filter(council=council).first() if council is not None else None
    return found or ReviewThresholds(council=council)


def _money(value, currency):
    return f"{Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP):,} {currency}"


def _pct(value):
    return f"{Decimal(value).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)} %"


@dataclass
class _Spend:
    last_month: Decimal = ZERO
    month_to_date: Decimal = ZERO

    @property
    def peak(self):
        return max(self.last_month, self.month_to_date)


def _spend(use_case_ids, *, currency, today):
    """{use case id: _Spend} of AI spend in `currency`, last full month and month to date."""
    this_month, last_month = today.replace(day=1), months_back(today, 1)
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


def _gather(ids, *, thresholds, today, exclude_meeting):
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


# The rules: each yields the reasons one trigger gives a use case.


def _funding_request(use_case, facts):
    request = facts.funding.get(use_case.pk)
    if request is None:
        return
    milestone = f" ({request.milestone.name})" if request.milestone_id else ""
    yield Reason(
        Code.FUNDING_REQUEST,
        f"{_money(request.amount, request.currency)} for {Stage(request.target_stage).label}{milestone}, "
        f"{request.period_start:%d %b %Y} to {request.period_end:%d %b %Y}.",
        Severity.MEDIUM,
        f"funding_request:{request.pk}",
    )


def _scale_request(use_case, facts):
    request, move = facts.funding.get(use_case.pk), facts.moves.get(use_case.pk)
    stage = use_case.get_stage_display()
    if request is not None and request.target_stage in SCALE_TARGETS:
        yield Reason(
            Code.SCALE_REQUEST,
            f"Asks for funding to move from {stage} to {Stage(request.target_stage).label}.",
            Severity.HIGH,
            f"scale:funding_request:{request.pk}",
        )
    elif move is not None:
        note = f": {move.note}" if move.note else "."
        yield Reason(
            Code.SCALE_REQUEST,
            f"Asks to move from {stage} to {Stage(move.target_stage).label}{note}",
            Severity.HIGH,
            f"scale:move_request:{move.pk}",
        )


def _spend_threshold(use_case, facts):
    limit, currency = facts.thresholds.spend_threshold, facts.thresholds.currency
    spend = facts.spend_of(use_case)
    if not limit or spend.peak <= limit:
        return
    which = "last month" if spend.last_month >= spend.month_to_date else "this month to date"
    yield Reason(
        Code.SPEND_THRESHOLD,
        f"{_money(spend.peak, currency)} {which}, above the {_money(limit, currency)} threshold.",
        Severity.HIGH if spend.peak > 2 * limit else Severity.MEDIUM,
        f"spend_threshold:{limit.normalize():f}{currency}",
    )


def _new_service(use_case, facts):
    if is_low_cost_experiment(
        use_case, facts.spend_of(use_case), facts.over_budget(use_case), facts.thresholds
    ):
        return
    for provider_id, model_id, name, first in facts.new_services.get(use_case.pk, []):
        yield Reason(
            Code.NEW_SERVICE,
            f"{name}: first spend on {first:%d %b %Y}.",
            Severity.MEDIUM,
            f"new_service:{provider_id or '-'}:{model_id or '-'}",
        )


def _intake_review(use_case, facts):
    intake = facts.intakes.get(use_case.pk)
    if intake is None:
        return
    on = f" on {intake.decided_at:%d %b %Y}." if intake.decided_at else "."
    yield Reason(
        Code.INTAKE_REVIEW,
        f"{intake.reference} was triaged as review required and accepted{on}",
        Severity.MEDIUM,
        f"intake:{intake.pk}",
    )


def _over_budget_reasons(use_case, facts):
    for budget, status, pct in facts.over_budget(use_case):
        used, amount = _money(status.actual, status.currency), _money(status.amount, status.currency)
        yield Reason(
            Code.OVER_BUDGET,
            f"{used} against {amount} ({budget.name}, period from {status.period_start:%d %b %Y}): "
            f"{_pct(pct)} over.",
            Severity.CRITICAL if pct >= 50 else Severity.HIGH,
            f"over_budget:{budget.pk}:{status.period_start.isoformat()}",
        )


def _missed_milestones(use_case, facts):
    missed = use_case.consecutive_missed_milestones
    if missed >= facts.thresholds.missed_milestones:
        yield Reason(
            Code.MISSED_MILESTONES,
            f"{missed} milestones missed in a row.",
            Severity.HIGH,
            f"missed_milestones:{facts.last_missed.get(use_case.pk, missed)}",
        )


def _quality_gate(use_case, facts):
    recent = facts.signals.get(use_case.pk, [])
    floor = facts.thresholds.quality_floor
    latest = recent[0] if recent else None
    if latest is not None and latest.quality_score is not None and latest.quality_score < floor:
        yield Reason(
            Code.QUALITY_GATE,
            f"Quality {latest.quality_score} in {latest.month:%B %Y}, below the floor of {floor}.",
            Severity.HIGH,
            f"quality:{latest.pk}",
        )
    for state in facts.reopened.get(use_case.pk, []):
        item = gates.ITEMS_BY_CODE.get(state.code)
        if item is None or not _stage_passed(use_case, item.stage):
            continue
        yield Reason(
            Code.QUALITY_GATE,
            f"“{item.label}” was reopened on {state.updated_at:%d %b %Y}, after the "
            f"{Stage(item.stage).label} gate was passed.",
            Severity.HIGH,
            f"gate_item:{state.pk}:{state.updated_at:%Y%m%d%H%M%S}",
        )


def _open_anomaly(use_case, facts):
    for anomaly in facts.anomalies.get(use_case.pk, []):
        actual, expected = (
            _money(anomaly.actual, anomaly.currency),
            _money(anomaly.expected, anomaly.currency),
        )
        days = (facts.today - anomaly.date).days
        yield Reason(
            Code.OPEN_ANOMALY,
            f"{anomaly.get_kind_display()} on {anomaly.date:%d %b %Y}: {actual} against {expected} expected, "
            f"{anomaly.get_status_display().lower()} for {days} days.",
            Severity.HIGH,
            f"anomaly:{anomaly.pk}",
        )


def _criteria_missed_reasons(use_case, facts):
    thresholds = facts.thresholds
    months = _criteria_missed(use_case, facts.signals.get(use_case.pk, []), thresholds)
    if months:
        expected = _money(use_case.expected_monthly_value, use_case.currency)
        yield Reason(
            Code.CRITERIA_MISSED,
            f"Value below {_pct(thresholds.success_criteria_pct)} of the expected {expected} a month in "
            + ", ".join(f"{m:%B %Y}" for m in reversed(months))
            + ": the council is asked to consider a sunset.",
            Severity.CRITICAL,
            f"criteria:{months[0].isoformat()}",
        )


RULES = (
    _funding_request,
    _scale_request,
    _spend_threshold,
    _new_service,
    _intake_review,
    _over_budget_reasons,
    _missed_milestones,
    _quality_gate,
    _open_anomaly,
    _criteria_missed_reasons,
)


def review_triggers(*, thresholds, today=None, use_case_ids=None, exclude_meeting=None):
    """{use case id: UseCaseTriggers} of the use cases with at least one reason not yet handled.

    `exclude_meeting` is the draft being built: keys already on it are not treated as handled, so
    the builder sees every reason and adds the new ones to its items.
    """
    today = today or timezone.now().date()
    use_cases = UseCase.objects.exclude(stage=Stage.SUNSET).order_by("id")
    if use_case_ids is not None:
        use_cases = use_cases.filter(pk__in=use_case_ids)
    use_cases = list(use_cases)
    if not use_cases:
        return {}
    facts = _gather(
        [uc.pk for uc in use_cases], thresholds=thresholds, today=today, exclude_meeting=exclude_meeting
    )
    found = {}
    for use_case in use_cases:
        done = facts.handled.get(use_case.pk, set())
        reasons = [r for rule in RULES for r in rule(use_case, facts) if r.key not in done]
        if not reasons:
            continue
        request = facts.funding.get(use_case.pk)
        if request is not None:
            at_stake, currency = request.amount, request.currency
        else:
            at_stake = facts.spend_of(use_case).peak or use_case.expected_monthly_cost
            currency = thresholds.currency
        found[use_case.pk] = UseCaseTriggers(
            use_case=use_case, reasons=reasons, amount_at_stake=at_stake, currency=currency
        )
    return found


def _stage_passed(use_case, stage):
    if use_case.stage not in gates.FORWARD or stage not in gates.FORWARD:
        return False
    return gates.FORWARD.index(use_case.stage) >= gates.FORWARD.index(stage)


def _criteria_missed(use_case, recent, thresholds):
    """The months (newest first) of the last `missed_criteria_reviews` consecutive monthly value
    signals, when each delivered less than the success criteria; else []."""
    expected = use_case.expected_monthly_value
    needed = thresholds.missed_criteria_reviews
    if not expected or len(recent) < needed:
        return []
    window = recent[:needed]
    for newer, older in itertools.pairwise(window):
        if months_back(newer.month, 1) != older.month:
            return []
    floor = expected * thresholds.success_criteria_pct / 100
    if all(s.outcomes * s.value_per_outcome < floor for s in window):
        return [s.month for s in window]
    return []
