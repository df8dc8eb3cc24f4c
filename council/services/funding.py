"""Funding requests: the owners ask the council for the next milestone only."""

import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from aifinops.core import permissions
from aifinops.core.audit import audit_record, snapshot
from aifinops.core.exceptions import ConflictError
from aifinops.core.notifications import notify
from aifinops.core.services import audited_save
from portfolio.choices import MilestoneStatus, Stage
from portfolio.gates import rules as gates
from portfolio.models import Milestone

from ..models import Council, FundingRequest, FundingStatus

FIELDS = (
    "target_stage",
    "milestone",
    "amount",
    "currency",
    "period_start",
    "period_end",
    "expected_outcomes",
)
MAX_PERIOD_MONTHS = 12


def _check_owner(actor, use_case):
    permissions.require(actor, permissions.REQUEST_FUNDING, use_case)


def _validate(request):
    """The rules the form, the API and the admin share; each error names its field."""
    use_case = request.use_case
    errors = {}
    target = gates.next_stage(use_case)
    if target is None:
        errors["target_stage"] = (
            f"{use_case.name} is at {use_case.get_stage_display()}: there is no next milestone."
        )
    elif request.target_stage != target:
        errors["target_stage"] = (
            f"Ask for the next milestone only: {use_case.name} is at {use_case.get_stage_display()}, "
            f"so the request is for {Stage(target).label}."
        )
    try:
        amount = Decimal(str(request.amount)) if request.amount not in (None, "") else None
    except (InvalidOperation, ValueError):
        amount = None
    if amount is None or not amount.is_finite() or amount <= 0:
        errors["amount"] = "Enter the amount asked for, above 0, e.g. 12000.00."
    else:
        request.amount = amount
    request.currency = (request.currency or use_case.currency or "USD").upper()
    if len(request.currency) != 3 or not request.currency.isalpha():
        errors["currency"] = "Enter a three-letter currency code, e.g. USD."
    start, end = request.period_start, request.period_end
    if not isinstance(start, datetime.date) or not isinstance(end, datetime.date):
        errors["period_start"] = "Give the period the funding covers, first and last day (YYYY-MM-DD)."
    elif end < start:
        errors["period_end"] = "The period ends on or after the day it starts."
    elif request.period_months > MAX_PERIOD_MONTHS:
        errors["period_end"] = f"Fund one milestone at a time: {MAX_PERIOD_MONTHS} months at most."
    if not (request.expected_outcomes or "").strip():
        errors["expected_outcomes"] = "Say what the milestone delivers: the outcomes the council can check."
    milestone = request.milestone
    if milestone is not None:
        if milestone.use_case_id != use_case.pk:
            errors["milestone"] = "Pick a milestone of this use case."
        elif milestone.status != MilestoneStatus.PENDING:
            errors["milestone"] = "Pick a milestone still pending."
        elif milestone.target_stage and milestone.target_stage != request.target_stage:
            errors["milestone"] = (
                f"“{milestone.name}” leads to {Stage(milestone.target_stage).label}: "
                "ask for the next milestone only."
            )
    if errors:
        raise ValidationError(errors)
    request.expected_outcomes = request.expected_outcomes.strip()


@transaction.atomic
def funding_request_save(*, actor, use_case, values, request=None):
    """Create a draft funding request, or change a draft, from validated values."""
    _check_owner(actor, use_case)
    unknown = set(values) - set(FIELDS)
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "Not a field of a funding request."))
    if request is not None:
        request = FundingRequest.objects.select_for_update().get(pk=request.pk)
        if request.status != FundingStatus.DRAFT:
            raise ConflictError(
                f"The funding request is {request.get_status_display().lower()}: it can no longer change."
            )
    else:
        request = FundingRequest(use_case=use_case, requested_by=actor, currency=use_case.currency)
    milestone = values.get("milestone")
    if milestone is not None and not isinstance(milestone, Milestone):
        values = {**values, "milestone": Milestone.objects.filter(pk=milestone).first()}
        if values["milestone"] is None:
            raise ValidationError({"milestone": "No such milestone."})
    return audited_save(request, actor=actor, values=values, noun="funding_request", validate=_validate)


@transaction.atomic
def funding_request_submit(*, actor, request=None, use_case=None, values=None):
    """Send a funding request to the council: a draft, or a new one made from `values` at once.

    Refused when it is not for the next stage, or when the use case already has one waiting.
    """
    if request is None:
        request = funding_request_save(actor=actor, use_case=use_case, values=values or {})
    request = (
        FundingRequest.objects.select_for_update(of=("self",)).select_related("use_case").get(pk=request.pk)
    )
    _check_owner(actor, request.use_case)
    if request.status != FundingStatus.DRAFT:
        raise ConflictError(f"The funding request is {request.get_status_display().lower()} already.")
    _validate(request)
    waiting = FundingRequest.objects.filter(use_case=request.use_case, status=FundingStatus.SUBMITTED)
    if waiting.exists():
        raise ValidationError(
            {"target_stage": f"{request.use_case.name} already has a funding request waiting for review."}
        )
    before = snapshot(request, ["status", "submitted_at"])
    request.status, request.submitted_at = FundingStatus.SUBMITTED, timezone.now()
    try:
        with transaction.atomic():
            request.save(update_fields=["status", "submitted_at", "updated_at"])
    except IntegrityError as exc:
        raise ConflictError(
            f"{request.use_case.name} had another funding request submitted meanwhile."
        ) from exc
    audit_record(
        actor=actor,
        action="funding_request.submit",
        obj=request,
        before=before,
        after=snapshot(request, ["status", "submitted_at"]),
    )
    chairs = [c.chair for c in Council.objects.select_related("chair").filter(chair__isnull=False)]
    notify(
        recipients=chairs,
        subject=f"{request.use_case.name} asks for {request.amount:,.2f} {request.currency} "
        f"to reach {Stage(request.target_stage).label}",
        body=request.expected_outcomes,
        url=request.use_case.get_absolute_url(),
    )
    return request


@transaction.atomic
def funding_request_withdraw(*, actor, request):
    request = (
        FundingRequest.objects.select_for_update(of=("self",)).select_related("use_case").get(pk=request.pk)
    )
    _check_owner(actor, request.use_case)
    if request.status not in (FundingStatus.DRAFT, FundingStatus.SUBMITTED):
        raise ConflictError(
            f"The funding request is {request.get_status_display().lower()}: it cannot be withdrawn."
        )
    before = snapshot(request, ["status"])
    request.status = FundingStatus.WITHDRAWN
    request.save(update_fields=["status", "updated_at"])
    audit_record(
        actor=actor,
        action="funding_request.withdraw",
        obj=request,
        before=before,
        after=snapshot(request, ["status"]),
    )
    return request
