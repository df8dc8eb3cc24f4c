"""Writes of budgets: saving them, evaluating them against spend, and the work that follows.

`budgets_evaluate` is the one code path of evaluation: the hourly beat task, the task queued after
each import and tests all call it. It is safe to run any number of times: an alert is unique per
budget, period, kind and threshold, and an approval-mode budget opens at most one increase request
per period.
"""

import hashlib
import hmac
import json
import logging
import math
import urllib.error
import urllib.request
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from aifinops.core import permissions
from aifinops.core.audit import audit_record, snapshot
from aifinops.core.notifications import notify
from aifinops.core.services import audited_save
from portfolio.choices import MembershipRole
from portfolio.models import Membership

from ..currencies import is_currency
from ..models import (
    Budget,
    BudgetAlert,
    BudgetAlertKind,
    BudgetAlertStatus,
    BudgetIncreaseRequest,
    BudgetMode,
    BudgetScope,
    DeliveryStatus,
    IncreaseRequestStatus,
    TeamWebhook,
    WebhookDelivery,
)
from . import selectors

log = logging.getLogger(__name__)

TARGETS = {
    BudgetScope.PORTFOLIO: None,
    BudgetScope.FUNCTION: "function",
    BudgetScope.TEAM: "team",
    BudgetScope.USE_CASE: "use_case",
    BudgetScope.AGENT: "use_case",
    BudgetScope.PROVIDER: "provider",
    BudgetScope.MODEL: "model",
    BudgetScope.CUSTOMER: "customer",
    BudgetScope.TAG: "tag_key",
}
TARGET_LABELS = {
    "function": "a business function",
    "team": "a team",
    "use_case": "a use case",
    "provider": "a provider",
    "model": "a model",
}
BUDGET_FIELDS = (
    "name",
    "scope",
    "function",
    "team",
    "use_case",
    "provider",
    "model",
    "customer",
    "tag_key",
    "tag_value",
    "period",
    "amount",
    "currency",
    "mode",
    "thresholds",
    "approval_above_pct",
    "owner",
    "active",
)
# An automatic increase request asks for the projection at period end, and at least this much more.
MIN_INCREASE = Decimal("1.10")
WEBHOOK_TIMEOUT_SECONDS = 5


def _require_budget_manager(actor):
    permissions.require(actor, permissions.SET_BUDGETS)


def _clean_thresholds(value):
    if value in (None, "", []):
        return [50, 80, 100]
    if isinstance(value, str):
        value = [v for v in value.replace(";", ",").split(",") if v.strip()]
    try:
        numbers = sorted({int(str(v).strip()) for v in value})
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            {"thresholds": "Enter whole percentages separated by commas, e.g. 50, 80, 100."}
        ) from exc
    if any(n < 1 or n > 1000 for n in numbers):
        raise ValidationError({"thresholds": "Each threshold is a percentage from 1 to 1000."})
    if len(numbers) > 10:
        raise ValidationError({"thresholds": "Ten thresholds at most."})
    return numbers


def _clean_text(value, field, size, what, errors):
    value = (value or "").strip()
    if not value:
        errors[field] = f"A {what} budget needs the {field.replace('_', ' ')}."
    elif len(value) > size:
        errors[field] = f"At most {size} characters."
    elif "\x00" in value or any(0xD800 <= ord(ch) <= 0xDFFF for ch in value):
        errors[field] = "Remove the control character or broken unicode from it."
    return value


def _clean_customer_and_tag(budget, target) -> dict:
    """The customer of a customer budget and the tag of a tag budget, as gateway calls send them;
    emptied on the other scopes."""
    errors = {}
    if target == "customer":
        budget.customer = _clean_text(budget.customer, "customer", 150, "customer", errors)
    else:
        budget.customer = ""
    if target == "tag_key":
        budget.tag_key = _clean_text(budget.tag_key, "tag_key", 100, "tag", errors)
        budget.tag_value = _clean_text(budget.tag_value, "tag_value", 200, "tag", errors)
    else:
        budget.tag_key = budget.tag_value = ""
    return errors


def _validate(budget):
    """The rules a form, the API and the admin share; errors name the field."""
    target = TARGETS.get(budget.scope)
    errors = {}
    for name in ("team", "use_case", "provider", "model"):
        if name != target:
            setattr(budget, name, None)
    if target != "function":
        budget.function = ""
    errors.update(_clean_customer_and_tag(budget, target))
    if target == "function" and not budget.function:
        errors["function"] = "A business-function budget needs the function."
    elif target in ("customer", "tag_key"):
        pass
    elif target and target != "function" and getattr(budget, f"{target}_id") is None:
        errors[target] = f"A {budget.get_scope_display().lower()} budget needs {TARGET_LABELS[target]}."
    if budget.scope == BudgetScope.AGENT and budget.use_case_id and not budget.use_case.is_agentic:
        errors["use_case"] = (
            "An agent budget is for a supervised or autonomous agent; this use case is "
            f"{budget.use_case.get_autonomy_level_display().lower()}. Choose the use-case scope instead."
        )
    if budget.mode == BudgetMode.HARD_CAP and budget.scope not in selectors.CAPPING_SCOPES:
        errors["mode"] = (
            "A hard cap stops calls when its budget is used up: choose the portfolio, business-function, "
            "team, use-case, agent, provider, model, customer or tag scope, or the alert or approval mode."
        )
    if budget.amount is None or budget.amount <= 0:
        errors["amount"] = "Enter an amount above 0."
    budget.currency = (budget.currency or "USD").upper()
    if not is_currency(budget.currency):
        errors["currency"] = "Enter a three-letter ISO 4217 currency code, e.g. USD or EUR."
    if not 1 <= (budget.approval_above_pct or 0) <= 1000:
        errors["approval_above_pct"] = "Enter a percentage from 1 to 1000."
    if not (budget.name or "").strip():
        errors["name"] = "Name the budget, e.g. “Support summarizer, monthly”."
    try:
        budget.thresholds = _clean_thresholds(budget.thresholds)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    try:
        budget.full_clean()
    except ValidationError as exc:
        raise ValidationError(exc.message_dict) from exc


@transaction.atomic
def budget_save(*, actor, values, budget=None, authority=""):
    """Create a budget, or change one, from validated values. Finance and platform admins only,
    unless `authority` names the decision that sets it (a council decision on a use case's funding,
    whose service checked its own permission); the authority is kept in the audit event."""
    if not authority:
        _require_budget_manager(actor)
    if budget is not None:
        budget = Budget.objects.select_for_update().get(pk=budget.pk)
    unknown = set(values) - set(BUDGET_FIELDS)
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "Not a budget field."))

    def default_owner(budget):
        if budget.owner_id is None:
            budget.owner = actor

    budget = audited_save(
        budget or Budget(),
        actor=actor,
        values=values,
        noun="budget",
        prepare=default_owner,
        validate=_validate,
        after_extra={"authority": authority} if authority else None,
    )
    transaction.on_commit(lambda: _queue_evaluation([budget.pk]))
    return budget


def _queue_evaluation(budget_ids=None):
    from .tasks import evaluate_budgets

    evaluate_budgets.delay(budget_ids)


# Evaluation.


def _recipients(budget):
    """The budget's owner, the owners of its use case, and the leads of the team that runs it."""
    people = [budget.owner]
    team_id = budget.team_id
    if budget.use_case_id:
        people += [budget.use_case.business_owner, budget.use_case.technical_owner]
        team_id = budget.use_case.team_id
    if team_id:
        people += [
            m.user
            for m in Membership.objects.filter(team_id=team_id, role=MembershipRole.LEAD).select_related(
                "user"
            )
        ]
    return [p for p in people if p is not None]


def _team_of(budget):
    if budget.team_id:
        return budget.team_id
    if budget.use_case_id:
        return budget.use_case.team_id
    return None


def _describe(budget):
    """What the budget covers, e.g. "Team Customer Support, monthly budget"."""
    period = budget.get_period_display().lower()
    if budget.scope == BudgetScope.PORTFOLIO:
        return f"All AI spend, {period} budget"
    label = "Business function" if budget.scope == BudgetScope.FUNCTION else budget.get_scope_display()
    return f"{label} {budget.target}, {period} budget"


def _fmt(amount, currency):
    return f"{amount:,.2f} {currency}"


def _alert_message(budget, alert, status):
    what = _describe(budget)
    spent = _fmt(status.actual, status.currency)
    of = _fmt(status.amount, status.currency)
    if alert.kind == BudgetAlertKind.PROJECTION:
        subject = f"Budget at risk: {budget.name} is projected to reach {status.projected_pct}%"
        body = (
            f"{what}: {spent} spent of {of} by {status.as_of:%d %b %Y}. At the current burn rate of "
            f"{_fmt(status.burn_rate, status.currency)} a day it reaches "
            f"{_fmt(status.projected, status.currency)} by {status.period_end:%d %b %Y}."
        )
    else:
        subject = f"Budget {alert.threshold}% used: {budget.name}"
        body = f"{what}: {spent} spent of {of} ({status.used_pct}%) by {status.as_of:%d %b %Y}."
        if status.capped:
            body += " The hard cap is reached: further spend is refused until the budget is raised."
        elif budget.mode == BudgetMode.APPROVAL and alert.threshold >= budget.approval_above_pct:
            body += " Spending above this needs an approved budget increase."
    return subject, body


def _new_alert(budget, status, *, kind, threshold):
    """Create the alert once: a concurrent evaluation that got there first wins quietly."""
    values = {
        "actual": status.actual,
        "projected": status.projected,
        "amount": status.amount,
        "currency": status.currency,
    }
    try:
        with transaction.atomic():
            alert, created = BudgetAlert.objects.get_or_create(
                budget=budget,
                period_start=status.period_start,
                kind=kind,
                threshold=threshold,
                defaults=values,
            )
    except IntegrityError:
        return None
    return alert if created else None


def _announce(budget, alert, status):
    subject, body = _alert_message(budget, alert, status)
    url = reverse("showback:budget_detail", args=[budget.pk])
    notify(recipients=_recipients(budget), subject=subject, body=body, url=url)
    team_id = _team_of(budget)
    if team_id is None:
        return
    link = f"{settings.SITE_URL.rstrip('/')}{url}"
    payload = {"text": f"{subject}\n{body}\n{link}"}
    for webhook in TeamWebhook.objects.filter(team_id=team_id, active=True):
        delivery = WebhookDelivery.objects.create(webhook=webhook, payload=payload)
        transaction.on_commit(lambda pk=delivery.pk: _queue_delivery(pk))


def _queue_delivery(delivery_id):
    from .tasks import deliver_webhook

    deliver_webhook.delay(delivery_id)


def _increase_request_open(budget, status):
    """Approval mode: one request per period, opened by the system when spend crosses the line
    (the caller has checked that the period has none yet; a concurrent run loses quietly)."""
    wanted = max(status.projected, status.actual, budget.amount * MIN_INCREASE)
    requested = Decimal(math.ceil(wanted))
    increase = requested - budget.amount
    try:
        with transaction.atomic():
            request = BudgetIncreaseRequest.objects.create(
                budget=budget,
                period_start=status.period_start,
                current_amount=budget.amount,
                requested_amount=requested,
                currency=budget.currency,
                needs_council=increase > settings.AIFINOPS_COUNCIL_BUDGET_INCREASE_ABOVE,
                reason=(
                    f"Spend reached {status.used_pct}% of the budget ({_fmt(status.actual, budget.currency)} "
                    f"by {status.as_of:%d %b %Y}); the projection at period end is "
                    f"{_fmt(status.projected, budget.currency)}."
                ),
            )
    except IntegrityError:
        return None
    audit_record(actor=None, action="budget_increase.open", obj=request, after=snapshot(request))
    notify(
        recipients=[budget.owner],
        subject=f"Approve or reject: raise {budget.name} to {_fmt(requested, budget.currency)}",
        body=request.reason
        + (" Above the council's amount: the council reviews it too." if request.needs_council else ""),
        url=reverse("showback:budget_detail", args=[budget.pk]),
    )
    return request


class _RaisedThisPeriod:
    """What the budgets of one run already have in their current periods, read in two queries for
    the whole run rather than a few per budget: the highest threshold alert fired, whether the
    projection warning is out, and whether an increase request is open."""

    def __init__(self, budgets, statuses):
        ids = [b.pk for b in budgets]
        starts = {s.period_start for s in statuses.values()}
        self.alerts = {
            (r["budget_id"], r["period_start"], r["kind"]): r["highest"]
            for r in BudgetAlert.objects.filter(budget_id__in=ids, period_start__in=starts)
            .order_by()
            .values("budget_id", "period_start", "kind")
            .annotate(highest=Max("threshold"))
        }
        approval = [b.pk for b in budgets if b.mode == BudgetMode.APPROVAL]
        self.requests = set(
            BudgetIncreaseRequest.objects.filter(budget_id__in=approval, period_start__in=starts).values_list(
                "budget_id", "period_start"
            )
        )

    def threshold_fired(self, budget, status, threshold):
        highest = self.alerts.get((budget.pk, status.period_start, BudgetAlertKind.THRESHOLD))
        return highest is not None and highest >= threshold

    def projection_warned(self, budget, status):
        return (budget.pk, status.period_start, BudgetAlertKind.PROJECTION) in self.alerts

    def increase_requested(self, budget, status):
        return (budget.pk, status.period_start) in self.requests


def _evaluate_one(budget, status, raised):
    created = []
    if status.amount > 0:
        thresholds = set(budget.thresholds)
        if budget.mode == BudgetMode.HARD_CAP:
            thresholds.add(100)  # reaching a hard cap is always announced
        crossed = [t for t in thresholds if status.actual * 100 >= status.amount * t]
        # Lower thresholds crossed in the same step are covered by the highest one's alert.
        if crossed and not raised.threshold_fired(budget, status, max(crossed)):
            alert = _new_alert(budget, status, kind=BudgetAlertKind.THRESHOLD, threshold=max(crossed))
            if alert is not None:
                created.append(alert)
        if status.projected_over and not status.over and not raised.projection_warned(budget, status):
            alert = _new_alert(budget, status, kind=BudgetAlertKind.PROJECTION, threshold=None)
            if alert is not None:
                created.append(alert)
    for alert in created:
        audit_record(actor=None, action="budget_alert.fire", obj=alert, after=snapshot(alert))
        _announce(budget, alert, status)
    if (
        budget.mode == BudgetMode.APPROVAL
        and status.actual * 100 >= status.amount * budget.approval_above_pct
        and not raised.increase_requested(budget, status)
    ):
        _increase_request_open(budget, status)
    return created


@transaction.atomic
def budgets_evaluate(*, now=None, budget_ids=None):
    """Check every active budget (or those of `budget_ids`) against spend to date.

    Fires each threshold alert and the projection warning once per period, notifies the owners
    (in the app and by email) and queues the team's webhooks, and opens increase requests for
    approval-mode budgets. Returns the alerts created.
    """
    today = (now or timezone.now()).date()
    budgets = Budget.objects.filter(active=True).select_related(
        "owner", "team", "use_case__business_owner", "use_case__technical_owner", "provider", "model"
    )
    if budget_ids is not None:
        budgets = budgets.filter(pk__in=budget_ids)
    budgets = list(budgets.order_by("pk"))
    statuses = selectors.budget_statuses(budgets, today=today)
    raised = _RaisedThisPeriod(budgets, statuses)
    created = []
    for budget in budgets:
        created += _evaluate_one(budget, statuses[budget.pk], raised)
    return created


# Alerts.


def _alert_for_update(alert):
    alert = (
        BudgetAlert.objects.select_for_update(of=("self",))
        .select_related("budget__use_case")
        .get(pk=alert.pk)
    )
    return alert


@transaction.atomic
def budget_alert_acknowledge(*, actor, alert, note=""):
    """Someone has seen it and is on it. Only an open alert can be acknowledged."""
    alert = _alert_for_update(alert)
    permissions.require(actor, permissions.HANDLE_BUDGET_ALERT, alert.budget)
    if alert.status != BudgetAlertStatus.OPEN:
        raise ValidationError({"status": f"The alert is already {alert.get_status_display().lower()}."})
    before = snapshot(alert)
    alert.status = BudgetAlertStatus.ACKNOWLEDGED
    alert.acknowledged_by = actor
    alert.acknowledged_at = timezone.now()
    alert.note = (note or "").strip() or alert.note
    alert.save()
    audit_record(
        actor=actor, action="budget_alert.acknowledge", obj=alert, before=before, after=snapshot(alert)
    )
    return alert


@transaction.atomic
def budget_alert_resolve(*, actor, alert, note):
    """Close an alert, saying what was done about it."""
    alert = _alert_for_update(alert)
    permissions.require(actor, permissions.HANDLE_BUDGET_ALERT, alert.budget)
    if alert.status == BudgetAlertStatus.RESOLVED:
        raise ValidationError({"status": "The alert is already resolved."})
    note = (note or "").strip()
    if not note:
        raise ValidationError(
            {"note": "Say how the alert was resolved, e.g. “Raised the budget for launch”."}
        )
    before = snapshot(alert)
    alert.status = BudgetAlertStatus.RESOLVED
    alert.resolved_by = actor
    alert.resolved_at = timezone.now()
    alert.note = note
    alert.save()
    audit_record(actor=actor, action="budget_alert.resolve", obj=alert, before=before, after=snapshot(alert))
    return alert


# Increase requests.


def _request_for_update(request):
    return BudgetIncreaseRequest.objects.select_for_update().select_related("budget").get(pk=request.pk)


@transaction.atomic
def budget_increase_approve(*, actor, request, amount=None, note=""):
    """Approve an open request: the budget's amount becomes the approved amount (the one requested
    unless the approver gives another, which must still be above the current amount)."""
    request = _request_for_update(request)
    budget = Budget.objects.select_for_update().get(pk=request.budget_id)
    permissions.require(actor, permissions.APPROVE_BUDGET_INCREASE, budget)
    if request.status != IncreaseRequestStatus.OPEN:
        raise ValidationError({"status": f"The request is already {request.get_status_display().lower()}."})
    approved = request.requested_amount if amount in (None, "") else Decimal(str(amount))
    if approved <= budget.amount:
        raise ValidationError(
            {"amount": f"Approve an amount above the current budget, {_fmt(budget.amount, budget.currency)}."}
        )
    before_request, before_budget = snapshot(request), snapshot(budget)
    request.status = IncreaseRequestStatus.APPROVED
    request.decided_by = actor
    request.decided_at = timezone.now()
    request.decision_note = (note or "").strip()
    request.requested_amount = approved
    request.save()
    budget.amount = approved
    budget.save(update_fields=["amount", "updated_at"])
    audit_record(
        actor=actor,
        action="budget_increase.approve",
        obj=request,
        before=before_request,
        after=snapshot(request),
    )
    audit_record(
        actor=actor, action="budget.update", obj=budget, before=before_budget, after=snapshot(budget)
    )
    notify(
        recipients=[budget.owner],
        subject=f"Budget raised: {budget.name} is now {_fmt(approved, budget.currency)}",
        body=request.decision_note,
        url=reverse("showback:budget_detail", args=[budget.pk]),
    )
    return request


@transaction.atomic
def budget_increase_reject(*, actor, request, note):
    request = _request_for_update(request)
    budget = request.budget
    permissions.require(actor, permissions.REJECT_BUDGET_INCREASE, budget)
    if request.status != IncreaseRequestStatus.OPEN:
        raise ValidationError({"status": f"The request is already {request.get_status_display().lower()}."})
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": "Say why the increase is rejected, so the team knows what to change."})
    before = snapshot(request)
    request.status = IncreaseRequestStatus.REJECTED
    request.decided_by = actor
    request.decided_at = timezone.now()
    request.decision_note = note
    request.save()
    audit_record(
        actor=actor, action="budget_increase.reject", obj=request, before=before, after=snapshot(request)
    )
    return request


# Team webhooks.


@transaction.atomic
def team_webhook_save(*, actor, values, webhook=None):
    _require_budget_manager(actor)
    before = None
    if webhook is not None:
        webhook = TeamWebhook.objects.select_for_update().get(pk=webhook.pk)
        before = snapshot(webhook, fields={"team", "url", "active"})
    webhook = webhook or TeamWebhook()
    for name in ("team", "url", "active", "secret"):
        if name in values:
            setattr(webhook, name, values[name])
    try:
        webhook.full_clean()
    except ValidationError as exc:
        raise ValidationError(exc.message_dict) from exc
    webhook.save()
    # The secret stays out of the audit trail.
    audit_record(
        actor=actor,
        action="team_webhook.update" if before else "team_webhook.create",
        obj=webhook,
        before=before,
        after=snapshot(webhook, fields={"team", "url", "active"}),
    )
    return webhook


class DeliveryFailed(Exception):
    pass


def _post(webhook, payload):
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "aifinops-webhook/1"}
    if webhook.secret:
        digest = hmac.new(webhook.secret.encode(), body, hashlib.sha256).hexdigest()
        headers["X-Aifinops-Signature"] = f"sha256={digest}"
    request = urllib.request.Request(webhook.url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:  # noqa: S310
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code} {exc.reason}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return None, str(getattr(exc, "reason", exc))[:500]


def webhook_delivery_attempt(*, delivery_id, final=False):
    """POST one delivery. Returns "delivered", "failed" (final attempt, or nothing to do) or
    "retry"; each attempt is recorded on the delivery, outside any long transaction."""
    delivery = WebhookDelivery.objects.select_related("webhook").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return delivery.status if delivery else DeliveryStatus.FAILED
    if not delivery.webhook.active:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.FAILED, last_error="The webhook was switched off."
        )
        return DeliveryStatus.FAILED
    code, error = _post(delivery.webhook, delivery.payload)
    ok = code is not None and 200 <= code < 300
    if ok:
        status = DeliveryStatus.DELIVERED
    elif final:
        status = DeliveryStatus.FAILED
    else:
        status = DeliveryStatus.PENDING
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        delivery.attempts += 1
        delivery.last_status_code = code
        delivery.last_error = "" if ok else (error or f"HTTP {code}")
        delivery.status = status
        if ok:
            delivery.delivered_at = timezone.now()
        delivery.save()
    if not ok:
        log.warning(
            "webhook delivery %s attempt %s failed: %s", delivery.pk, delivery.attempts, error or code
        )
    return "retry" if status == DeliveryStatus.PENDING else status
