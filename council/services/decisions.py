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
    months = request.period_months if request is not None else 1
    monthly = (amount / months).quantize(CENT, rounding=ROUND_HALF_UP)
    if monthly <= 0:
        return None
    budgets = Budget.objects.filter(
        use_case=use_case, active=True, scope__in=(BudgetScope.USE_CASE, BudgetScope.AGENT)
    ).order_by("scope", "id")  # "agent" sorts before "use_case": an agent's own budget first
    budget = next((b for b in budgets if b.scope == BudgetScope.USE_CASE), None) or budgets.first()
    values = {"amount": monthly, "currency": decision.currency}
    if budget is None:
        milestone = Stage(request.target_stage).label if request is not None else "next milestone"
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


@transaction.atomic
def decision_record(*, actor, item, outcome, note="", conditions="", amount=None):
    """The chair records the council's decision on an item, once a quorum has voted, and the
    decision acts through the services of the stage gates, budgets and the use case."""
    _choice(outcome, "outcome")
    item = (
        AgendaItem.objects.select_for_update(of=("self",))
        .select_related("meeting__council", "use_case")
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
        raise ConflictError(f"A decision on {use_case.name} was recorded meanwhile: reload the page.")
    votes = list(item.votes.filter(member__is_active=True).select_related("member__user"))
    quorum = meeting.council.quorum
    if len(votes) < quorum:
        raise Unprocessable(
            f"Quorum not met on {use_case.name}: {len(votes)} of the {quorum} votes needed.",
            details=[{"code": "quorum", "votes": len(votes), "quorum": quorum}],
        )
    conditions = (conditions or "").strip()
    if outcome == VoteChoice.APPROVE_WITH_CONDITIONS:
        conditions = conditions or _conditions_from_votes(votes)
        if not conditions:
            raise ValidationError({"conditions": "Say which conditions the approval comes with."})
    elif outcome != VoteChoice.APPROVE:
        conditions = ""
    request = (
        FundingRequest.objects.select_for_update(of=("self",))
        .select_related("milestone")
        .filter(use_case=use_case, status=FundingStatus.SUBMITTED)
        .first()
    )
    approved = _amount(amount, request) if outcome in APPROVALS else None
    try:
        with transaction.atomic():
            decision = Decision.objects.create(
                item=item,
                outcome=outcome,
                funding_request=request,
                amount_approved=approved,
                currency=request.currency if request is not None else use_case.currency,
                conditions=conditions,
                note=(note or "").strip(),
                recorded_by=actor,
            )
    except IntegrityError as exc:
        raise ConflictError(
            f"A decision on {use_case.name} was recorded meanwhile: reload the page."
        ) from exc
    item.status = AgendaItemStatus.DECIDED
    item.save(update_fields=["status", "updated_at"])
    effects = _act(actor=actor, decision=decision, use_case=use_case, request=request, meeting=meeting)
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
    notify(
        recipients=[use_case.business_owner, use_case.technical_owner],
        subject=f"Council decision on {use_case.name}: {decision.get_outcome_display()}",
        body="\n".join(t for t in (decision.conditions, decision.note) if t),
        url=use_case.get_absolute_url(),
    )
    return decision


def _act(*, actor, decision, use_case, request, meeting):
    """Carry out the decision; what it did, for the audit event."""
    reference = f"decision:{decision.pk}"
    effects = {}
    if decision.outcome in APPROVALS:
        target = _target_stage(use_case, request)
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
