"""People administration through the services: invite, deactivate, reactivate, change roles. Each
writes its audit event; the guard rails keep an admin from locking themselves or everyone out."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from aifinops.core import permissions, services
from aifinops.core.models import AuditEvent
from aifinops.core.roles import Role
from aifinops.core.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
User = get_user_model()


def test_an_invitation_creates_a_person_without_a_password_and_mails_a_one_time_link(
    cast, client, django_capture_on_commit_callbacks
):
    # When the admin invites Ana as a finance analyst
    with django_capture_on_commit_callbacks(execute=True):
        ana, link = services.person_invite(
            actor=cast.admin,
            username="ana",
            email="Ana@Example.com",
            first_name="Ana",
            roles=[Role.FINANCE_ANALYST],
            base_url="http://testserver/",
        )

    # Then Ana exists, has no usable password, holds the role, and the invitation is audited
    assert not ana.has_usable_password()
    assert permissions.roles_of(User.objects.get(pk=ana.pk)) == {Role.FINANCE_ANALYST}
    assert AuditEvent.objects.filter(action="user.invite", object_id=str(ana.pk), actor=cast.admin).exists()
    assert AuditEvent.objects.filter(action="user.roles_set", object_id=str(ana.pk)).exists()
    # and the email carries the same link the admin was shown
    assert link.startswith("http://testserver/accounts/set-password/")
    assert [m.to for m in mail.outbox] == [["Ana@example.com"]]  # the domain is lowercased
    assert link in mail.outbox[0].body

    # When Ana opens the link and sets a password, then she can log in, and the link is spent
    path = link.removeprefix("http://testserver")
    form_page = client.get(path, follow=True)
    assert form_page.status_code == 200 and "Choose your password" in form_page.content.decode()
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a long new passphrase 42", "new_password2": "a long new passphrase 42"},
    )
    assert done.status_code == 302
    assert User.objects.get(pk=ana.pk).check_password("a long new passphrase 42")
    again = client.get(path, follow=True)
    assert "does not work any more" in again.content.decode()


@pytest.mark.parametrize(
    ("username", "email", "field"),
    [
        ("REQ-A", "new@example.com", "username"),
        ("newbie", "REQ-A@EXAMPLE.COM", "email"),
        ("", "new@example.com", "username"),
        ("newbie", "not an email", "email"),
        ("bad name!", "new@example.com", "username"),
        ("x" * 151, "new@example.com", "username"),
    ],
)
def test_an_invitation_is_refused_naming_the_field(cast, username, email, field):
    with pytest.raises(ValidationError) as refused:
        services.person_invite(actor=cast.admin, username=username, email=email)
    assert field in refused.value.message_dict
    assert not AuditEvent.objects.filter(action="user.invite").exists()


@pytest.mark.parametrize("persona", ["requester_a", "owner", "council", "chair", "finance"])
def test_only_platform_admins_invite_deactivate_or_change_roles(cast, persona):
    actor = getattr(cast, persona)
    with pytest.raises(PermissionDenied):
        services.person_invite(actor=actor, username="newbie", email="n@example.com")
    with pytest.raises(PermissionDenied):
        services.person_deactivate(actor=actor, user=cast.requester_b)
    with pytest.raises(PermissionDenied):
        services.user_roles_set(actor=actor, user=cast.requester_b, roles=[Role.PLATFORM_ADMIN])
    assert not User.objects.filter(username="newbie").exists()
    assert User.objects.get(pk=cast.requester_b.pk).is_active
    assert not AuditEvent.objects.exists()


def test_deactivating_and_reactivating_a_person_is_audited_and_deletes_nothing(cast):
    services.person_deactivate(actor=cast.admin, user=cast.requester_a)

    assert not User.objects.get(pk=cast.requester_a.pk).is_active
    event = AuditEvent.objects.get(action="user.deactivate")
    assert event.before["is_active"] is True and event.after["is_active"] is False

    services.person_reactivate(actor=cast.admin, user=cast.requester_a)

    assert User.objects.get(pk=cast.requester_a.pk).is_active
    assert AuditEvent.objects.filter(action="user.reactivate", object_id=str(cast.requester_a.pk)).exists()


def test_an_admin_cannot_deactivate_themselves(cast):
    other = UserFactory(username="adm2", roles=[Role.PLATFORM_ADMIN])

    with pytest.raises(ValidationError, match="cannot deactivate yourself"):
        services.person_deactivate(actor=other, user=other)
    assert User.objects.get(pk=other.pk).is_active


def test_the_last_platform_admin_can_be_neither_deactivated_nor_stripped_of_the_role(cast):
    # Given two admins: the superuser and Bo; the superuser steps down as superuser
    bo = UserFactory(username="bo", roles=[Role.PLATFORM_ADMIN])
    User.objects.filter(pk=cast.admin.pk).update(is_superuser=False)
    admin = User.objects.get(pk=cast.admin.pk)

    # When Bo takes the role from the other admin, it works: one is left
    services.user_roles_set(actor=bo, user=admin, roles=[Role.FINANCE_ANALYST])

    # Then Bo, the last platform admin, cannot lose the role, nor be deactivated by anyone
    with pytest.raises(ValidationError, match="last active platform admin"):
        services.user_roles_set(actor=bo, user=bo, roles=[Role.FINANCE_ANALYST])
    other = UserFactory(username="stray-admin", roles=[Role.PLATFORM_ADMIN], is_active=False)
    with pytest.raises(ValidationError, match="last active platform admin"):
        services._set_active(actor=other, user=bo, active=False)
    assert Group.objects.get(name=Role.PLATFORM_ADMIN).user_set.filter(pk=bo.pk).exists()
    assert User.objects.get(pk=bo.pk).is_active


def test_setting_the_same_roles_again_writes_no_event(cast):
    services.user_roles_set(actor=cast.admin, user=cast.requester_a, roles=[Role.REQUESTER, Role.REQUESTER])

    assert not AuditEvent.objects.filter(action="user.roles_set").exists()


def test_a_mail_server_that_is_down_does_not_undo_the_invitation(
    cast, settings, django_capture_on_commit_callbacks, caplog
):
    # Given a mail server that refuses connections
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9

    # When the admin invites Ana
    with django_capture_on_commit_callbacks(execute=True):
        ana, link = services.person_invite(actor=cast.admin, username="ana", email="ana@example.com")

    # Then Ana exists, the link stands, and the failure is logged
    assert User.objects.filter(pk=ana.pk).exists() and "/accounts/set-password/" in link
    assert "could not be sent" in caplog.text
