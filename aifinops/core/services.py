"""Writes of the core app: API tokens and role assignment. Each writes its audit event.

Also the one shape the apps' services share for a plain create or update: `audited_save`.
"""

from collections.abc import Callable, Mapping

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from . import permissions
from .audit import audit_record, snapshot
from .models import ApiToken
from .roles import Role

TOKEN_FIELDS = ("id", "user", "name", "prefix", "created_at", "revoked_at")


def audited_save(
    obj,
    *,
    actor,
    values: Mapping,
    noun: str = "",
    action: str = "",
    fields=None,
    prepare: Callable | None = None,
    validate: Callable | None = None,
    after_extra: Mapping | None = None,
):
    """Set `values` on `obj`, validate it, save it and write its audit event (the state before,
    none for a new row, and after), inside the calling service's transaction.

    The action is `action`, or `<noun>.create` / `<noun>.update`; `fields` limits the snapshots;
    `prepare(obj)` runs after the values are set and before `validate(obj)` (by default
    `obj.full_clean()`); `after_extra` adds to the after state what is not a field of `obj`.
    """
    creating = obj._state.adding
    before = None if creating else snapshot(obj, fields)
    for name, value in values.items():
        setattr(obj, name, value)
    if prepare is not None:
        prepare(obj)
    if validate is None:
        obj.full_clean()
    else:
        validate(obj)
    obj.save()
    after = snapshot(obj, fields)
    if after_extra:
        after.update(after_extra)
    action = action or f"{noun}.{'create' if creating else 'update'}"
    audit_record(actor=actor, action=action, obj=obj, before=before, after=after)
    return obj


@transaction.atomic
def api_token_create(*, user, name: str) -> tuple[ApiToken, str]:
    """Create a personal API token. Returns the token and its key, which is shown only once."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the token a name, such as the integration using it."})
    if len(name) > 100:
        raise ValidationError({"name": "The name can be at most 100 characters."})
    token = ApiToken(user=user, name=name)
    raw = token.set_key()
    token.save()
    audit_record(actor=user, action="api_token.create", obj=token, after=snapshot(token, TOKEN_FIELDS))
    return token, raw


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor) -> ApiToken:
    permissions.require(actor, permissions.REVOKE_API_TOKEN, token)
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        return token
    before = snapshot(token, TOKEN_FIELDS)
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit_record(
        actor=actor,
        action="api_token.revoke",
        obj=token,
        before=before,
        after=snapshot(token, TOKEN_FIELDS),
    )
    return token


@transaction.atomic
def user_roles_set(*, user, roles, actor):
    """Give `user` exactly `roles`. Platform admin also grants access to the Django admin."""
    unknown = set(roles) - set(Role.values)
    if unknown:
        raise ValidationError({"roles": f"Unknown roles: {', '.join(sorted(unknown))}."})
    before = sorted(user.groups.filter(name__in=Role.values).values_list("name", flat=True))
    groups = [Group.objects.get_or_create(name=r)[0] for r in roles]
    user.groups.remove(*user.groups.filter(name__in=Role.values))
    user.groups.add(*groups)
    should_be_staff = Role.PLATFORM_ADMIN in roles or user.is_superuser
    if user.is_staff != should_be_staff:
        user.is_staff = should_be_staff
        user.save(update_fields=["is_staff"])
    permissions.forget(user)
    audit_record(
        actor=actor,
        action="user.roles_set",
        obj=user,
        before={"roles": before},
        after={"roles": sorted(roles)},
    )
    return user
