"""The rules: each yields the reasons one trigger gives a use case, from the gathered facts."""

import itertools
from decimal import ROUND_HALF_UP, Decimal

from aifinops.core.periods import months_back
from portfolio.choices import Stage
from portfolio.gates import rules as gates

from ..models import Severity
from .facts import SCALE_TARGETS, is_low_cost_experiment
from .reasons import Code, Reason

CENT = Decimal("0.01")


def _money(value, currency):
    return f"{Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP):,} {currency}"


def _pct(value):
    return f"{Decimal(value).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)} %"


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


# An intake's risk tier as the severity of its item: the riskier, the earlier on the agenda.
INTAKE_SEVERITY = {"critical": Severity.CRITICAL, "high": Severity.HIGH}


def intake_waiting(intake):
    """The reason an intake that triage sent to review comes before the council."""
    on = f" on {intake.triaged_at:%d %b %Y}" if intake.triaged_at else ""
    why = " ".join(
        f"{r['text'].rstrip('.')}."
        for r in intake.triage_reasons or ()
        if isinstance(r, dict) and r.get("text")
    )
    yield Reason(
        Code.INTAKE_WAITING,
        f"{intake.reference} ({intake.get_risk_tier_display() or 'unrated'} risk) was triaged for review"
        f"{on}. {why}".strip(),
        INTAKE_SEVERITY.get(intake.risk_tier, Severity.MEDIUM),
        f"intake_waiting:{intake.pk}",
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
