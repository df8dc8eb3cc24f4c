"""Writes of the optimization backlog: ideas to lower a use case's cost, and what they saved."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from aifinops.core.audit import audit_record, snapshot
from aifinops.core.services import audited_save

from ..choices import Level, OptimizationLever, OptimizationStatus
from ..models import OptimizationItem
from ._common import _choice, _full_clean, _money, _require_manager

# Where an optimization may go from each status. Done is final; a rejected idea may be proposed again.
OPTIMIZATION_TRANSITIONS = {
    OptimizationStatus.PROPOSED: {
        OptimizationStatus.IN_PROGRESS,
        OptimizationStatus.DONE,
        OptimizationStatus.REJECTED,
    },
    OptimizationStatus.IN_PROGRESS: {
        OptimizationStatus.PROPOSED,
        OptimizationStatus.DONE,
        OptimizationStatus.REJECTED,
    },
    OptimizationStatus.DONE: set(),
    OptimizationStatus.REJECTED: {OptimizationStatus.PROPOSED},
}


def _owner(value):
    if value in (None, ""):
        return None
    if isinstance(value, get_user_model()):
        user = value
    else:
        user = get_user_model().objects.filter(username=value).first()
    if user is None or not user.is_active:
        raise ValidationError({"owner": "Choose an active person by their username, or leave it blank."})
    return user


def _check_savings(item):
    if item.status == OptimizationStatus.DONE and item.realised_monthly_savings is None:
        raise ValidationError(
            {"realised_monthly_savings": "Enter the realised monthly savings (0 if none) to mark it done."}
        )
    if item.status != OptimizationStatus.DONE and item.realised_monthly_savings is not None:
        raise ValidationError(
            {
                "realised_monthly_savings": "Realised savings are recorded once the item is done: leave it "
                "blank, or set the status to done."
            }
        )


OPTIMIZATION_FIELDS = (
    "title",
    "lever",
    "expected_monthly_savings",
    "realised_monthly_savings",
    "currency",
    "value_impact",
    "risk",
    "effort",
    "owner",
    "status",
)


def _optimization_values(use_case, values):
    clean = {}
    for field, value in values.items():
        if field not in OPTIMIZATION_FIELDS:
            raise ValidationError({field: "This field cannot be set on a backlog item."})
        if field == "title":
            value = (value or "").strip()
            if not value:
                raise ValidationError(
                    {"title": "Say what the optimization is, e.g. “Route FAQs to a small model”."}
                )
        elif field == "lever":
            _choice(value, OptimizationLever, "lever", "levers")
        elif field in ("risk", "effort"):
            _choice(value, Level, field, "levels")
        elif field == "status":
            _choice(value, OptimizationStatus, "status", "statuses")
        elif field == "expected_monthly_savings":
            value = _money(value, field)
        elif field == "realised_monthly_savings":
            value = _money(value, field, required=False)
        elif field == "currency":
            value = (value or use_case.currency).upper()
            if len(value) != 3 or not value.isalpha():
                raise ValidationError({"currency": "Enter a three-letter currency code, e.g. USD."})
        elif field == "owner":
            value = _owner(value)
        elif field == "value_impact":
            value = (value or "").strip()
        clean[field] = value
    return clean


@transaction.atomic
def optimization_create(*, actor, use_case, title, lever, expected_monthly_savings, **values):
    """Add an idea to the use case's backlog. It starts proposed unless `status` says otherwise."""
    _require_manager(actor, use_case)
    clean = _optimization_values(
        use_case,
        {"title": title, "lever": lever, "expected_monthly_savings": expected_monthly_savings, **values},
    )
    clean.setdefault("currency", use_case.currency)
    item = OptimizationItem(use_case=use_case, **clean)
    _check_savings(item)
    _full_clean(item)
    item.save()
    audit_record(actor=actor, action="optimization.create", obj=item, after=snapshot(item))
    return item


@transaction.atomic
def optimization_update(*, actor, item, **values):
    """Change a backlog item: its fields, or its status (proposed → in progress → done or rejected).

    Realised savings belong to done items only; a rejected item needs none.
    """
    item = OptimizationItem.objects.select_for_update().select_related("use_case").get(pk=item.pk)
    _require_manager(actor, item.use_case)
    clean = _optimization_values(item.use_case, values)
    new_status = clean.get("status", item.status)
    if new_status != item.status and new_status not in OPTIMIZATION_TRANSITIONS[item.status]:
        allowed = ", ".join(
            OptimizationStatus(s).label.lower() for s in sorted(OPTIMIZATION_TRANSITIONS[item.status])
        )
        raise ValidationError(
            {
                "status": f"A {item.get_status_display().lower()} item cannot become "
                f"{OptimizationStatus(new_status).label.lower()}"
                + (f"; it can become {allowed}." if allowed else "; it is final.")
            }
        )
    action = "optimization.update" if new_status == item.status else f"optimization.{new_status}"
    return audited_save(
        item, actor=actor, values=clean, action=action, prepare=_check_savings, validate=_full_clean
    )
