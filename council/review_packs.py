"""The review pack of one agenda item: what the council reads before it decides.

Actual against expected spend, value signals against the KPIs, cost risks and anomalies,
optimization actions under way, the funding request for the next milestone only, and the stage
and gate status. The pack is a JSON-safe dict (money as strings, dates as ISO text) so that
`meeting_publish` can freeze it into the item: a decision then shows what the council saw, however
the data changes later. A page of a draft meeting builds it live, in a fixed number of queries.
"""

from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Q
from django.utils import timezone

from aifinops.core import periods
from aifinops.core.periods import months_back
from portfolio.choices import MilestoneStatus, MoveRequestStatus, OptimizationStatus, Stage
from portfolio.gates import rules as gates
from portfolio.models import (
    Milestone,
    OptimizationItem,
    StageApproval,
    StageMoveRequest,
    UseCase,
    ValueSignal,
)
from portfolio.selectors import backlog_order, stage_gate
from showback.budgets import selectors as budget_selectors
from showback.commitments import selectors as commitment_selectors
from showback.models import Budget, BudgetScope
from showback.selectors import use_case_spend_by_model, use_case_spend_trend

from .models import FundingRequest, FundingStatus
from .triggers import open_high_severity_anomalies, thresholds_for

SPEND_MONTHS = 3
SIGNAL_MONTHS = 3
CENT = Decimal("0.01")
ZERO = Decimal("0")
PACK_VERSION = 1


def _m(value):
    """Money as a string with two decimals, or None."""
    if value is None:
        return None
    return str(Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP))


def _pct(part, whole):
    if not whole:
        return None
    return str((Decimal(part) / Decimal(whole) * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _d(value):
    return value.isoformat() if value else None


def _user(user):
    """A person as the pack shows them: their full name, else their username."""
    return (user.get_full_name() or user.get_username()) if user is not None else None


def _spend(use_case, *, currency, today):
    """The last full months and this one in the use case's currency: spend billed in another
    currency counts at each day's rate, and spend on a day without one is named, never counted at 1."""
    first = months_back(today, SPEND_MONTHS)
    trend = use_case_spend_trend(use_case=use_case, months=SPEND_MONTHS + 1, into=currency, through=today)
    by_month = dict(trend["months"])
    expected = use_case.expected_monthly_cost
    months = []
    for back in range(SPEND_MONTHS, 0, -1):
        month = months_back(today, back)
        actual = by_month.get(month, ZERO)
        months.append(
            {
                "month": month.isoformat(),
                "actual": _m(actual),
                "expected": _m(expected),
                "variance_pct": _pct(actual - expected, expected),
            }
        )
    this_month = periods.month_start(today)
    mtd = by_month.get(this_month, ZERO)
    by_model, _ = use_case_spend_by_model(use_case=use_case, start=first, end=today, into=currency)
    conversion = trend["conversion"]
    return {
        "currency": currency,
        "expected_monthly": _m(expected),
        "months": months,
        "month_to_date": _m(mtd),
        "as_of": today.isoformat(),
        "by_model": [{**r, "amount": _m(r["amount"])} for r in by_model],
        # Spend billed in other currencies: the rates it was counted at, and what had none
        "rates": [str(r) for r in conversion.rates],
        "missing": [
            {"currency": m.currency, "amount": _m(m.amount), "first": _d(m.first), "days": m.days}
            for m in conversion.missing
        ],
    }


def _value(use_case, *, thresholds, today):
    signals = ValueSignal.objects.filter(
        use_case=use_case, month__gte=months_back(today, SIGNAL_MONTHS + 1)
    ).order_by("-month")[:SIGNAL_MONTHS]
    expected = use_case.expected_monthly_value
    criteria = expected * thresholds.success_criteria_pct / 100
    rows = []
    for s in signals:
        value = s.outcomes * s.value_per_outcome
        rows.append(
            {
                "month": s.month.isoformat(),
                "outcomes": s.outcomes,
                "value": _m(value),
                "currency": s.currency,
                "value_vs_expected_pct": _pct(value, expected),
                "meets_success_criteria": bool(expected) and value >= criteria,
                "quality_score": str(s.quality_score) if s.quality_score is not None else None,
                "quality_below_floor": s.quality_score is not None
                and s.quality_score < thresholds.quality_floor,
                "acceptance_rate": str(s.acceptance_rate) if s.acceptance_rate is not None else None,
                "active_users": s.active_users,
            }
        )
    return {
        "metric": use_case.value_metric,
        "success_metric": use_case.success_metric,
        "expected_outcomes_per_month": use_case.outcomes_per_month,
        "expected_value_per_outcome": _m(use_case.value_per_outcome),
        "expected_monthly_value": _m(expected),
        "success_criteria_pct": str(thresholds.success_criteria_pct),
        "quality_floor": str(thresholds.quality_floor),
        "currency": use_case.currency,
        "signals": rows,
    }


def _risks(use_case, *, today):
    budgets = list(
        Budget.objects.filter(
            use_case=use_case, active=True, scope__in=(BudgetScope.USE_CASE, BudgetScope.AGENT)
        ).order_by("id")
    )
    statuses = budget_selectors.budget_statuses(budgets, today=today)
    anomalies = []
    if open_high_severity_anomalies is not None:
        anomalies = [
            {
                "id": a.pk,
                "date": a.date.isoformat(),
                "kind": a.get_kind_display(),
                "severity": a.severity,
                "status": a.status,
                "expected": _m(a.expected),
                "actual": _m(a.actual),
                "currency": a.currency,
                "model": a.model.name if a.model_id else "",
            }
            for a in open_high_severity_anomalies(use_case=use_case)[:10]
        ]
    return {
        "risk_tier": use_case.risk_tier,
        "autonomy_level": use_case.autonomy_level,
        "customer_impact": use_case.customer_impact,
        "data_classification": use_case.data_classification,
        "budgets": [
            {
                "id": b.pk,
                "name": b.name,
                "mode": b.mode,
                "period": b.period,
                "amount": _m(statuses[b.pk].amount),
                "actual": _m(statuses[b.pk].actual),
                "projected": _m(statuses[b.pk].projected),
                "used_pct": str(statuses[b.pk].used_pct),
                "state": statuses[b.pk].state,
                "currency": b.currency,
            }
            for b in budgets
        ],
        "open_high_severity_anomalies": anomalies,
    }


def _optimizations(use_case):
    items = OptimizationItem.objects.filter(
        use_case=use_case, status__in=(OptimizationStatus.PROPOSED, OptimizationStatus.IN_PROGRESS)
    ).order_by(*backlog_order())
    return [
        {
            "title": i.title,
            "lever": i.get_lever_display(),
            "status": i.status,
            "expected_monthly_savings": _m(i.expected_monthly_savings),
            "currency": i.currency,
            "risk": i.risk,
            "effort": i.effort,
        }
        for i in items
    ]


def funding_request_dict(request):
    if request is None:
        return None
    return {
        "id": request.pk,
        "status": request.status,
        "target_stage": request.target_stage,
        "milestone": request.milestone.name if request.milestone_id else None,
        "milestone_due": _d(request.milestone.due_date) if request.milestone_id else None,
        "amount": _m(request.amount),
        "currency": request.currency,
        "period_start": _d(request.period_start),
        "period_end": _d(request.period_end),
        "period_months": request.period_months,
        "expected_outcomes": request.expected_outcomes,
        "requested_by": _user(request.requested_by),
        "submitted_at": _d(request.submitted_at),
    }


def _stage(use_case, *, today):
    target = gates.next_stage(use_case)
    gate = stage_gate(use_case=use_case, stage=target) if target else None
    milestones = (
        Milestone.objects.filter(use_case=use_case)
        .filter(status__in=(MilestoneStatus.PENDING, MilestoneStatus.MISSED))
        .order_by("due_date", "id")
    )
    moves = StageMoveRequest.objects.filter(use_case=use_case, status=MoveRequestStatus.OPEN).order_by(
        "created_at"
    )
    approvals = StageApproval.objects.filter(use_case=use_case, used_at__isnull=True).order_by("created_at")
    return {
        "current": use_case.stage,
        "current_label": use_case.get_stage_display(),
        "next": target,
        "gate": (
            {"stage": target, "complete": gate.complete, "unmet": gate.as_error_list()}
            if gate is not None
            else None
        ),
        "review_needed_for_next": gates.review_reasons(use_case, target) if target else [],
        "consecutive_missed_milestones": use_case.consecutive_missed_milestones,
        "milestones": [
            {"name": m.name, "due_date": _d(m.due_date), "status": m.status, "target_stage": m.target_stage}
            for m in milestones[:10]
        ],
        "open_move_requests": [{"target_stage": m.target_stage, "note": m.note} for m in moves],
        "open_approvals": [
            {"target_stage": a.target_stage, "amount": _m(a.amount), "source": a.source} for a in approvals
        ],
    }


def _commitments(use_case, *, today):
    """The use case's share of each commitment it drew on over the pack's spend months: the cost
    of reserved capacity and committed spend it carries, beside its per-token spend."""
    return [
        {
            "name": s.commitment.name,
            "provider": s.commitment.provider.name,
            "currency": s.commitment.currency,
            "amortised": _m(s.amortised),
            "committed": _m(s.committed),
            "share_pct": _pct(s.amortised, s.committed),
        }
        for s in commitment_selectors.use_case_commitment_shares(
            use_case=use_case, months=SPEND_MONTHS, today=today
        )
    ]


def review_pack_build(*, use_case, reasons=(), thresholds=None, council=None, today=None, now=None):
    """The review pack of `use_case` as of now: a JSON-safe dict.

    `reasons` are the agenda item's reasons (dicts); the funding request shown is the one waiting
    for the council (submitted), for the next milestone only.
    """
    today = today or periods.today()
    now = now or timezone.now()
    thresholds = thresholds or thresholds_for(council)
    request = (
        FundingRequest.objects.filter(use_case=use_case, status=FundingStatus.SUBMITTED)
        .select_related("milestone", "requested_by")
        .first()
    )
    owners = {"business_owner": use_case.business_owner, "technical_owner": use_case.technical_owner}
    return {
        "version": PACK_VERSION,
        "built_at": now.isoformat(),
        "use_case": {
            "id": use_case.pk,
            "key": use_case.key,
            "name": use_case.name,
            "team": use_case.team.name,
            "purpose": use_case.purpose,
            "url": use_case.get_absolute_url(),
            **{role: _user(user) for role, user in owners.items()},
        },
        "reasons": list(reasons),
        "spend": _spend(use_case, currency=thresholds.currency, today=today),
        "commitments": _commitments(use_case, today=today),
        "value": _value(use_case, thresholds=thresholds, today=today),
        "risks": _risks(use_case, today=today),
        "optimizations": _optimizations(use_case),
        "funding_request": funding_request_dict(request),
        "stage": _stage(use_case, today=today),
    }


# The pack of an intake waiting for review: it has no spend, value signals or stage yet, so the
# council reads what the requester answered, why triage sent it, what it expects to cost and
# return, and the use cases most like it.

SIMILAR = 5


def _answer(intake, name):
    field = intake._meta.get_field(name)
    if field.many_to_many:
        return ", ".join(str(m.name) for m in getattr(intake, name).all())
    value = getattr(intake, name)
    if value is None or value == "":
        return ""
    if field.choices:
        return str(getattr(intake, f"get_{name}_display")())
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, Decimal):
        return f"{value:,.2f} {intake.currency}"
    if hasattr(value, "get_full_name"):
        return value.get_full_name() or value.get_username()
    if hasattr(value, "_meta"):
        return str(getattr(value, "name", value))
    return str(value)


def _similar(intake):
    """Use cases (not sunset) of the same team or the same kind of task, the closest first."""
    match = Q(team=intake.team)
    if intake.task_kind:
        match |= Q(task_kind=intake.task_kind)
    candidates = (
        UseCase.objects.exclude(stage=Stage.SUNSET)
        .filter(match)
        .select_related("team")
        .order_by("-updated_at", "id")
    )
    rows = []
    for uc in candidates[: SIMILAR * 4]:
        hits = (
            ("same team", uc.team_id == intake.team_id),
            ("same task", bool(intake.task_kind) and uc.task_kind == intake.task_kind),
            ("same autonomy", uc.autonomy_level == intake.autonomy_level),
        )
        why = [w for w, hit in hits if hit]
        rows.append((-len(why), uc.name, uc, why))
    rows.sort(key=lambda r: (r[0], r[1]))
    return [
        {
            "name": uc.name,
            "key": uc.key,
            "url": uc.get_absolute_url(),
            "team": uc.team.name,
            "stage": uc.get_stage_display(),
            "risk": uc.get_risk_tier_display() if uc.risk_tier else "",
            "expected_monthly_cost": _m(uc.expected_monthly_cost),
            "currency": uc.currency,
            "why": ", ".join(why),
        }
        for _, _, uc, why in rows[:SIMILAR]
    ]


def intake_review_pack_build(*, intake, reasons=(), now=None):
    """The review pack of an intake waiting for the council: a JSON-safe dict."""
    now = now or timezone.now()
    cost, value_each, outcomes = (
        intake.expected_monthly_cost,
        intake.value_per_outcome,
        intake.outcomes_per_month,
    )
    value = value_each * outcomes if value_each is not None and outcomes else None
    answers = []
    for name in intake.INPUT_FIELDS:
        text = _answer(intake, name)
        if text:
            label = str(intake._meta.get_field(name).verbose_name)
            label = label[:1].upper() + label[1:]
            answers.append({"label": label.replace("Ai ", "AI "), "value": text})
    return {
        "version": PACK_VERSION,
        "kind": "intake",
        "built_at": now.isoformat(),
        "intake": {
            "id": intake.pk,
            "reference": intake.reference,
            "name": intake.name,
            "team": intake.team.name,
            "purpose": intake.purpose,
            "url": intake.get_absolute_url(),
            "requester": _user(intake.requester),
            "business_owner": _user(intake.business_owner),
            "technical_owner": _user(intake.technical_owner),
            "submitted_at": _d(intake.submitted_at),
        },
        "reasons": list(reasons),
        "answers": answers,
        "triage": {
            "risk_tier": intake.get_risk_tier_display(),
            "review_path": intake.get_review_path_display(),
            "reasons": [r.get("text", "") for r in intake.triage_reasons or () if isinstance(r, dict)],
            "warnings": [w.get("text", "") for w in intake.triage_warnings or () if isinstance(w, dict)],
        },
        "expected": {
            "currency": intake.currency,
            "monthly_cost": _m(cost),
            "monthly_value": _m(value),
            "value_metric": intake.value_metric,
            "outcomes_per_month": outcomes,
            "value_per_outcome": _m(value_each),
            "calls_per_month": intake.expected_calls_per_month,
            "spend_cap": _m(intake.requested_spend_cap),
            "success_metric": intake.success_metric,
        },
        "similar": _similar(intake),
    }


def item_pack_build(*, item, thresholds=None, now=None):
    """The pack of any agenda item: an intake's while it is not a use case, else the use case's."""
    if item.is_intake_review:
        return intake_review_pack_build(intake=item.intake, reasons=item.reasons, now=now)
    return review_pack_build(
        use_case=item.use_case,
        reasons=item.reasons,
        thresholds=thresholds,
        council=item.meeting.council,
        now=now,
    )
