"""Every write of intake: save a draft, submit (and triage), accept, reject, withdraw, and change
the triage rules (re-triaging the open intakes).

Each runs in one transaction, checks permission through aifinops.core.permissions, moves the
status only through the model's FSM transitions, writes an audit event and notifies people.
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django_fsm import ConcurrentTransition, TransitionNotAllowed

from aifinops.core import permissions
from aifinops.core.audit import audit_record, snapshot
from aifinops.core.exceptions import ConflictError
from aifinops.core.notifications import notify
from aifinops.core.services import audited_save
from portfolio.choices import RiskTier
from portfolio.models import UseCase
from portfolio.services import use_case_register

from .models import IntakeRequest, IntakeStatus, ReviewPath, TriageRule, TriageRuleCode
from .retriage import THRESHOLD_RULES, open_intakes, plan_fingerprint, retriage_plan
from .selectors import triage_rule_settings
from .signals import intake_decided
from .triage import IntakeFacts, triage
from .validation import intake_values, submission_problems

# ai_models is many-to-many: it is set after the save, not assigned.
EDITABLE_FIELDS = [*(f for f in IntakeRequest.INPUT_FIELDS if f != "ai_models"), "tags"]


def _state(intake):
    data = snapshot(intake)
    data["ai_models"] = sorted(m.ref for m in intake.ai_models.all())
    return data


def _save(intake, **kwargs):
    try:
        intake.save(**kwargs)
    except ConcurrentTransition as exc:
        raise ConflictError(
            f"{intake.reference} changed while you were working on it. Reload it to see its state."
        ) from exc


PAST = {
    "submit": "submitted",
    "triage": "triaged",
    "accept": "accepted",
    "reject": "rejected",
    "withdraw": "withdrawn",
}


def _transition(intake, name, **kwargs):
    try:
        getattr(intake, name)(**kwargs)
    except TransitionNotAllowed as exc:
        raise ConflictError(
            f"{intake.reference} is {intake.get_status_display().lower()}: it cannot be {PAST[name]} now."
        ) from exc


def _people(intake):
    return [intake.requester, intake.business_owner, intake.technical_owner]


@transaction.atomic
def intake_save(*, actor, values, intake=None) -> IntakeRequest:
    """Create a draft, or update one, from validated values (the form's cleaned data)."""
    team = values.get("team")
    if intake is None:
        permissions.require(actor, permissions.CREATE_INTAKE_FOR_TEAM, team)
        intake = IntakeRequest(requester=actor)
        before = None
    else:
        intake = IntakeRequest.objects.select_for_update().get(pk=intake.pk)
        permissions.require(actor, permissions.EDIT_INTAKE, intake)
        if team is not None and team.pk != intake.team_id:
            permissions.require(actor, permissions.CREATE_INTAKE_FOR_TEAM, team)
        before = _state(intake)
    for field in EDITABLE_FIELDS:
        if field in values:
            setattr(intake, field, values[field])
    intake.full_clean(exclude=["status", "requester"])
    _save(intake)
    if "ai_models" in values:
        intake.ai_models.set(values["ai_models"] or [])
    audit_record(
        actor=actor,
        action="intake.create" if before is None else "intake.update",
        obj=intake,
        before=before,
        after=_state(intake),
    )
    return intake


@transaction.atomic
def intake_submit(*, actor, intake) -> IntakeRequest:
    """Submit a draft and triage it at once. A low-risk intake is accepted on the spot."""
    intake = IntakeRequest.objects.select_for_update().get(pk=intake.pk)
    permissions.require(actor, permissions.SUBMIT_INTAKE, intake)
    if intake.status != IntakeStatus.DRAFT:
        raise ConflictError(
            f"{intake.reference} is {intake.get_status_display().lower()}: it cannot be submitted now."
        )
    problems = submission_problems(intake_values(intake))
    if problems:
        raise ValidationError(problems)
    before = _state(intake)
    _transition(intake, "submit")
    _save(intake)
    audit_record(actor=actor, action="intake.submit", obj=intake, before=before, after=_state(intake))

    result = triage(IntakeFacts.of(intake), triage_rule_settings())
    before = _state(intake)
    _transition(intake, "triage", result=result)
    _save(intake)
    audit_record(actor=None, action="intake.triage", obj=intake, before=before, after=_state(intake))

    if result.review_path == ReviewPath.FAST_TRACK:
        return _accept(actor=None, intake=intake, note="Fast-tracked: low risk, no council review needed.")

    reasons = "\n".join(f"- {r.text}" for r in result.reasons)
    notify(
        recipients=_people(intake),
        subject=f"{intake.reference} {intake.name}: {intake.get_risk_tier_display()} risk, review required",
        body="Your intake goes to the council's next meeting: you will be told which meeting, when, and "
        f"who chairs it once it is on the agenda. Reasons:\n{reasons}",
        url=intake.get_absolute_url(),
    )
    deciders = (
        get_user_model()
        .objects.filter(
            Q(groups__name__in=permissions.INTAKE_DECIDERS) | Q(is_superuser=True), is_active=True
        )
        .distinct()
    )
    notify(
        recipients=list(deciders),
        subject=f"Intake to review: {intake.reference} {intake.name} ({intake.get_risk_tier_display()} risk)",
        body=reasons,
        url=intake.get_absolute_url(),
    )
    return intake


def _unique_key(wanted):
    key, n = wanted, 2
    while UseCase.objects.filter(key=key).exists():
        key = f"{wanted[:75]}-{n}"
        n += 1
    return key


def _use_case_fields(intake):
    tags = intake.tags or {}
    return {
        "key": _unique_key(intake.proposed_key),
        "name": intake.name,
        "purpose": intake.purpose,
        "team": intake.team,
        "business_owner": intake.business_owner,
        "technical_owner": intake.technical_owner,
        "cost_center": intake.cost_center,
        "business_function": tags.get("function") or intake.team.business_function,
        "product": tags.get("product", ""),
        "customer_segment": tags.get("customer-segment", ""),
        "workflow": tags.get("workflow", ""),
        "environment": intake.environment,
        "data_classification": intake.data_classification,
        "personal_data": intake.personal_data,
        "customer_impact": intake.customer_impact,
        "autonomy_level": intake.autonomy_level,
        "risk_tier": intake.risk_tier,
        "task_kind": intake.task_kind,
        "tags": tags,
        "user_audience": intake.user_audience,
        "expected_users": intake.expected_users or 0,
        "tool_permissions": intake.tool_permissions,
        "external_actions": intake.external_actions,
        "run_frequency": intake.run_frequency,
        "agent_spend_cap": intake.requested_spend_cap,
        "expected_monthly_cost": intake.expected_monthly_cost or 0,
        "currency": intake.currency,
        "value_metric": intake.value_metric,
        "value_per_outcome": intake.value_per_outcome or 0,
        "outcomes_per_month": intake.outcomes_per_month or 0,
        "success_metric": intake.success_metric,
    }


def _accept(*, actor, intake, note, council_decision=""):
    use_case = use_case_register(
        actor=actor, ai_models=list(intake.ai_models.all()), **_use_case_fields(intake)
    )
    before = _state(intake)
    _transition(intake, "accept", by=actor, use_case=use_case, note=note)
    _save(intake)
    after = _state(intake) | ({"council_decision": council_decision} if council_decision else {})
    audit_record(actor=actor, action="intake.accept", obj=intake, before=before, after=after)
    notify(
        recipients=_people(intake),
        subject=f"{intake.reference} {intake.name} accepted: use case {use_case.key} at Concept",
        body=f"{note}\nTag its spend with ai-use-case: {use_case.key}".strip(),
        url=use_case.get_absolute_url(),
    )
    return intake


def _check_decider(actor, intake, verb, council_decision=""):
    if council_decision:
        # The council decided, by a quorum of its members' votes; its chair records it.
        return
    if not permissions.can_decide_intake(actor):
        raise PermissionDenied(f"Only a platform admin or the council chair can {verb} an intake.")
    if intake.requester_id == actor.pk:
        raise PermissionDenied(f"You requested {intake.reference}: someone else must {verb} it.")


@transaction.atomic
def intake_accept(*, actor, intake, note="", council_decision="") -> IntakeRequest:
    """Accept a triaged intake that needed review: it becomes a Concept use case.

    `council_decision` names the council's decision ("decision:12") when the council approved it:
    its chair then records what the members decided, whatever their own role.
    """
    intake = IntakeRequest.objects.select_for_update().get(pk=intake.pk)
    _check_decider(actor, intake, "accept", council_decision)
    intake = _accept(actor=actor, intake=intake, note=note.strip(), council_decision=council_decision)
    if not council_decision:
        intake_decided.send(sender=IntakeRequest, intake=intake, actor=actor, outcome="accepted")
    return intake


def _name(user):
    return (user.get_full_name() or user.get_username()) if user is not None else ""


def intake_reject_words(intake):
    """What rejecting `intake` does, in the words the confirmation step and the refusal use."""
    told = list(dict.fromkeys(_name(u) for u in _people(intake) if u is not None))
    return (
        f"Rejecting closes {intake.reference} {intake.name} for good: it cannot be reopened or become a "
        f"use case (the team may submit a new intake). {', '.join(told)} will be told "
        f"“{intake.reference} {intake.name} rejected” with your reason as the message."
    )


@transaction.atomic
def intake_reject(*, actor, intake, reason, council_decision="", confirm=False) -> IntakeRequest:
    """Reject a triaged intake, telling its requester and owners why. It closes the intake for good,
    so a person rejecting it confirms (`confirm`, refused naming it otherwise, nothing changed): the
    page and the API have shown what happens. The council's recorded decision is its own
    confirmation."""
    intake = IntakeRequest.objects.select_for_update().get(pk=intake.pk)
    _check_decider(actor, intake, "reject", council_decision)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Give the reason for rejecting, so the team can act on it."})
    if not confirm and not council_decision:
        raise ValidationError({"confirm": f"{intake_reject_words(intake)} Confirm to reject."})
    before = _state(intake)
    _transition(intake, "reject", by=actor, reason=reason)
    _save(intake)
    after = _state(intake) | ({"council_decision": council_decision} if council_decision else {})
    audit_record(actor=actor, action="intake.reject", obj=intake, before=before, after=after)
    if not council_decision:
        intake_decided.send(sender=IntakeRequest, intake=intake, actor=actor, outcome="rejected")
    notify(
        recipients=_people(intake),
        subject=f"{intake.reference} {intake.name} rejected",
        body=reason,
        url=intake.get_absolute_url(),
    )
    return intake


@transaction.atomic
def intake_withdraw(*, actor, intake, note="") -> IntakeRequest:
    intake = IntakeRequest.objects.select_for_update().get(pk=intake.pk)
    permissions.require(actor, permissions.WITHDRAW_INTAKE, intake)
    before = _state(intake)
    _transition(intake, "withdraw", by=actor, note=(note or "").strip())
    _save(intake)
    audit_record(actor=actor, action="intake.withdraw", obj=intake, before=before, after=_state(intake))
    intake_decided.send(sender=IntakeRequest, intake=intake, actor=actor, outcome="withdrawn")
    if intake.status == IntakeStatus.WITHDRAWN and before["status"] != IntakeStatus.DRAFT:
        notify(
            recipients=[intake.business_owner, intake.technical_owner],
            subject=f"{intake.reference} {intake.name} withdrawn by {actor.get_username()}",
            url=intake.get_absolute_url(),
        )
    return intake


def _check_rule_edits(edits):
    errors = {}
    for code, setting in edits.items():
        if code not in TriageRuleCode.values:
            errors["code"] = f"There is no triage rule “{code}”."
        elif setting.tier not in RiskTier.values:
            errors["tier"] = f"Choose a risk tier: {', '.join(RiskTier.labels)}."
        elif code in THRESHOLD_RULES and setting.threshold is None:
            errors["threshold"] = "This rule needs a threshold."
        elif setting.threshold is not None and setting.threshold < 0:
            errors["threshold"] = "The threshold cannot be negative."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def triage_rules_change(*, actor, edits, expected_fingerprint=None):
    """Save edited triage rules ({code: RuleSetting}) and re-triage the open intakes they change.

    The intakes changed are exactly those `retriage.triage_rules_preview(edits=...)` lists, computed
    by the same `retriage_plan`; with `expected_fingerprint` (the preview's), the save is refused
    (ConflictError, nothing written) if the rules or the open intakes moved since that preview.
    Decided intakes are never touched. Returns the changes made.
    """
    permissions.require(actor, permissions.TUNE_TRIAGE)
    _check_rule_edits(edits)
    rules = {r.code: r for r in TriageRule.objects.select_for_update().filter(code__in=list(edits))}
    for code, setting in edits.items():
        rule = rules.get(code) or TriageRule(code=code)
        if _differs(rule, setting):
            audited_save(
                rule,
                actor=actor,
                noun="triage_rule",
                values={"tier": setting.tier, "threshold": setting.threshold, "enabled": setting.enabled},
            )

    settings = triage_rule_settings()
    changes = retriage_plan(settings, open_intakes(lock=True))
    if expected_fingerprint is not None and plan_fingerprint(settings, changes) != expected_fingerprint:
        raise ConflictError(
            "The triage rules or the open intakes changed since your preview: look at the new preview "
            "before saving."
        )
    for change in changes:
        intake = change.intake
        before = _state(intake)
        _transition(intake, "retriage", result=change.result)
        _save(intake)
        audit_record(actor=actor, action="intake.retriage", obj=intake, before=before, after=_state(intake))
        notify(
            recipients=_people(intake),
            subject=f"{intake.reference} {intake.name}: re-triaged, now "
            f"{intake.get_risk_tier_display()} risk",
            body=f"The triage rules changed. {intake.get_review_path_display()}.",
            url=intake.get_absolute_url(),
        )
    return changes


def _differs(rule, setting):
    if rule.pk is None:
        return True
    return (rule.tier, rule.threshold, rule.enabled) != (setting.tier, setting.threshold, setting.enabled)
