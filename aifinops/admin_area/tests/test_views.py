"""Administration's pages: given a platform admin (or anyone else), when they open or post a page,
then what they see and what is written. Hostile input gets a 4xx naming the field, never a 500."""

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from aifinops.core import permissions
from aifinops.core.models import AuditEvent
from aifinops.core.roles import Role
from aifinops.core.tests.factories import UserFactory
from council.tests.factories import IntakeRequestFactory
from intake.models import IntakeRequest, IntakeStatus, TriageRule
from intake.retriage import result_as_stored
from intake.selectors import triage_rule_settings
from intake.triage import IntakeFacts, triage
from portfolio.models import Membership, Team
from portfolio.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db
User = get_user_model()
PAGES = [
    ("admin_area:index", {}),
    ("admin_area:person_list", {}),
    ("admin_area:person_invite", {}),
    ("admin_area:role_list", {}),
    ("admin_area:team_list", {}),
    ("admin_area:team_detail", {"slug": "support"}),
    ("admin_area:triage_rule_list", {}),
    ("admin_area:triage_rule_edit", {"code": "personal_data"}),
]


@pytest.mark.parametrize(("name", "kwargs"), PAGES)
def test_every_page_opens_for_a_platform_admin_and_is_refused_to_the_others(login, cast, name, kwargs):
    url = reverse(name, kwargs=kwargs)
    assert login(cast.admin).get(url).status_code == 200
    for persona in ("requester_a", "owner", "council", "chair", "finance"):
        response = login(getattr(cast, persona)).get(url)
        assert response.status_code == 403, persona
        assert "Only platform admins open Administration." in response.content.decode()


def test_people_are_searched_and_filtered_by_role_and_status(login, cast):
    UserFactory(username="gone", first_name="Gone", roles=[Role.FINANCE_ANALYST], is_active=False)
    client = login(cast.admin)

    finance = client.get(reverse("admin_area:person_list"), {"role": "finance_analyst"}).content.decode()
    inactive = client.get(reverse("admin_area:person_list"), {"status": "inactive"}).content.decode()
    searched = client.get(reverse("admin_area:person_list"), {"q": "REQ-"}).content.decode()

    assert "fin</div>" in finance and "gone</div>" in finance and "req-a</div>" not in finance
    assert "gone</div>" in inactive and "fin</div>" not in inactive
    assert "req-a</div>" in searched and "req-b</div>" in searched and "fin</div>" not in searched


def test_the_people_list_asks_a_constant_number_of_queries(login, cast, django_assert_max_num_queries):
    client = login(cast.admin)
    client.get(reverse("admin_area:person_list"))
    for n in range(15):
        user = UserFactory(username=f"many{n}", roles=[Role.REQUESTER, Role.USE_CASE_OWNER])
        MembershipFactory(user=user, team=cast.team_a)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("admin_area:person_list"))
    assert response.content.decode().count("many") >= 15


def test_an_admin_invites_a_person_with_a_role_and_sees_the_link(
    login, cast, django_capture_on_commit_callbacks
):
    client = login(cast.admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin_area:person_invite"),
            {
                "username": "ana",
                "email": "ana@example.com",
                "first_name": "Ana",
                "roles": ["finance_analyst"],
            },
        )

    assert response.status_code == 200
    page = response.content.decode()
    assert "Ana" in page and "/accounts/set-password/" in page
    ana = User.objects.get(username="ana")
    assert permissions.roles_of(ana) == {Role.FINANCE_ANALYST}
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("username", "ana\x00", "Null characters are not allowed."),
        ("first_name", "A\x00na", "Null characters are not allowed."),
        ("username", "x" * 5000, "at most 150 characters"),
        ("email", "a" * 300 + "@example.com", "at most 254 characters"),
        ("username", "REQ-A", "already has the username"),
        ("email", "Req-A@Example.COM", "already has the email"),
        ("roles", "superhero", "Select a valid choice"),
    ],
)
def test_a_hostile_invitation_is_a_400_naming_the_field(login, cast, field, value, message):
    data = {"username": "ana", "email": "ana@example.com", field: value}

    response = login(cast.admin).post(reverse("admin_area:person_invite"), data)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not User.objects.filter(username="ana").exists()


def test_an_encoded_surrogate_in_a_name_is_stored_as_a_replacement_character(login, cast):
    body = "username=ana&email=ana%40example.com&first_name=A%ED%A0%80na"

    response = login(cast.admin).post(
        reverse("admin_area:person_invite"), body, content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 200
    assert User.objects.get(username="ana").first_name.startswith("A\ufffd")


def test_repeated_roles_count_once_and_roles_change_with_an_audit_event(login, cast):
    client = login(cast.admin)
    url = reverse("admin_area:person_roles", args=[cast.requester_b.pk])

    response = client.post(url, {"roles": ["requester", "requester", "council_member"]})

    assert response.status_code == 302
    assert permissions.roles_of(User.objects.get(pk=cast.requester_b.pk)) == {"requester", "council_member"}
    event = AuditEvent.objects.get(action="user.roles_set")
    assert event.after == {"roles": ["council_member", "requester"]}


def test_the_last_admin_is_told_why_they_cannot_drop_their_role(login, cast):
    User.objects.filter(pk=cast.admin.pk).update(is_superuser=False)
    client = login(User.objects.get(pk=cast.admin.pk))

    response = client.post(reverse("admin_area:person_roles", args=[cast.admin.pk]), {"roles": ["requester"]})

    assert response.status_code == 400
    assert "last active platform admin" in response.content.decode()
    assert User.objects.get(pk=cast.admin.pk).groups.filter(name=Role.PLATFORM_ADMIN).exists()


def test_an_admin_deactivates_and_reactivates_someone_but_not_themselves(login, cast):
    client = login(cast.admin)

    assert client.post(reverse("admin_area:person_deactivate", args=[cast.requester_b.pk])).status_code == 302
    assert not User.objects.get(pk=cast.requester_b.pk).is_active
    assert client.post(reverse("admin_area:person_reactivate", args=[cast.requester_b.pk])).status_code == 302
    assert User.objects.get(pk=cast.requester_b.pk).is_active

    refused = client.post(reverse("admin_area:person_deactivate", args=[cast.admin.pk]))
    assert refused.status_code == 400
    assert "You cannot deactivate yourself" in refused.content.decode()
    assert User.objects.get(pk=cast.admin.pk).is_active


@pytest.mark.parametrize("pk", [0, 99999999, 2**63])
def test_a_person_who_does_not_exist_is_a_404(login, cast, pk):
    assert login(cast.admin).get(f"/administration/people/{pk}/").status_code == 404


def test_an_admin_creates_a_team_renames_it_and_manages_its_members(login, cast):
    client = login(cast.admin)

    created = client.post(
        reverse("admin_area:team_list"),
        {"name": "Data Platform", "business_function": "data", "cost_center": "CC-9"},
    )
    assert created.status_code == 302
    team = Team.objects.get(name="Data Platform")

    url = reverse("admin_area:team_detail", args=[team.slug])
    assert (
        client.post(url, {"name": "Data", "business_function": "data", "cost_center": "CC-9"}).status_code
        == 302
    )
    team.refresh_from_db()
    assert (team.name, team.slug) == ("Data", "data-platform")

    added = client.post(
        reverse("admin_area:member_add", args=[team.slug]), {"username": "REQ-B", "role": "lead"}
    )
    assert added.status_code == 302
    membership = Membership.objects.get(team=team, user=cast.requester_b)
    assert membership.role == "lead"
    client.post(reverse("admin_area:member_role", args=[team.slug, membership.pk]), {"role": "member"})
    membership.refresh_from_db()
    assert membership.role == "member"
    client.post(reverse("admin_area:member_remove", args=[team.slug, membership.pk]))
    assert not Membership.objects.filter(pk=membership.pk).exists()

    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        "team.create",
        "team.update",
        "membership.add",
        "membership.change_role",
        "membership.remove",
    } <= actions


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "SUPPORT"}, "already a team called"),
        ({"name": "!!!"}, "letters or digits"),
        ({"name": "N\x00"}, "Null characters are not allowed."),
        ({"name": "x" * 101}, "at most 100 characters"),
        ({"business_function": "astrology"}, "Select a valid choice"),
    ],
)
def test_a_hostile_team_is_a_400_naming_the_field(login, cast, data, message):
    body = {"name": "New team", "business_function": "data", "cost_center": "CC-1", **data}

    response = login(cast.admin).post(reverse("admin_area:team_list"), body)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert Team.objects.count() == 2


def test_a_membership_of_another_team_is_a_404_and_a_duplicate_member_is_named(login, cast):
    client = login(cast.admin)
    theirs = Membership.objects.get(team=cast.team_b, user=cast.requester_b)

    wrong_team = client.post(reverse("admin_area:member_remove", args=["support", theirs.pk]))
    duplicate = client.post(
        reverse("admin_area:member_add", args=["support"]), {"username": "req-a", "role": "member"}
    )
    nobody = client.post(
        reverse("admin_area:member_add", args=["support"]), {"username": "ghost", "role": "member"}
    )
    bad_role = client.post(
        reverse("admin_area:member_add", args=["support"]), {"username": "fin", "role": "boss"}
    )

    assert wrong_team.status_code == 404
    assert Membership.objects.filter(pk=theirs.pk).exists()
    assert duplicate.status_code == 400 and "already in Support" in duplicate.content.decode()
    assert nobody.status_code == 400 and "Nobody active has the username" in nobody.content.decode()
    assert bad_role.status_code == 400 and "Select a valid choice" in bad_role.content.decode()


def _open_intake(cast, **facts):
    intake = IntakeRequestFactory(
        requester=cast.requester_a,
        team=cast.team_a,
        use_case=None,
        status=IntakeStatus.TRIAGED,
        decided_at=None,
        **facts,
    )
    stored = result_as_stored(triage(IntakeFacts.of(intake), triage_rule_settings()))
    IntakeRequest.objects.filter(pk=intake.pk).update(**stored)
    return intake


def test_a_triage_rule_is_previewed_then_saved_and_the_preview_names_what_changes(login, cast):
    # Given an open intake with personal data, and one without
    affected = _open_intake(cast, personal_data=True, name="Zeta personal")
    _open_intake(cast, name="Zeta plain")
    client = login(cast.admin)
    url = reverse("admin_area:triage_rule_edit", args=["personal_data"])

    # When the admin previews personal data as high risk
    preview = client.post(url, {"enabled": "on", "tier": "high", "action": "preview"})

    # Then the preview lists only the affected intake, from Medium to High, and nothing is saved
    page = preview.content.decode()
    assert preview.status_code == 200
    assert "1 of 2 open intakes would change" in page
    assert "Zeta personal" in page and "Zeta plain" not in page
    assert TriageRule.objects.get(code="personal_data").tier == "medium"

    # When they save with the preview's fingerprint
    fingerprint = preview.context["form"]["fingerprint"].value()
    saved = client.post(url, {"enabled": "on", "tier": "high", "action": "save", "fingerprint": fingerprint})

    # Then the rule and the intake changed
    assert saved.status_code == 302
    assert TriageRule.objects.get(code="personal_data").tier == "high"
    affected.refresh_from_db()
    assert affected.risk_tier == "high"


def test_save_without_a_preview_only_previews(login, cast):
    client = login(cast.admin)
    url = reverse("admin_area:triage_rule_edit", args=["personal_data"])

    response = client.post(url, {"enabled": "on", "tier": "high", "action": "save"})

    assert response.status_code == 200 and "Preview:" in response.content.decode()
    assert TriageRule.objects.get(code="personal_data").tier == "medium"


def test_a_stale_preview_is_not_saved_and_the_new_preview_is_shown(login, cast):
    client = login(cast.admin)
    url = reverse("admin_area:triage_rule_edit", args=["personal_data"])
    preview = client.post(url, {"enabled": "on", "tier": "high", "action": "preview"})
    _open_intake(cast, personal_data=True, name="Zeta late")

    saved = client.post(
        url,
        {
            "enabled": "on",
            "tier": "high",
            "action": "save",
            "fingerprint": preview.context["form"]["fingerprint"].value(),
        },
    )

    assert saved.status_code == 409
    assert "Zeta late" in saved.content.decode() and "changed since your preview" in saved.content.decode()
    assert TriageRule.objects.get(code="personal_data").tier == "medium"


@pytest.mark.parametrize(
    ("code", "data", "message"),
    [
        ("personal_data", {"tier": "apocalyptic"}, "Select a valid choice"),
        ("cost_above_threshold", {"tier": "medium", "threshold": "-5"}, "greater than or equal to 0"),
        ("cost_above_threshold", {"tier": "medium", "threshold": ""}, "This field is required"),
        ("cost_above_threshold", {"tier": "medium", "threshold": "1e400"}, "no more than 18 digits"),
        ("cost_above_threshold", {"tier": "medium", "threshold": "5\x00"}, "Enter a number"),
        ("personal_data", {"tier": "high", "fingerprint": "f" * 65}, "at most 64 characters"),
    ],
)
def test_a_hostile_rule_edit_is_a_400_naming_the_field(login, cast, code, data, message):
    response = login(cast.admin).post(
        reverse("admin_area:triage_rule_edit", args=[code]), {"action": "save", **data}
    )

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not AuditEvent.objects.exists()


def test_an_unknown_triage_rule_is_a_404(login, cast):
    assert login(cast.admin).get("/administration/triage-rules/no-such-rule/").status_code == 404


def test_the_preview_roles_and_team_pages_ask_a_constant_number_of_queries(
    login, cast, django_assert_max_num_queries
):
    client = login(cast.admin)
    preview_url = reverse("admin_area:triage_rule_edit", args=["personal_data"])
    pages = [
        ("post", preview_url, {"enabled": "on", "tier": "high", "action": "preview"}),
        ("get", reverse("admin_area:role_list"), None),
        ("get", reverse("admin_area:team_detail", args=["support"]), None),
    ]
    for n in range(12):
        user = UserFactory(username=f"many{n}", roles=[Role.COUNCIL_MEMBER])
        MembershipFactory(user=user, team=cast.team_a)
        _open_intake(cast, personal_data=True, name=f"Many {n}")
    for method, url, data in pages:
        with django_assert_max_num_queries(20):
            response = getattr(client, method)(url, data) if data else getattr(client, method)(url)
        assert response.status_code == 200
    assert "12 of 12 open intakes would change" in client.post(preview_url, pages[0][2]).content.decode()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"q": "ana\x00"}, "Search: Null characters are not allowed."),
        ({"q": "a" * 5000}, "Search: Ensure this value has at most 100 characters"),
        ({"role": "emperor"}, "Role: Select a valid choice."),
        ({"status": "undead"}, "Status: Select a valid choice."),
    ],
)
def test_a_hostile_people_filter_is_a_400_naming_the_field(login, cast, query, message):
    response = login(cast.admin).get(reverse("admin_area:person_list"), query)

    assert response.status_code == 400
    assert message in response.content.decode()
