"""Writes of the stage gates: gate items, guardrail settings, approvals, move requests, moves.

Every function checks permission through aifinops.core.permissions, changes rows, and writes its
audit event in one transaction. A stage changes only through `use_case_move`, which calls the
use case's FSM transition.
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_fsm import ConcurrentTransition, TransitionNotAllowed

from aifinops.core import periods, permissions
from aifinops.core.audit import audit_record, snapshot
from aifinops.core.exceptions import ConflictError, Unprocessable
from aifinops.core.notifications import notify
from aifinops.core.roles import Role

from ..choices import GateItemStatus, MoveRequestStatus, Stage
from ..models import GateItemState, StageApproval, StageMoveRequest, UseCase
from ..selectors import gate_facts, stage_gate
from . import rules as gates

GUARDRAIL_FIELDS = (
    "token_budget_monthly",
    "max_output_tokens",
    "anomaly_threshold_pct",
    "routing_policy",
    "prompt_caching",
    "budget_threshold",
)
TRANSITIONS = {
    Stage.MVP: "to_mvp",
    Stage.PILOT: "to_pilot",
    Stage.LAUNCH: "to_launch",
    Stage.SCALE: "to_scale",
    Stage.SUNSET: "to_sunset",
}


def _check_manager(actor, use_case):
    permissions.require(actor, permissions.CHANGE_GATE_RECORD, use_case)


def _item(code):
    item = gates.ITEMS_BY_CODE.get(code)
    if item is None:
        raise ValidationError({"code": f"“{code}” is not a gate item."})
    return item


def _item_record(state):
    """A gate item's state as flat fields, so the history shows what changed in plain words."""
    return {
        "item": gates.ITEMS_BY_CODE[state.code].label,
        "status": state.status,
        "by": state.by.get_username() if state.by else None,
        "on": state.on.isoformat() if state.on else None,
        "evidence": state.evidence or None,
        "reason": state.reason or None,
    }


def _state_for_update(use_case, code):
    state, _ = GateItemState.objects.select_for_update().get_or_create(use_case=use_case, code=code)
    return state


@transaction.atomic
def gate_item_attest(*, actor, use_case, code, evidence, on=None):
    """A named person attests a gate item, with the date and the evidence."""
    _check_manager(actor, use_case)
    item = _item(code)
    if not item.attestable:
        missing = item.check(use_case, gate_facts(use_case=use_case))
        todo = missing or "it already holds"
        raise ValidationError({"code": f"“{item.label}” is proven by data, not attested: {todo}"})
    evidence = (evidence or "").strip()
    if not evidence:
        raise ValidationError({"evidence": "Give the evidence: a link or a note that shows it is done."})
    on = on or periods.today()
    if on > periods.today():
        raise ValidationError({"on": "An attestation cannot be dated in the future."})
    state = _state_for_update(use_case, code)
    before = _item_record(state)
    state.status, state.by, state.on, state.evidence, state.reason = (
        GateItemStatus.ATTESTED,
        actor,
        on,
        evidence,
        "",
    )
    state.save()
    audit_record(
        actor=actor,
        action="gate_item.attest",
        obj=use_case,
        before=before,
        after=_item_record(state),
    )
    return state


@transaction.atomic
def gate_item_not_applicable(*, actor, use_case, code, reason):
    _check_manager(actor, use_case)
    _item(code)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why this item does not apply to this use case."})
    state = _state_for_update(use_case, code)
    before = _item_record(state)
    state.status, state.by, state.on, state.reason = (
        GateItemStatus.NOT_APPLICABLE,
        actor,
        periods.today(),
        reason,
    )
    state.save()
    audit_record(
        actor=actor,
        action="gate_item.not_applicable",
        obj=use_case,
        before=before,
        after=_item_record(state),
    )
    return state


@transaction.atomic
def gate_item_reopen(*, actor, use_case, code):
    _check_manager(actor, use_case)
    _item(code)
    state = _state_for_update(use_case, code)
    before = _item_record(state)
    state.status, state.by, state.on, state.evidence, state.reason = GateItemStatus.OPEN, None, None, "", ""
    state.save()
    audit_record(
        actor=actor,
        action="gate_item.reopen",
        obj=use_case,
        before=before,
        after=_item_record(state),
    )
    return state


@transaction.atomic
def use_case_guardrails_update(*, actor, use_case, values):
    """Set the guardrail settings (token budget, output cap, anomaly threshold, routing, caching,
    budget threshold) from validated values."""
    use_case = UseCase.objects.select_for_update().get(pk=use_case.pk)
    _check_manager(actor, use_case)
    before = snapshot(use_case, GUARDRAIL_FIELDS)
    for field in GUARDRAIL_FIELDS:
        if field in values:
            setattr(use_case, field, values[field])
    use_case.full_clean(exclude=["stage"])
    _save(use_case)
    audit_record(
        actor=actor,
        action="use_case.guardrails",
        obj=use_case,
        before=before,
        after=snapshot(use_case, GUARDRAIL_FIELDS),
    )
    return use_case


@transaction.atomic
def stage_approval_record(
    *, actor, use_case, target_stage, note="", amount=None, source="chair", reference=""
):
    """Record an approved funding decision for the milestone of moving into `target_stage`.

    The council chair records it now; the council's decisions call this with source
    "council_decision" and their reference.
    """
    if source == "chair":
        permissions.require(actor, permissions.APPROVE_STAGE)
    if target_stage not in Stage.values or target_stage == Stage.CONCEPT:
        raise ValidationError({"target_stage": f"“{target_stage}” is not a stage a use case moves into."})
    if amount is not None and amount < 0:
        raise ValidationError({"amount": "The funding amount cannot be negative."})
    approval = StageApproval.objects.create(
        use_case=use_case,
        target_stage=target_stage,
        approved_by=actor,
        source=source,
        reference=reference,
        amount=amount,
        currency=use_case.currency,
        note=(note or "").strip(),
    )
    audit_record(actor=actor, action="stage_approval.record", obj=use_case, after=snapshot(approval))
    notify(
        recipients=[use_case.business_owner, use_case.technical_owner],
        subject=f"{use_case.name}: the move to {Stage(target_stage).label} is approved",
        body=approval.note,
        url=use_case.get_tab_url("gates"),
    )
    return approval


def _open_approval(use_case, target_stage):
    return (
        StageApproval.objects.filter(use_case=use_case, target_stage=target_stage, used_at__isnull=True)
        .order_by("created_at")
        .first()
    )


@transaction.atomic
def stage_move_request(*, actor, use_case, target_stage, note=""):
    """An owner asks for the next stage. It waits for whoever may execute the move."""
    permissions.require(actor, permissions.REQUEST_MOVE, use_case)
    if target_stage != gates.next_stage(use_case):
        raise ValidationError({"target_stage": f"{use_case.name} can only move to the next stage from here."})
    request, created = StageMoveRequest.objects.get_or_create(
        use_case=use_case,
        target_stage=target_stage,
        status=MoveRequestStatus.OPEN,
        defaults={"requested_by": actor, "note": (note or "").strip()},
    )
    if created:
        audit_record(actor=actor, action="stage_move.request", obj=use_case, after=snapshot(request))
        chairs = (
            get_user_model().objects.filter(Q(groups__name=Role.COUNCIL_CHAIR), is_active=True).distinct()
        )
        notify(
            recipients=list(chairs),
            subject=f"{use_case.name} asks to move to {Stage(target_stage).label}",
            body=request.note,
            url=use_case.get_tab_url("gates"),
        )
    return request


def _save(use_case):
    try:
        use_case.save()
    except ConcurrentTransition as exc:
        raise ConflictError(f"{use_case.name} was moved by someone else meanwhile: reload it.") from exc


SUNSET_CONFIRM = (
    "Sunset is final: the use case leaves the stage path for good and its owners are told. "
    "Confirm to go ahead."
)


@transaction.atomic
def use_case_move(*, actor, use_case, target_stage, council_decision="", confirm=False):
    """Move a use case into `target_stage` through its gate.

    Refused with Unprocessable (listing what is missing) when the gate is incomplete or a needed
    approval is absent; with ConflictError when the use case is no longer where the caller saw it.
    `council_decision` names the council decision that orders a sunset: the chair carries it out,
    and the decision stands for the sunset criteria. Any other sunset needs `confirm`: it cannot
    be undone, so the caller must have shown what it does (refused naming `confirm` otherwise).
    """
    if target_stage not in TRANSITIONS:
        raise ValidationError({"target_stage": f"“{target_stage}” is not a stage a use case moves into."})
    seen_stage = use_case.stage
    # The row lock makes a second, simultaneous move wait, then find the stage already changed.
    use_case = UseCase.objects.select_for_update().select_related("team").get(pk=use_case.pk)
    if use_case.stage != seen_stage or (
        target_stage != Stage.SUNSET and gates.next_stage(use_case) != target_stage
    ):
        raise ConflictError(
            f"{use_case.name} is at {use_case.get_stage_display()} now: it cannot move to "
            f"{Stage(target_stage).label}. Reload the page."
        )
    review = gates.review_reasons(use_case, target_stage)
    by_council = bool(council_decision) and target_stage == Stage.SUNSET
    if not permissions.can_execute_move(
        actor, use_case, target_stage=target_stage, reviewed=bool(review), council_decision=by_council
    ):
        if target_stage == Stage.SUNSET:
            raise PermissionDenied("Only a platform admin can sunset a use case.")
        if review:
            raise PermissionDenied(
                "This move needs review (" + " ".join(review) + "): the council chair executes it."
            )
        raise PermissionDenied("Only the use case's owners or the council chair can move it.")

    gate = stage_gate(use_case=use_case, stage=target_stage)
    unmet = [u for u in gate.as_error_list() if not (by_council and u["code"] == "sunset_criteria")]
    approval = _open_approval(use_case, target_stage) if review else None
    if review and approval is None:
        unmet.append(
            {
                "code": "funding_approval",
                "item": "Approved funding decision for this milestone",
                "missing": "Needs review: " + " ".join(review),
            }
        )
    if unmet:
        raise Unprocessable(
            f"{use_case.name} cannot move to {Stage(target_stage).label}: "
            f"{len(unmet)} gate item{'s' if len(unmet) != 1 else ''} not met.",
            details=unmet,
        )
    if target_stage == Stage.SUNSET and not by_council and not confirm:
        raise ValidationError({"confirm": SUNSET_CONFIRM})

    before = snapshot(use_case, ["stage"])
    try:
        getattr(use_case, TRANSITIONS[target_stage])()
    except TransitionNotAllowed as exc:
        raise ConflictError(f"{use_case.name} cannot move to {Stage(target_stage).label} from here.") from exc
    _save(use_case)
    if approval is not None:
        approval.used_at = timezone.now()
        approval.save(update_fields=["used_at"])
    StageMoveRequest.objects.filter(use_case=use_case, status=MoveRequestStatus.OPEN).update(
        status=MoveRequestStatus.DONE, closed_at=timezone.now()
    )
    after = snapshot(use_case, ["stage"])
    if approval is not None:
        after["approval"] = approval.pk
    if by_council:
        after["decision"] = council_decision
    audit_record(actor=actor, action="use_case.move", obj=use_case, before=before, after=after)
    notify(
        recipients=[use_case.business_owner, use_case.technical_owner],
        subject=f"{use_case.name} moved to {use_case.get_stage_display()}",
        url=use_case.get_tab_url("gates"),
    )
    return use_case
