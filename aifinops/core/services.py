"""Writes of the core app: API tokens, people (invite, deactivate, reactivate) and their roles.
Each writes its audit event.

Also the one shape the apps' services share for a plain create or update: `audited_save`.
"""

import logging
from collections.abc import Callable, Mapping

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from . import permissions
from .audit import audit_record, snapshot
from .models import ApiToken
from .roles import Role

logger = logging.getLogger(__name__)

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


PERSON_FIELDS = ("id", "username", "email", "first_name", "last_name", "is_active", "is_staff")


def _active_platform_admins():
    return (
        get_user_model()
        .objects.filter(Q(groups__name=Role.PLATFORM_ADMIN) | Q(is_superuser=True), is_active=True)
        .distinct()
    )


def _refuse_losing_the_last_admin(user, *, field):
    """Refuse a change that would leave the product with no active platform admin."""
    others = _active_platform_admins().exclude(pk=user.pk)
    if permissions.is_platform_admin(user) and user.is_active and not others.exists():
        raise ValidationError(
            {field: f"{user.get_username()} is the last active platform admin: make someone else one first."}
        )


@transaction.atomic
def user_roles_set(*, user, roles, actor):
    """Give `user` exactly `roles`. Platform admin also grants access to the Django admin.

    The product keeps at least one active platform admin: taking the role from the last one is
    refused (a superuser stays one whatever their roles).
    """
    if actor is not None:
        permissions.require(actor, permissions.CHANGE_ROLES)
    roles = sorted(set(roles))
    unknown = set(roles) - set(Role.values)
    if unknown:
        raise ValidationError({"roles": f"Unknown roles: {', '.join(sorted(unknown))}."})
    given, user = user, type(user).objects.select_for_update().get(pk=user.pk)
    if Role.PLATFORM_ADMIN not in roles and not user.is_superuser:
        _refuse_losing_the_last_admin(user, field="roles")
    before = sorted(user.groups.filter(name__in=Role.values).values_list("name", flat=True))
    if before == roles:
        return user
    groups = [Group.objects.get_or_create(name=r)[0] for r in roles]
    user.groups.remove(*user.groups.filter(name__in=Role.values))
    user.groups.add(*groups)
    should_be_staff = Role.PLATFORM_ADMIN in roles or user.is_superuser
    if user.is_staff != should_be_staff:
        user.is_staff = should_be_staff
        user.save(update_fields=["is_staff"])
    permissions.forget(user)
    permissions.forget(given)
    audit_record(
        actor=actor,
        action="user.roles_set",
        obj=user,
        before={"roles": before},
        after={"roles": roles},
    )
    return user


def password_set_path(user) -> str:
    """The path of a one-time link that lets `user` choose a password (Django's password-reset
    token: it stops working once a password is set, or after PASSWORD_RESET_TIMEOUT)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse("core:password_set", args=[uid, default_token_generator.make_token(user)])


def _clean_person(*, username, email, first_name, last_name):
    username, email = username.strip(), email.strip()
    errors = {}
    User = get_user_model()
    if not username:
        errors["username"] = "Give a username: the name they log in with."
    elif User.objects.filter(username__iexact=username).exists():
        errors["username"] = (
            f"Someone already has the username “{username}” (names are compared ignoring case)."
        )
    if not email:
        errors["email"] = "Give an email address: the invitation is sent there."
    else:
        try:
            validate_email(email)
        except ValidationError:
            errors["email"] = "Enter a valid email address, such as ana@example.com."
        else:
            if User.objects.filter(email__iexact=email).exists():
                errors["email"] = f"Someone already has the email {email} (compared ignoring case)."
    if errors:
        raise ValidationError(errors)
    return User(username=username, email=email, first_name=first_name.strip(), last_name=last_name.strip())


@transaction.atomic
def person_invite(*, actor, username, email, first_name="", last_name="", roles=(), base_url=""):
    """Create a person with no password, and send them a one-time link to set one.

    Returns the user and the link (absolute when `base_url` is given), which the admin is also
    shown, so that an invitation reaches people whose email is not set up yet.
    """
    permissions.require(actor, permissions.MANAGE_PEOPLE)
    user = _clean_person(username=username, email=email, first_name=first_name, last_name=last_name)
    user.set_unusable_password()
    try:
        user.full_clean()
    except ValidationError as exc:
        raise ValidationError(exc.message_dict) from exc
    user.save()
    audit_record(actor=actor, action="user.invite", obj=user, after=snapshot(user, PERSON_FIELDS))
    if roles:
        user_roles_set(user=user, roles=roles, actor=actor)
    link = base_url.rstrip("/") + password_set_path(user)
    inviter = actor.get_full_name() or actor.get_username()
    body = (
        f"{inviter} invited you to aifinops as {user.get_username()}.\n\n"
        f"Choose your password here (the link works once, for "
        f"{settings.PASSWORD_RESET_TIMEOUT // 86400} days):\n{link}\n"
    )
    recipient = user.email
    transaction.on_commit(lambda: _send_invitation(body, recipient))
    return user, link


def _send_invitation(body, recipient):
    # The person exists by now and the admin is shown the link: a mail server that is down must
    # not turn the invitation into an error page. It is logged for whoever runs the mail.
    try:
        send_mail("Your aifinops account", body, settings.DEFAULT_FROM_EMAIL, [recipient])
    except OSError:
        logger.exception("The invitation email to %s could not be sent.", recipient)


def _set_active(*, actor, user, active):
    permissions.require(actor, permissions.MANAGE_PEOPLE)
    user = type(user).objects.select_for_update().get(pk=user.pk)
    if user.is_active == active:
        return user
    if not active:
        if user.pk == actor.pk:
            raise ValidationError(
                {"is_active": "You cannot deactivate yourself: ask another platform admin."}
            )
        _refuse_losing_the_last_admin(user, field="is_active")
    before = snapshot(user, PERSON_FIELDS)
    user.is_active = active
    user.save(update_fields=["is_active"])
    audit_record(
        actor=actor,
        action="user.reactivate" if active else "user.deactivate",
        obj=user,
        before=before,
        after=snapshot(user, PERSON_FIELDS),
    )
    return user


@transaction.atomic
def person_deactivate(*, actor, user):
    """Stop a person logging in or being notified. Nobody is deleted: their records keep their name."""
    return _set_active(actor=actor, user=user, active=False)


@transaction.atomic
def person_reactivate(*, actor, user):
    return _set_active(actor=actor, user=user, active=True)
