"""Writes of a use case's value record: milestones, monthly value signals, cost lines beyond the model
bill (the optimization backlog is in backlog.py).

Each service checks `can_manage_use_case`, validates, saves and writes its audit event in one
transaction. Only `milestones_mark_overdue` runs without a person: the scheduled task calls it.
"""

from collections import defaultdict
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from aifinops.core import periods
from aifinops.core.audit import audit_record, snapshot
from aifinops.core.notifications import notify
from aifinops.core.services import audited_save

from ..choices import CostCategory, MilestoneStatus, Stage
from ..models import CostLine, Milestone, UseCase, ValueSignal
from ._common import (
    _check_due_date,
    _choice,
    _currency_of,
    _full_clean,
    _money,
    _month,
    _require_manager,
)


@transaction.atomic
def milestone_create(*, actor, use_case, name, due_date, target_stage=""):
    _require_manager(actor, use_case)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Name the milestone, e.g. “Pilot with 50 agents”."})
    if target_stage:
        _choice(target_stage, Stage, "target_stage", "stages")
    _check_due_date(due_date)
    milestone = Milestone(use_case=use_case, name=name, due_date=due_date, target_stage=target_stage or "")
    _full_clean(milestone)
    milestone.save()
    audit_record(actor=actor, action="milestone.create", obj=milestone, after=snapshot(milestone))
    return milestone


@transaction.atomic
def milestone_update(*, actor, milestone, name=None, due_date=None, target_stage=None):
    """Rename a milestone, change its target stage, or move the due date of a pending one."""
    milestone = Milestone.objects.select_for_update().select_related("use_case").get(pk=milestone.pk)
    _require_manager(actor, milestone.use_case)
    before = snapshot(milestone)
    if name is not None:
        name = name.strip()
        if not name:
            raise ValidationError({"name": "Name the milestone, e.g. “Pilot with 50 agents”."})
        milestone.name = name
    if target_stage is not None:
        if target_stage:
            _choice(target_stage, Stage, "target_stage", "stages")
        milestone.target_stage = target_stage
    if due_date is not None and due_date != milestone.due_date:
        if milestone.status != MilestoneStatus.PENDING:
            raise ValidationError(
                {
                    "due_date": f"The milestone is already {milestone.get_status_display().lower()}: "
                    "its due date can no longer move. Add a new milestone instead."
                }
            )
        _check_due_date(due_date)
        milestone.due_date = due_date
    _full_clean(milestone)
    milestone.save()
    audit_record(
        actor=actor, action="milestone.update", obj=milestone, before=before, after=snapshot(milestone)
    )
    return milestone


def _missed_counter_add(use_case, n):
    # An UPDATE with F() so that concurrent misses all count; the use case's FSM stage is untouched.
    UseCase.objects.filter(pk=use_case.pk).update(
        consecutive_missed_milestones=F("consecutive_missed_milestones") + n
    )
    use_case.consecutive_missed_milestones = (
        UseCase.objects.filter(pk=use_case.pk).values_list("consecutive_missed_milestones", flat=True).get()
    )


@transaction.atomic
def milestone_mark_met(*, actor, milestone):
    """Meet a pending milestone, or one missed and met late. Either way the streak of misses ends."""
    milestone = Milestone.objects.select_for_update().select_related("use_case").get(pk=milestone.pk)
    use_case = milestone.use_case
    _require_manager(actor, use_case)
    if milestone.status == MilestoneStatus.MET:
        raise ValidationError({"status": "The milestone is already met."})
    before = {**snapshot(milestone), "consecutive_missed_milestones": use_case.consecutive_missed_milestones}
    milestone.status = MilestoneStatus.MET
    milestone.closed_at = timezone.now()
    milestone.save(update_fields=["status", "closed_at", "updated_at"])
    UseCase.objects.filter(pk=use_case.pk).update(consecutive_missed_milestones=0)
    use_case.consecutive_missed_milestones = 0
    audit_record(
        actor=actor,
        action="milestone.mark_met",
        obj=milestone,
        before=before,
        after={**snapshot(milestone), "consecutive_missed_milestones": 0},
    )
    return milestone


@transaction.atomic
def milestone_mark_missed(*, actor, milestone):
    milestone = Milestone.objects.select_for_update().select_related("use_case").get(pk=milestone.pk)
    use_case = milestone.use_case
    _require_manager(actor, use_case)
    if milestone.status != MilestoneStatus.PENDING:
        raise ValidationError(
            {
                "status": "Only a pending milestone can be marked missed; this one is "
                f"{milestone.get_status_display().lower()}."
            }
        )
    before = {**snapshot(milestone), "consecutive_missed_milestones": use_case.consecutive_missed_milestones}
    milestone.status = MilestoneStatus.MISSED
    milestone.closed_at = timezone.now()
    milestone.save(update_fields=["status", "closed_at", "updated_at"])
    _missed_counter_add(use_case, 1)
    audit_record(
        actor=actor,
        action="milestone.mark_missed",
        obj=milestone,
        before=before,
        after={
            **snapshot(milestone),
            "consecutive_missed_milestones": use_case.consecutive_missed_milestones,
        },
    )
    return milestone


@transaction.atomic
def milestones_mark_overdue(*, today=None):
    """Mark missed every pending milestone whose due date has passed; tell the owners. Returns the count.

    Run by the scheduled task. Safe to run twice or concurrently: a milestone leaves "pending" once,
    and rows another run holds are skipped, so each miss counts once.
    """
    day = today or periods.today()
    overdue = list(
        Milestone.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(status=MilestoneStatus.PENDING, due_date__lt=day)
        .select_related("use_case__business_owner", "use_case__technical_owner")
        .order_by("use_case_id", "due_date", "id")
    )
    if not overdue:
        return 0
    now = timezone.now()
    Milestone.objects.filter(pk__in=[m.pk for m in overdue], status=MilestoneStatus.PENDING).update(
        status=MilestoneStatus.MISSED, closed_at=now, updated_at=now
    )
    by_use_case = defaultdict(list)
    for milestone in overdue:
        by_use_case[milestone.use_case_id].append(milestone)
    for milestones in by_use_case.values():
        use_case = milestones[0].use_case
        before_count = use_case.consecutive_missed_milestones
        _missed_counter_add(use_case, len(milestones))
        for n, milestone in enumerate(milestones, start=1):
            before = snapshot(milestone)
            milestone.status = MilestoneStatus.MISSED
            milestone.closed_at = now
            audit_record(
                actor=None,
                action="milestone.mark_missed",
                obj=milestone,
                before={**before, "consecutive_missed_milestones": before_count + n - 1},
                after={**snapshot(milestone), "consecutive_missed_milestones": before_count + n},
            )
        names = ", ".join(f"“{m.name}” (due {m.due_date:%Y-%m-%d})" for m in milestones)
        count = use_case.consecutive_missed_milestones
        notify(
            recipients=[use_case.business_owner, use_case.technical_owner],
            subject=f"Milestone missed: {use_case.name}",
            body=(
                f"{use_case.name} missed {names}. It has now missed {count} milestone"
                f"{'s' if count != 1 else ''} in a row; the council sees this count. Meet a milestone, "
                "or agree new dates, to reset it."
            ),
            url=use_case.get_tab_url("value"),
        )
    return len(overdue)


# Value signals.


def _rate(value, field):
    if value is None or value == "":
        return None
    try:
        rate = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationError({field: "Enter a number from 0 to 100."}) from exc
    if not rate.is_finite() or rate < 0 or rate > 100:
        raise ValidationError({field: "Enter a number from 0 to 100."})
    return rate.quantize(Decimal("0.01"))


def _count(value, field, *, required=False):
    if value is None or value == "":
        if required:
            raise ValidationError({field: "Enter a whole number (0 or more)."})
        return None
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise ValidationError({field: "Enter a whole number (0 or more)."}) from exc
    if number < 0 or number != Decimal(str(value)):
        raise ValidationError({field: "Enter a whole number (0 or more)."})
    return number


@transaction.atomic
def value_signal_record(
    *,
    actor,
    use_case,
    month,
    outcomes,
    value_per_outcome=None,
    currency=None,
    quality_score=None,
    active_users=None,
    human_review_rate=None,
    acceptance_rate=None,
    note="",
):
    """Record what the use case delivered in a month; recording the month again replaces its figures.

    `value_per_outcome` left blank takes the use case's own figure from intake.
    """
    _require_manager(actor, use_case)
    values = {
        "outcomes": _count(outcomes, "outcomes", required=True),
        "value_per_outcome": _money(value_per_outcome, "value_per_outcome", required=False),
        "currency": _currency_of(use_case, currency),
        "active_users": _count(active_users, "active_users"),
        "note": (note or "").strip(),
    }
    if values["value_per_outcome"] is None:
        values["value_per_outcome"] = use_case.value_per_outcome
    for field, value in (
        ("quality_score", quality_score),
        ("human_review_rate", human_review_rate),
        ("acceptance_rate", acceptance_rate),
    ):
        values[field] = _rate(value, field)
    month = _month(month)
    signal = ValueSignal.objects.select_for_update().filter(use_case=use_case, month=month).first()
    if signal is None:
        signal = ValueSignal(use_case=use_case, month=month)
    return audited_save(signal, actor=actor, values=values, noun="value_signal", validate=_full_clean)


# Cost lines.


@transaction.atomic
def cost_line_record(*, actor, use_case, month, category, amount, currency=None, note=""):
    """Record a month's cost in one category; recording it again replaces the amount."""
    _require_manager(actor, use_case)
    _choice(category, CostCategory, "category", "cost categories")
    amount = _money(amount, "amount")
    currency = _currency_of(use_case, currency)
    month = _month(month)
    line = (
        CostLine.objects.select_for_update().filter(use_case=use_case, month=month, category=category).first()
    )
    before = snapshot(line) if line else None
    if line is None:
        line = CostLine(use_case=use_case, month=month, category=category)
    line.amount = amount
    line.currency = currency
    line.note = (note or "").strip()
    _full_clean(line)
    line.save()
    audit_record(
        actor=actor,
        action="cost_line.update" if before else "cost_line.create",
        obj=line,
        before=before,
        after=snapshot(line),
    )
    return line


@transaction.atomic
def cost_line_delete(*, actor, cost_line):
    line = CostLine.objects.select_for_update().select_related("use_case").get(pk=cost_line.pk)
    _require_manager(actor, line.use_case)
    before = snapshot(line)
    audit_record(actor=actor, action="cost_line.delete", obj=line, before=before)
    line.delete()


# Kept importable from here: views, the API and the demo reach the backlog through this module.
from .backlog import optimization_create, optimization_update  # noqa: E402, F401
