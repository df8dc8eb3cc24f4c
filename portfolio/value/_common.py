"""Validation helpers shared by the value-record services (value.py and backlog.py)."""

import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError

from aifinops.core import periods, permissions


def _require_manager(actor, use_case):
    permissions.require(actor, permissions.CHANGE_USE_CASE_RECORD, use_case)


def _money(value, field, *, required=True):
    """A non-negative Decimal, or None when it may be left blank."""
    if value is None or value == "":
        if required:
            raise ValidationError({field: "Enter an amount (0 or more)."})
        return None
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationError({field: "Enter an amount as a number, e.g. 1250.00."}) from exc
    if not amount.is_finite():
        raise ValidationError({field: "Enter an amount as a number, e.g. 1250.00."})
    if amount < 0:
        raise ValidationError({field: "Enter an amount of 0 or more."})
    return amount


def _currency_of(use_case, currency, field="currency"):
    """Value signals and cost lines are compared with spend, so they stay in the use case's currency."""
    currency = (currency or use_case.currency).upper()
    if currency != use_case.currency:
        raise ValidationError(
            {
                field: f"Enter amounts in the use case's currency, {use_case.currency}: figures in "
                f"different currencies cannot be compared."
            }
        )
    return currency


def _month(value, *, field="month"):
    if value is None or value == "":
        raise ValidationError({field: "Enter the month, e.g. 2025-03."})
    if isinstance(value, datetime.datetime):
        value = value.date()
    if not isinstance(value, datetime.date):
        raise ValidationError({field: "Enter the month as YYYY-MM, e.g. 2025-03."})
    month = periods.month_start(value)
    if month > periods.month_start(periods.today()):
        raise ValidationError(
            {field: "Pick the current month or an earlier one: a future month has no results yet."}
        )
    return month


def _full_clean(obj):
    try:
        obj.full_clean(exclude=["use_case"])
    except ValidationError as exc:
        raise ValidationError(exc.message_dict) from exc


def _choice(value, choices, field, what):
    if value not in choices.values:
        raise ValidationError({field: f"Choose one of the {what}: {', '.join(choices.labels)}."})
    return value


# Milestones.


def _check_due_date(due_date):
    if not isinstance(due_date, datetime.date):
        raise ValidationError({"due_date": "Enter the due date as YYYY-MM-DD."})
    if due_date < periods.today():
        raise ValidationError(
            {"due_date": "Pick today or a later date: a date in the past would be missed at once."}
        )
