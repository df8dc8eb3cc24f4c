"""Writes of planning: the driver assumptions a planner adds to a forecast, audited."""

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from aifinops.core import permissions
from aifinops.core.audit import audit_record, snapshot

from ...models import AssumptionKind, ForecastAssumption

NOTE_MAX = 2000


def _note(note, *, limit=NOTE_MAX):
    note = (note or "").strip()
    if len(note) > limit:
        raise ValidationError({"note": f"Keep the note under {limit} characters."})
    return note


MAX_GROWTH_PCT = Decimal("1000")
ASSUMPTION_YEARS_AHEAD = 5


def _check_assumption(*, use_case, kind, effective_from, growth_pct, from_model, target_model):
    errors = {}
    if kind not in AssumptionKind.values:
        errors["kind"] = "Choose launch date, adoption growth or planned model switch."
    today = timezone.now().date()
    if effective_from is None:
        errors["effective_from"] = "Give the date from which the assumption holds."
    elif not (
        today - datetime.timedelta(days=366)
        <= effective_from
        <= today + datetime.timedelta(days=365 * ASSUMPTION_YEARS_AHEAD)
    ):
        errors["effective_from"] = (
            f"Choose a date from a year ago to {ASSUMPTION_YEARS_AHEAD} years ahead; "
            "forecasts reach 12 months."
        )
    if growth_pct is not None and not (Decimal("-100") < growth_pct <= MAX_GROWTH_PCT):
        errors["growth_pct"] = "A percentage above -100 and at most 1000."
    if kind == AssumptionKind.LAUNCH_DATE:
        if use_case is None:
            errors["use_case"] = "A launch belongs to a use case: choose the one that launches."
        elif growth_pct is None and not use_case.expected_monthly_cost:
            errors["growth_pct"] = (
                "Give the step-up in percent: the use case has no expected monthly cost to step up to."
            )
    elif kind == AssumptionKind.ADOPTION_GROWTH:
        if growth_pct is None:
            errors["growth_pct"] = "Give the monthly growth in percent, e.g. 8 for 8 % a month."
    elif kind == AssumptionKind.MODEL_SWITCH:
        if target_model is None:
            errors["target_model"] = "Choose the model the use case will switch to."
        elif target_model.input_price_per_mtok <= 0 and target_model.output_price_per_mtok <= 0:
            errors["target_model"] = "The catalog has no price for this model; price it first."
        if use_case is None and from_model is None:
            errors["from_model"] = "For the whole portfolio, choose the model that is replaced."
        if from_model is not None and target_model is not None:
            if from_model.pk == target_model.pk:
                errors["target_model"] = "Choose a model other than the one replaced."
            elif from_model.currency != target_model.currency:
                errors["target_model"] = (
                    f"The catalog prices {target_model} in {target_model.currency} and {from_model} in "
                    f"{from_model.currency}; choose models priced in the same currency."
                )
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def forecast_assumption_create(
    *,
    actor,
    use_case=None,
    kind,
    effective_from,
    growth_pct=None,
    from_model=None,
    target_model=None,
    note="",
):
    """Add a planner's driver assumption to the forecast of a use case (or of the portfolio)."""
    rule = permissions.PLAN_FORECAST if use_case is not None else permissions.PLAN_PORTFOLIO_FORECAST
    permissions.require(actor, rule, use_case)
    _check_assumption(
        use_case=use_case,
        kind=kind,
        effective_from=effective_from,
        growth_pct=growth_pct,
        from_model=from_model,
        target_model=target_model,
    )
    assumption = ForecastAssumption(
        use_case=use_case,
        kind=kind,
        effective_from=effective_from,
        growth_pct=growth_pct,
        from_model=from_model if kind == AssumptionKind.MODEL_SWITCH else None,
        target_model=target_model if kind == AssumptionKind.MODEL_SWITCH else None,
        note=_note(note),
        created_by=actor,
    )
    assumption.full_clean()
    assumption.save()
    audit_record(actor=actor, action="forecast_assumption.create", obj=assumption, after=snapshot(assumption))
    return assumption


@transaction.atomic
def forecast_assumption_delete(*, actor, assumption):
    permissions.require(actor, permissions.REMOVE_ASSUMPTION, assumption.use_case)
    audit_record(
        actor=actor, action="forecast_assumption.delete", obj=assumption, before=snapshot(assumption)
    )
    assumption.delete()
