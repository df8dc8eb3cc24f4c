"""Writes of the portfolio registry. Each runs in one transaction and writes its audit event."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from aifinops.core import permissions
from aifinops.core.audit import audit_record, snapshot
from aifinops.core.services import audited_save

from ..choices import MembershipRole, Stage
from ..models import Membership, Team, UseCase


def _check_team_name(name, *, slug, team=None):
    """A team's name is unique ignoring case, and must give a usable slug (its URL)."""
    others = Team.objects.exclude(pk=team.pk) if team is not None else Team.objects.all()
    if not name.strip():
        raise ValidationError({"name": "Give the team a name."})
    if others.filter(name__iexact=name.strip()).exists():
        raise ValidationError({"name": f"There is already a team called “{name.strip()}” (ignoring case)."})
    if slug is not None:
        if not slug:
            raise ValidationError(
                {"name": "Use letters or digits in the name: they make the team's web address."}
            )
        if others.filter(slug=slug).exists():
            raise ValidationError(
                {"name": f"Another team has the web address “{slug}”: choose another name."}
            )


def _full_clean(obj):
    try:
        obj.full_clean()
    except ValidationError as exc:
        # The slug comes from the name: a problem with it is the name's to fix.
        errors = exc.message_dict
        if "slug" in errors:
            errors.setdefault("name", []).extend(errors.pop("slug"))
        raise ValidationError(errors) from exc


@transaction.atomic
def team_create(*, actor, name, business_function, cost_center, description="", slug=None):
    if actor is not None:
        permissions.require(actor, permissions.CREATE_TEAM)
    slug = slug or slugify(name)
    _check_team_name(name, slug=slug)
    return audited_save(
        Team(slug=slug),
        actor=actor,
        values={
            "name": name.strip(),
            "business_function": business_function,
            "cost_center": cost_center,
            "description": description,
        },
        action="team.create",
        validate=_full_clean,
    )


@transaction.atomic
def team_update(*, actor, team, name, business_function, cost_center, description=""):
    """Rename a team or change its function, cost center or description. Its slug (its web
    address and the key spend tags name) stays as it was, so links and tags keep working."""
    permissions.require(actor, permissions.CHANGE_TEAM)
    team = Team.objects.select_for_update().get(pk=team.pk)
    _check_team_name(name, slug=None, team=team)
    before = snapshot(team)
    team.name = name.strip()
    team.business_function = business_function
    team.cost_center = cost_center
    team.description = description
    _full_clean(team)
    after = snapshot(team)
    if after == before:
        return team
    team.save()
    audit_record(actor=actor, action="team.update", obj=team, before=before, after=after)
    return team


@transaction.atomic
def membership_add(*, actor, team, user, role=MembershipRole.MEMBER):
    if actor is not None:
        permissions.require(actor, permissions.CHANGE_MEMBERSHIP)
    if role not in MembershipRole.values:
        raise ValidationError({"role": f"Choose member or team lead, not “{role}”."})
    membership, created = Membership.objects.get_or_create(team=team, user=user, defaults={"role": role})
    if created:
        audit_record(actor=actor, action="membership.add", obj=membership, after=snapshot(membership))
    permissions.forget(user)
    return membership


@transaction.atomic
def membership_set_role(*, actor, membership, role):
    """Make a member the team's lead, or a lead a plain member."""
    permissions.require(actor, permissions.CHANGE_MEMBERSHIP)
    if role not in MembershipRole.values:
        raise ValidationError({"role": f"Choose member or team lead, not “{role}”."})
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.role == role:
        return membership
    return audited_save(membership, actor=actor, values={"role": role}, action="membership.change_role")


@transaction.atomic
def membership_remove(*, actor, membership):
    permissions.require(actor, permissions.CHANGE_MEMBERSHIP)
    membership = Membership.objects.select_for_update().select_related("user").get(pk=membership.pk)
    before = snapshot(membership)
    # The event names the row before it goes, so the team's history still reads who left.
    audit_record(actor=actor, action="membership.remove", obj=membership, before=before)
    membership.delete()
    permissions.forget(membership.user)


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
