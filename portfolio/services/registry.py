"""Writes of the portfolio registry. Each runs in one transaction and writes its audit event."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from aifinops.core import permissions
from aifinops.core.audit import audit_record, snapshot

from ..choices import MembershipRole, Stage
from ..models import Membership, Team, UseCase


@transaction.atomic
def team_create(*, actor, name, business_function, cost_center, description="", slug=None):
    if actor is not None:
        permissions.require(actor, permissions.CREATE_TEAM)
    team = Team(
        name=name,
        slug=slug or slugify(name),
        business_function=business_function,
        cost_center=cost_center,
        description=description,
    )
    team.full_clean()
    team.save()
    audit_record(actor=actor, action="team.create", obj=team, after=snapshot(team))
    return team


@transaction.atomic
def membership_add(*, actor, team, user, role=MembershipRole.MEMBER):
    if actor is not None:
        permissions.require(actor, permissions.CHANGE_MEMBERSHIP)
    membership, created = Membership.objects.get_or_create(team=team, user=user, defaults={"role": role})
    if created:
        audit_record(actor=actor, action="membership.add", obj=membership, after=snapshot(membership))
    permissions.forget(user)
    return membership


@transaction.atomic
def use_case_register(*, actor, ai_models=(), initial_stage=Stage.CONCEPT, **fields):
    """Register a use case in the portfolio.

    New work starts at concept and arrives through intake. `initial_stage` lets a platform admin
    register a use case that already runs (in pilot or production before the product existed).
    """
    if initial_stage not in Stage.values:
        raise ValidationError({"stage": f"Unknown stage “{initial_stage}”."})
    if initial_stage != Stage.CONCEPT and actor is not None:
        permissions.require(actor, permissions.REGISTER_PAST_CONCEPT)
    use_case = UseCase(stage=initial_stage, **fields)
    # The stage is a protected FSM field: validating it would assign it a second time.
    use_case.full_clean(exclude=["stage"])
    use_case.save()
    if ai_models:
        use_case.ai_models.set(ai_models)
    after = snapshot(use_case)
    after["ai_models"] = sorted(m.pk for m in ai_models)
    audit_record(actor=actor, action="use_case.register", obj=use_case, after=after)
    return use_case
