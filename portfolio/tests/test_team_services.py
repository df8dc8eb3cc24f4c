"""Teams and memberships changed through the services: audited, platform admins only."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from aifinops.core import permissions
from aifinops.core.models import AuditEvent
from portfolio.models import Membership
from portfolio.services.registry import membership_remove, membership_set_role, team_create, team_update

pytestmark = pytest.mark.django_db


def test_a_renamed_team_keeps_its_slug_and_the_event_says_what_changed(cast):
    team_update(
        actor=cast.admin,
        team=cast.team_a,
        name="Customer care",
        business_function="customer_support",
        cost_center="CC-1",
    )

    cast.team_a.refresh_from_db()
    assert (cast.team_a.name, cast.team_a.slug) == ("Customer care", "support")
    event = AuditEvent.objects.get(action="team.update")
    assert event.before["name"] == "Support" and event.after["name"] == "Customer care"


def test_a_team_name_is_unique_ignoring_case(cast):
    with pytest.raises(ValidationError, match="already a team called"):
        team_create(actor=cast.admin, name="marketing", business_function="marketing", cost_center="CC-2")
    with pytest.raises(ValidationError, match="already a team called"):
        team_update(
            actor=cast.admin,
            team=cast.team_a,
            name="MARKETING",
            business_function="sales",
            cost_center="CC-2",
        )


def test_a_lead_is_made_and_a_member_removed_and_both_are_audited(cast):
    membership = Membership.objects.get(team=cast.team_a, user=cast.requester_a)
    assert cast.team_a.pk in permissions.team_ids_of(cast.requester_a)

    membership_set_role(actor=cast.admin, membership=membership, role="lead")
    membership_remove(actor=cast.admin, membership=membership)

    assert not Membership.objects.filter(pk=membership.pk).exists()
    # (each request reads its user afresh)
    assert cast.team_a.pk not in permissions.team_ids_of(
        type(cast.requester_a).objects.get(pk=cast.requester_a.pk)
    )
    assert list(AuditEvent.objects.order_by("id").values_list("action", flat=True)) == [
        "membership.change_role",
        "membership.remove",
    ]


@pytest.mark.parametrize("persona", ["requester_a", "owner", "council", "chair", "finance"])
def test_only_platform_admins_rename_teams_or_change_members(cast, persona):
    actor = getattr(cast, persona)
    membership = Membership.objects.get(team=cast.team_a, user=cast.requester_a)
    with pytest.raises(PermissionDenied):
        team_update(actor=actor, team=cast.team_a, name="Mine", business_function="sales", cost_center="CC-1")
    with pytest.raises(PermissionDenied):
        membership_set_role(actor=actor, membership=membership, role="lead")
    with pytest.raises(PermissionDenied):
        membership_remove(actor=actor, membership=membership)
    assert Membership.objects.filter(pk=membership.pk, role="member").exists()
    assert not AuditEvent.objects.exists()
