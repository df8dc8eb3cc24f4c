"""Template helpers of the council's pages, and the council's card on the use-case page (which
portfolio's view does not compute): `{% use_case_council use_case as council %}`."""

import datetime
from decimal import Decimal, InvalidOperation

from django import template

from aifinops.core import permissions
from portfolio.choices import (
    AutonomyLevel,
    CustomerImpact,
    DataClassification,
    MilestoneStatus,
    OptimizationStatus,
    RiskTier,
    Stage,
)
from portfolio.gates import rules as gates
from showback.models import BudgetMode

from ..models import SEVERITY_RANK, AgendaItem, AgendaItemStatus, Decision

register = template.Library()

SEVERITY_CLASSES = {
    "critical": "text-bg-danger",
    "high": "text-bg-warning",
    "medium": "text-bg-info",
    "low": "text-bg-light border",
}
STATE_CLASSES = {
    "draft": "text-bg-secondary",
    "published": "text-bg-info",
    "in_session": "text-bg-primary",
    "closed": "text-bg-dark",
}
OUTCOME_CLASSES = {
    "approve": "text-bg-success",
    "approve_with_conditions": "text-bg-success",
    "defer": "text-bg-secondary",
    "reject": "text-bg-danger",
    "sunset": "text-bg-dark",
}
FUNDING_CLASSES = {
    "draft": "text-bg-light border",
    "submitted": "text-bg-info",
    "approved": "text-bg-success",
    "rejected": "text-bg-danger",
    "withdrawn": "text-bg-secondary",
}


@register.filter
def severity_class(value):
    return SEVERITY_CLASSES.get(str(value), "text-bg-light border")


@register.filter
def state_class(value):
    return STATE_CLASSES.get(str(value), "text-bg-secondary")


@register.filter
def outcome_class(value):
    return OUTCOME_CLASSES.get(str(value), "text-bg-secondary")


@register.filter
def funding_class(value):
    return FUNDING_CLASSES.get(str(value), "text-bg-secondary")


@register.filter
def grouped_reasons(reasons):
    """Reasons of the same code shown once, with how many fired and the highest severity:
    three open anomalies are one line with a count of three in a compact list."""
    groups = {}
    for r in reasons or []:
        code = r.get("code") or r.get("label")
        group = groups.setdefault(code, {**r, "count": 0, "details": []})
        group["count"] += 1
        group["details"].append(r.get("detail", ""))
        if SEVERITY_RANK.get(r.get("severity"), 1) > SEVERITY_RANK.get(group["severity"], 1):
            group["severity"] = r.get("severity")
    return list(groups.values())


@register.filter
def isodate(value):
    """An ISO date or date-time string from a frozen review pack, as a date to format; else None."""
    if not value:
        return None
    try:
        if "T" in str(value):
            return datetime.datetime.fromisoformat(str(value))
        return datetime.date.fromisoformat(str(value))
    except ValueError:
        return None


PACK_CHOICES = {
    "stage": Stage,
    "risk_tier": RiskTier,
    "autonomy": AutonomyLevel,
    "customer_impact": CustomerImpact,
    "data": DataClassification,
    "optimization": OptimizationStatus,
    "milestone": MilestoneStatus,
    "budget_mode": BudgetMode,
    "budget_state": {"capped": "Capped", "over": "Over", "at_risk": "Projected over", "on_track": "On track"},
}


@register.filter
def pack_label(value, kind):
    """The label of a raw choice value kept in a review pack: `{{ v|pack_label:"autonomy" }}`."""
    choices = PACK_CHOICES.get(kind)
    if isinstance(choices, dict):
        return choices.get(value, value)
    try:
        return choices(value).label if choices else value
    except ValueError:
        return value


@register.filter
def above_zero(value):
    """Whether a number kept as text in a review pack (a variance, say) is above zero."""
    try:
        return Decimal(str(value)) > 0
    except (InvalidOperation, ValueError):
        return False


@register.simple_tag
def use_case_council(use_case, user=None):
    """The council's card of a use-case page: its latest decisions, the item on an open agenda, and
    whether `user` may ask funding for the next milestone. Whoever may open the use-case page may
    read them. Two queries."""
    decisions = list(
        Decision.objects.filter(item__use_case=use_case)
        .select_related("item__meeting")
        .order_by("-recorded_at", "-id")[:3]
    )
    open_item = (
        AgendaItem.objects.filter(use_case=use_case, status=AgendaItemStatus.OPEN)
        .exclude(meeting__state="closed")
        .select_related("meeting")
        .order_by("meeting__scheduled_for")
        .first()
    )
    next_stage = gates.next_stage(use_case)
    return {
        "decisions": decisions,
        "open_item": open_item,
        "next_stage_label": Stage(next_stage).label if next_stage else "",
        "can_request": next_stage is not None
        and user is not None
        and permissions.can_request_funding(user, use_case),
    }
