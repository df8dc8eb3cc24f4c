"""Votes and decisions, and what a decision does through the other apps' services.

Members vote for themselves only (no proxies), while the meeting is in session. The chair records
the decision once a quorum of members has voted. Two recordings at once on one item leave one:
the item row is locked, and the one-to-one between decision and item backs that up in the
database; the loser gets a ConflictError.

What a decision does:
- approve (with or without conditions): a stage approval with source "council_decision" and
  reference "decision:<id>" for the funding request's target stage (or the open move request's),
  which satisfies the stage gate's review condition; the request is approved; the approved amount,
  spread over the request's months, becomes the use case's monthly budget (showback's budget_save,
  under the decision's authority); each line of the conditions becomes a milestone due by the
  next meeting, so a missed condition counts toward the missed-milestones escalation;
- reject: the funding request is rejected;
- sunset: the use case moves to sunset (use_case_move with the decision as its authority) and
  any funding request is rejected;
- defer: nothing yet; the item carries over to the next meeting when this one closes.
"""

import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from aifinops.core import periods, permissions
from aifinops.core.audit import audit_record, snapshot
from aifinops.core.exceptions import ConflictError, Unprocessable
from aifinops.core.notifications import notify
from intake.models import IntakeStatus
from intake.services import intake_accept, intake_reject
from portfolio.choices import MoveRequestStatus, Stage
from portfolio.gates import rules as gates
from portfolio.gates.services import stage_approval_record, use_case_move
from portfolio.models import Milestone, StageMoveRequest
from showback.budgets.services import budget_save
from showback.models import Budget, BudgetMode, BudgetPeriod, BudgetScope

from ..models import (
    AgendaItem,
    AgendaItemStatus,
    CouncilMember,
    Decision,
    FundingRequest,
    FundingStatus,
    Vote,
    VoteChoice,
)
from .agenda import next_draft
from .funding import MAX_PERIOD_MONTHS

CENT = Decimal("0.01")
APPROVALS = (VoteChoice.APPROVE, VoteChoice.APPROVE_WITH_CONDITIONS)
CONDITION_DAYS = 30


def _choice(value, field):
    if value not in VoteChoice.values:
        raise ValidationError({field: f"Choose one of: {', '.join(VoteChoice.labels)}."})
    return value


@transaction.atomic
def vote_cast(*, actor, item, choice, comment="", conditions=""):
    """The actor's own vote on an item (cast again, it replaces their earlier vote)."""
    _choice(choice, "choice")
    conditions, comment = (conditions or "").strip(), (comment or "").strip()
    if choice == VoteChoice.APPROVE_WITH_CONDITIONS and not conditions:
        raise ValidationError({"conditions": "Say which conditions the approval comes with."})
    item = (
        AgendaItem.objects.select_for_update(of=("self",))
        .select_related("meeting__council", "use_case")
        .get(pk=item.pk)
    )
    meeting = item.meeting
    seat = CouncilMember.objects.filter(council=meeting.council, user=actor).first()
    if seat is None or not seat.is_active:
        raise PermissionDenied(
            "Only the council's active members vote, each for themselves: there are no proxies."
        )
    if not permissions.can_vote(actor, meeting, seat):
        raise ConflictError(
            f"Votes are cast while the meeting is in session; it is {meeting.get_state_display().lower()}."
        )
    if item.status != AgendaItemStatus.OPEN:
        raise ConflictError(f"The council has decided on {item.use_case.name} already: reload the page.")
    vote = Vote.objects.filter(item=item, member=seat).first()
    before = snapshot(vote, ["choice", "comment", "conditions"]) if vote else None
    vote = vote or Vote(item=item, member=seat)
    vote.choice, vote.comment = choice, comment
    vote.conditions = conditions if choice == VoteChoice.APPROVE_WITH_CONDITIONS else ""
    try:
        with transaction.atomic():
            vote.save()
    except IntegrityError as exc:  # the same member voting twice at the same instant
        raise ConflictError("Your vote was recorded meanwhile: reload the page.") from exc
    audit_record(
        actor=actor,
        action="vote.change" if before else "vote.cast",
        obj=vote,
        before=before,
        after={**snapshot(vote, ["choice", "comment", "conditions"]), "item": item.pk, "member": seat.pk},
    )
    return vote


def _amount(value, request):
    if value in (None, ""):
        return request.amount if request is not None else None
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationError({"amount": "Enter the approved amount as a number, e.g. 12000.00."}) from exc
    if not amount.is_finite() or amount < 0:
        raise ValidationError({"amount": "The approved amount is 0 or more."})
    if request is not None and amount > request.amount:
        raise ValidationError(
            {"amount": f"Approve at most what was asked: {request.amount:,.2f} {request.currency}."}
        )
    return amount


def _target_stage(use_case, request):
    if request is not None:
        return request.target_stage
    nxt = gates.next_stage(use_case)
    if (
        nxt
        and StageMoveRequest.objects.filter(
            use_case=use_case, status=MoveRequestStatus.OPEN, target_stage=nxt
        ).exists()
    ):
        return nxt
    return None


def _budget_for_milestone(*, actor, decision, use_case, request, amount):
    """The approved amount, a month's share of it, as the use case's monthly budget."""
    if request is not None:
        months = request.period_months
    elif decision.period_start and decision.period_end:
        months = _months(decision.period_start, decision.period_end)
    else:
        months = 1
    monthly = (amount / months).quantize(CENT, rounding=ROUND_HALF_UP)
    if monthly <= 0:
        return None
    budgets = Budget.objects.filter(
        use_case=use_case, active=True, scope__in=(BudgetScope.USE_CASE, BudgetScope.AGENT)
    ).order_by("scope", "id")  # "agent" sorts before "use_case": an agent's own budget first
    budget = next((b for b in budgets if b.scope == BudgetScope.USE_CASE), None) or budgets.first()
    values = {"amount": monthly, "currency": decision.currency}
    if budget is None:
        milestone = decision.milestone.name if decision.milestone_id else "next milestone"
        values |= {
            "name": f"{use_case.name}: {milestone}, council decision {decision.pk}"[:150],
            "scope": BudgetScope.USE_CASE,
            "use_case": use_case,
            "period": BudgetPeriod.MONTHLY,
            "mode": BudgetMode.ALERT,
            "owner": use_case.business_owner or use_case.technical_owner or actor,
        }
    return budget_save(actor=actor, values=values, budget=budget, authority=f"council decision {decision.pk}")


def _condition_milestones(*, actor, decision, use_case, meeting):
    """Each line of the conditions becomes a milestone, due by the next meeting (or in 30 days).

    Written here rather than through portfolio's milestone_create, which is for the owners: the
    council sets these on them."""
    upcoming = next_draft(meeting.council)
    today = periods.today()
    if upcoming is not None:
        due = max(upcoming.scheduled_for.date(), today + datetime.timedelta(days=1))
    else:
        due = today + datetime.timedelta(days=CONDITION_DAYS)
    created = []
    for line in decision.conditions.splitlines():
        line = line.strip(" -•\t")
        if not line:
            continue
        milestone = Milestone.objects.create(
            use_case=use_case, name=f"Council condition: {line}"[:150], due_date=due
        )
        audit_record(
            actor=actor,
            action="milestone.create",
            obj=milestone,
            after={**snapshot(milestone), "decision": decision.pk},
        )
        created.append(milestone)
    return created


def _close_request(request, status):
    if request is None:
        return
    request.status, request.decided_at = status, timezone.now()
    request.save(update_fields=["status", "decided_at", "updated_at"])


def _conditions_from_votes(votes):
    seen = []
    for vote in votes:
        for line in vote.conditions.splitlines():
            if line.strip() and line.strip() not in seen:
                seen.append(line.strip())
    return "\n".join(seen)


def _period(meeting, period_start, period_end, months):
    """The period an approval without a funding request covers: the one given, else `months` whole
    months from the month of the meeting."""
    if period_start is None and period_end is None:
        start = periods.month_start(max(meeting.scheduled_for.date(), periods.today()))
        return start, periods.add_months(start, months) - datetime.timedelta(days=1)
    if period_start is None or period_end is None:
        field = "period_end" if period_end is None else "period_start"
        raise ValidationError({field: "Give both days of the period the funding covers, or neither."})
    if period_end < period_start:
        raise ValidationError({"period_end": "The period ends on or after the day it starts."})
    if periods.months_between(period_start, period_end) + 1 > MAX_PERIOD_MONTHS:
        raise ValidationError(
            {"period_end": f"Fund one milestone at a time: {MAX_PERIOD_MONTHS} months at most."}
        )
    return period_start, period_end


def _months(start, end):
    return (end.year - start.year) * 12 + end.month - start.month + 1


@transaction.atomic
def decision_record(
    *,
    actor,
    item,
    outcome,
    note="",
    conditions="",
    amount=None,
    milestone_name="",
    period_start=None,
    period_end=None,
):
    """The chair records the council's decision on an item, once a quorum has voted, and the
    decision acts through the services of the stage gates, budgets and the use case (or, for an
    intake not yet a use case, through intake's accept and reject).

    An approval records what the money is for and when: the funding request's milestone and period,
    or, without a request, the milestone named here (or the next stage's) and the period given
    (else whole months from the meeting's month).
    """
    _choice(outcome, "outcome")
    item = (
        AgendaItem.objects.select_for_update(of=("self",))
        .select_related("meeting__council", "use_case", "intake")
        .get(pk=item.pk)
    )
    meeting, use_case = item.meeting, item.use_case
    permissions.require(actor, permissions.RECORD_DECISION, meeting.council)
    if not permissions.can_record_decision(actor, meeting):
        raise ConflictError(
            "Decisions are recorded while the meeting is in session; "
            f"it is {meeting.get_state_display().lower()}."
        )
    if item.status != AgendaItemStatus.OPEN or Decision.objects.filter(item=item).exists():
        raise ConflictError(f"A decision on {item.title} was recorded meanwhile: reload the page.")
    votes = list(item.votes.filter(member__is_active=True).select_related("member__user"))
    quorum = quorum_of(meeting.council)
    if len(votes) < quorum:
        raise Unprocessable(
            f"Quorum not met on {item.title}: {len(votes)} of the {quorum} votes needed.",
            details=[{"code": "quorum", "votes": len(votes), "quorum": quorum}],
        )
    conditions = (conditions or "").strip()
    if outcome == VoteChoice.APPROVE_WITH_CONDITIONS:
        conditions = conditions or _conditions_from_votes(votes)
        if not conditions:
            raise ValidationError({"conditions": "Say which conditions the approval comes with."})
    elif outcome != VoteChoice.APPROVE:
        conditions = ""
    note = (note or "").strip()
    if item.is_intake_review:
        return _intake_decision(
            actor=actor,
            item=item,
            outcome=outcome,
            note=note,
            conditions=conditions,
            amount=amount,
            milestone_name=(milestone_name or "").strip(),
            period=(period_start, period_end),
            votes=votes,
        )
    request = (
        FundingRequest.objects.select_for_update(of=("self",))
        .select_related("milestone")
        .filter(use_case=use_case, status=FundingStatus.SUBMITTED)
        .first()
    )
    approved = _amount(amount, request) if outcome in APPROVALS else None
    funded = {}
    if approved is not None:
        if request is not None:
            start, end = request.period_start, request.period_end
        else:
            start, end = _period(meeting, period_start, period_end, 1)
        funded = {"period_start": start, "period_end": end}
    try:
        with transaction.atomic():
            decision = Decision.objects.create(
                item=item,
                outcome=outcome,
                funding_request=request,
                amount_approved=approved,
                currency=request.currency if request is not None else use_case.currency,
                conditions=conditions,
                note=note,
                recorded_by=actor,
                **funded,
            )
    except IntegrityError as exc:
        raise ConflictError(
            f"A decision on {use_case.name} was recorded meanwhile: reload the page."
        ) from exc
    if approved is not None:
        decision.milestone = _funded_milestone(
            actor=actor,
            decision=decision,
            use_case=use_case,
            request=request,
            name=(milestone_name or "").strip(),
            target_stage=_target_stage(use_case, request) or "",
        )
        decision.save(update_fields=["milestone"])
    item.status = AgendaItemStatus.DECIDED
    item.save(update_fields=["status", "updated_at"])
    effects = _act(actor=actor, decision=decision, use_case=use_case, request=request, meeting=meeting)
    _audit(actor, decision, votes, effects)
    notify(
        recipients=[use_case.business_owner, use_case.technical_owner],
        subject=f"Council decision on {use_case.name}: {decision.get_outcome_display()}",
        body=decision_words(decision),
        url=use_case.get_absolute_url(),
    )
    return decision


def quorum_of(council):
    """The votes a decision needs: the council's quorum setting. (Shown with the active seats, so a
    quorum larger than the membership is visible on the pages before a decision is refused.)"""
    return council.quorum


def _audit(actor, decision, votes, effects):
    audit_record(
        actor=actor,
        action="decision.record",
        obj=decision,
        after={
            **snapshot(decision),
            "votes": {v.member.user.get_username(): v.choice for v in votes},
            **effects,
        },
    )


def decision_words(decision, milestone_name=""):
    """What the council decided, in a sentence or two: amount, milestone, period, conditions, note."""
    parts = [decision.get_outcome_display()]
    milestone_name = milestone_name or (decision.milestone.name if decision.milestone_id else "")
    if decision.amount_approved is not None:
        parts.append(f": {decision.amount_approved:,.2f} {decision.currency}")
        if milestone_name:
            parts.append(f" for “{milestone_name}”")
        if decision.period_start and decision.period_end:
            parts.append(f" from {decision.period_start:%-d %b %Y} to {decision.period_end:%-d %b %Y}")
    text = "".join(parts) + "."
    if decision.conditions:
        lines = [c.strip(" -•\t") for c in decision.conditions.splitlines() if c.strip(" -•\t")]
        text += " Conditions, each now a milestone: " + "; ".join(lines) + "."
    if decision.note:
        text += f" {decision.note}"
    return text


def _funded_milestone(*, actor, decision, use_case, request, name, target_stage):
    """The milestone an approval funds: the request's, else one named for it (or for the next
    stage), due at the end of the funded period."""
    if request is not None and request.milestone_id:
        return request.milestone
    label = Stage(target_stage).label if target_stage else ""
    name = name or (f"Reach {label}" if label else "Next milestone")
    milestone = Milestone.objects.create(
        use_case=use_case, name=name[:150], target_stage=target_stage, due_date=decision.period_end
    )
    audit_record(
        actor=actor,
        action="milestone.create",
        obj=milestone,
        after={**snapshot(milestone), "decision": decision.pk},
    )
    if request is not None:
        request.milestone = milestone
        request.save(update_fields=["milestone", "updated_at"])
    return milestone


INTAKE_OUTCOMES = (
    VoteChoice.APPROVE,
    VoteChoice.APPROVE_WITH_CONDITIONS,
    VoteChoice.DEFER,
    VoteChoice.REJECT,
)
INTAKE_FIRST_PERIOD_MONTHS = 3


def _intake_decision(*, actor, item, outcome, note, conditions, amount, milestone_name, period, votes):
    """The council's decision on an intake: approval registers the use case (intake's own accept)
    with its first milestone funded, conditions as milestones; rejection gives the reasons."""
    intake, meeting = item.intake, item.meeting
    if outcome not in INTAKE_OUTCOMES:
        raise ValidationError(
            {
                "outcome": "An intake is not a use case yet: approve it, approve it with conditions, "
                "defer or reject it."
            }
        )
    if intake.status != IntakeStatus.TRIAGED:
        raise ConflictError(
            f"{intake.reference} is {intake.get_status_display().lower()} already: "
            "it no longer waits for the council."
        )
    if outcome == VoteChoice.REJECT and not note:
        raise ValidationError({"note": "Give the reasons for rejecting, so the requester can act on them."})
    approved, funded = None, {}
    if outcome in APPROVALS:
        start, end = _period(meeting, *period, INTAKE_FIRST_PERIOD_MONTHS)
        approved = _amount(amount, None)
        if approved is None:
            approved = (intake.expected_monthly_cost or Decimal("0")) * _months(start, end)
        funded = {"period_start": start, "period_end": end}
    try:
        with transaction.atomic():
            decision = Decision.objects.create(
                item=item,
                outcome=outcome,
                amount_approved=approved,
                currency=intake.currency,
                conditions=conditions,
                note=note,
                recorded_by=actor,
                **funded,
            )
    except IntegrityError as exc:
        raise ConflictError(f"A decision on {item.title} was recorded meanwhile: reload the page.") from exc
    at = f"at the {meeting.get_kind_display().lower()} of {meeting.scheduled_for:%-d %b %Y}"
    # What the intake's history shows as the authority of its acceptance or rejection.
    reference = f"Decision {decision.pk} of the council {at}"
    effects = {"intake": intake.pk}
    if outcome in APPROVALS:
        first = milestone_name or f"First milestone: {Stage.MVP.label}"
        words = decision_words(decision, first[:150])
        intake = intake_accept(
            actor=actor,
            intake=intake,
            note=f"Approved by the council {at}. {words}",
            council_decision=reference,
        )
        use_case = intake.use_case
        milestone = Milestone.objects.create(
            use_case=use_case, name=first[:150], target_stage=Stage.MVP, due_date=decision.period_end
        )
        audit_record(
            actor=actor,
            action="milestone.create",
            obj=milestone,
            after={**snapshot(milestone), "decision": decision.pk},
        )
        decision.milestone = milestone
        decision.save(update_fields=["milestone"])
        item.use_case = use_case
        effects |= {"use_case": use_case.pk, "milestone": milestone.pk}
        effects |= _act(
            actor=actor, decision=decision, use_case=use_case, request=None, meeting=meeting, target=Stage.MVP
        )
    elif outcome == VoteChoice.REJECT:
        intake_reject(
            actor=actor,
            intake=intake,
            reason=f"Rejected by the council {at}: {note}",
            council_decision=reference,
        )
    item.status = AgendaItemStatus.DECIDED
    item.save(update_fields=["status", "use_case", "updated_at"])
    _audit(actor, decision, votes, effects)
    if outcome == VoteChoice.DEFER:
        notify(
            recipients=[intake.requester, intake.business_owner, intake.technical_owner],
            subject=f"{intake.reference} {intake.name}: the council deferred its decision",
            body=f"Deferred {at}; it comes back at the council's next meeting. {note}".strip(),
            url=intake.get_absolute_url(),
        )
    return decision


def _act(*, actor, decision, use_case, request, meeting, target=None):
    """Carry out the decision; what it did, for the audit event."""
    reference = f"decision:{decision.pk}"
    effects = {}
    if decision.outcome in APPROVALS:
        target = target or _target_stage(use_case, request)
        if target:
            approval = stage_approval_record(
                actor=actor,
                use_case=use_case,
                target_stage=target,
                note=decision.note or f"Council decision {decision.pk}.",
                amount=decision.amount_approved,
                source="council_decision",
                reference=reference,
            )
            effects["stage_approval"] = approval.pk
        _close_request(request, FundingStatus.APPROVED)
        if decision.amount_approved:
            budget = _budget_for_milestone(
                actor=actor,
                decision=decision,
                use_case=use_case,
                request=request,
                amount=decision.amount_approved,
            )
            effects["budget"] = budget.pk if budget else None
        if decision.conditions:
            milestones = _condition_milestones(
                actor=actor, decision=decision, use_case=use_case, meeting=meeting
            )
            effects["milestones"] = [m.pk for m in milestones]
    elif decision.outcome == VoteChoice.REJECT:
        _close_request(request, FundingStatus.REJECTED)
    elif decision.outcome == VoteChoice.SUNSET:
        _close_request(request, FundingStatus.REJECTED)
        if use_case.stage != Stage.SUNSET:
            use_case_move(
                actor=actor, use_case=use_case, target_stage=Stage.SUNSET, council_decision=reference
            )
            effects["stage"] = Stage.SUNSET
    if request is not None:
        effects["funding_request"] = {"id": request.pk, "status": request.status}
    return effects
