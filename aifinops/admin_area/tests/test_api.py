"""Administration's API: the pages' services and refusals for people, roles, teams, members and the
triage rules; platform admins only; the attacker's inputs answered 400 naming the field."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from aifinops.core.models import AuditEvent
from aifinops.core.roles import Role
from aifinops.core.services import api_token_create
from aifinops.core.tests.factories import UserFactory
from intake.models import TriageRule
from intake.retriage import triage_rules_preview
from intake.triage import RuleSetting
from portfolio.models import Membership, Team

from .test_views import _open_intake

pytestmark = pytest.mark.django_db

API = "/api/v1/admin"
PERSONAS = ("requester_a", "requester_b", "owner", "council", "chair", "finance")


@pytest.fixture
def api(client):
    def as_user(user):
        client.defaults["HTTP_AUTHORIZATION"] = f"Token {api_token_create(user=user, name='tests')[1]}"
        return client

    return as_user


def _written():
    """Audit events of writes, not of the tokens the tests log in with."""
    return AuditEvent.objects.exclude(action__startswith="api_token.")


def _post(client, url, body=None):
    return client.post(url, json.dumps(body or {}), content_type="application/json")


def _patch(client, url, body):
    return client.patch(url, json.dumps(body), content_type="application/json")


def _urls(cast):
    membership = Membership.objects.get(team=cast.team_a, user=cast.requester_a)
    return [
        f"{API}/people/",
        f"{API}/people/{cast.requester_b.pk}/",
        f"{API}/roles/",
        f"{API}/teams/",
        f"{API}/teams/{cast.team_a.slug}/",
        f"{API}/teams/{cast.team_a.slug}/members/",
        f"{API}/teams/{cast.team_a.slug}/members/{membership.pk}/",
        f"{API}/triage-rules/",
    ]


@pytest.mark.parametrize("persona", PERSONAS)
def test_everyone_but_platform_admins_is_refused_and_nothing_is_written(cast, api, persona):
    client = api(getattr(cast, persona))

    for url in _urls(cast):
        assert client.get(url).status_code == 403, url
    writes = [
        (f"{API}/people/", {"username": "zeta", "email": "zeta@example.com"}),
        (f"{API}/people/{cast.requester_b.pk}/roles/", {"roles": ["platform_admin"]}),
        (f"{API}/people/{cast.requester_b.pk}/deactivate/", {}),
        (f"{API}/teams/", {"name": "Zeta", "business_function": "engineering", "cost_center": "CC-1"}),
        (f"{API}/teams/{cast.team_a.slug}/members/", {"username": cast.requester_b.username}),
        (f"{API}/triage-rules/personal_data/apply/", {"tier": "high", "fingerprint": "x"}),
    ]
    for url, body in writes:
        assert _post(client, url, body).status_code == 403, url
    assert not _written().exists()


def test_anonymous_callers_get_401(client, cast):
    for url in _urls(cast):
        assert client.get(url).status_code == 401, url


def test_an_admin_lists_people_filtered_as_on_the_page(cast, api, login):
    client = api(cast.admin)

    everyone = client.get(f"{API}/people/").json()
    finance = client.get(f"{API}/people/", {"role": Role.FINANCE_ANALYST}).json()

    page = login(cast.admin).get("/administration/people/", {"role": Role.FINANCE_ANALYST})
    assert [r["username"] for r in finance["results"]] == [r["person"].username for r in page.context["rows"]]
    assert cast.finance.username in [r["username"] for r in finance["results"]]
    assert everyone["count"] == get_user_model().objects.count()
    row = next(r for r in everyone["results"] if r["username"] == cast.requester_a.username)
    assert {"team": cast.team_a.slug, "role": "member"} in row["teams"]


@pytest.mark.parametrize(
    "query", [{"role": "emperor"}, {"status": "asleep"}, {"q": "x" * 500}, {"q": "a\x00"}]
)
def test_a_hostile_people_filter_is_a_400_naming_the_field(cast, api, query):
    response = api(cast.admin).get(f"{API}/people/", query)

    assert response.status_code == 400
    assert set(query) & set(response.json()["error"]["fields"])


def test_an_admin_invites_a_person_and_gets_the_one_time_link(cast, api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(
            api(cast.admin),
            f"{API}/people/",
            {"username": "zeta", "email": "zeta@example.com", "roles": [Role.FINANCE_ANALYST] * 2},
        )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["person"]["roles"] == [Role.FINANCE_ANALYST]
    assert body["set_password_link"].startswith("http")
    assert AuditEvent.objects.filter(action="user.invite", actor=cast.admin).count() == 1
    assert len(mail.outbox) == 1 and body["set_password_link"] in mail.outbox[0].body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "zeta\x00", "email": "z@example.com"}, "username"),
        ({"username": "\ud800", "email": "z@example.com"}, "username"),
        ({"username": "z" * 5000, "email": "z@example.com"}, "username"),
        ({"username": "zeta", "email": "not-an-email"}, "email"),
        ({"username": "zeta", "email": "z@example.com", "roles": ["emperor"]}, "roles"),
        ({"username": "zeta", "email": "z@example.com", "roles": {"a": 1}}, "roles"),
        ({"username": ["a", "b"], "email": "z@example.com"}, "username"),
        ({"email": "z@example.com"}, "username"),
    ],
)
def test_a_hostile_invitation_is_a_400_naming_the_field(cast, api, body, field):
    raw = json.dumps(body).replace("\\u0000", "\\u0000")
    response = api(cast.admin).post(f"{API}/people/", raw, content_type="application/json")

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"], response.json()
    assert not _written().exists()


def test_a_username_taken_is_named(cast, api):
    response = _post(
        api(cast.admin), f"{API}/people/", {"username": cast.finance.username, "email": "n@x.io"}
    )

    assert response.status_code == 400
    assert "already has the username" in response.json()["error"]["fields"]["username"][0]


def test_roles_change_audited_and_the_last_admin_keeps_theirs(cast, api):
    get_user_model().objects.filter(pk=cast.admin.pk).update(is_superuser=False)
    client = api(get_user_model().objects.get(pk=cast.admin.pk))

    given = _post(client, f"{API}/people/{cast.requester_b.pk}/roles/", {"roles": [Role.COUNCIL_MEMBER]})
    assert given.status_code == 200 and Role.COUNCIL_MEMBER in given.json()["roles"]
    assert AuditEvent.objects.filter(action="user.roles_set").count() == 1

    refused = _post(client, f"{API}/people/{cast.admin.pk}/roles/", {"roles": []})
    assert refused.status_code == 400
    assert "last active platform admin" in refused.json()["error"]["fields"]["roles"][0]
    assert AuditEvent.objects.filter(action="user.roles_set").count() == 1


def test_an_admin_deactivates_and_reactivates_someone_but_not_themselves(cast, api):
    client = api(cast.admin)

    off = _post(client, f"{API}/people/{cast.requester_b.pk}/deactivate/")
    on = _post(client, f"{API}/people/{cast.requester_b.pk}/reactivate/")
    self_off = _post(client, f"{API}/people/{cast.admin.pk}/deactivate/")

    assert off.status_code == 200 and off.json()["is_active"] is False
    assert on.status_code == 200 and on.json()["is_active"] is True
    assert self_off.status_code == 400
    assert "cannot deactivate yourself" in self_off.json()["error"]["fields"]["is_active"][0]
    assert [e.action for e in _written().order_by("pk")] == ["user.deactivate", "user.reactivate"]


def test_the_last_platform_admin_cannot_be_deactivated_by_a_superuser(cast, api):
    root = UserFactory(username="root", is_superuser=True, roles=[])
    get_user_model().objects.filter(pk=root.pk).update(is_active=True)
    response = _post(api(root), f"{API}/people/{cast.admin.pk}/deactivate/")
    # root is a superuser, so an active platform admin remains: allowed
    assert response.status_code == 200


@pytest.mark.parametrize("pk", [0, 999_999_999, 99999999999999999999])
def test_a_person_who_does_not_exist_is_a_404(cast, api, pk):
    assert api(cast.admin).get(f"{API}/people/{pk}/").status_code == 404


def test_roles_list_their_holders(cast, api):
    roles = {r["value"]: r for r in api(cast.admin).get(f"{API}/roles/").json()}

    assert cast.finance.username in roles[Role.FINANCE_ANALYST]["holders"]
    assert cast.admin.username in roles[Role.PLATFORM_ADMIN]["holders"]


def test_an_admin_creates_a_team_renames_it_and_manages_its_members(cast, api):
    client = api(cast.admin)

    created = _post(
        client,
        f"{API}/teams/",
        {"name": "Zeta Ops", "business_function": "data", "cost_center": "CC-9"},
    )
    assert created.status_code == 201, created.json()
    slug = created.json()["slug"]
    renamed = _patch(client, f"{API}/teams/{slug}/", {"name": "Zeta Operations"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Zeta Operations"
    assert renamed.json()["slug"] == slug and Team.objects.get(slug=slug).cost_center == "CC-9"

    added = _post(client, f"{API}/teams/{slug}/members/", {"username": cast.requester_b.username})
    assert added.status_code == 201
    again = _post(client, f"{API}/teams/{slug}/members/", {"username": cast.requester_b.username})
    assert again.status_code == 400 and "already in" in again.json()["error"]["fields"]["username"][0]
    member = f"{API}/teams/{slug}/members/{added.json()['id']}/"
    lead = _patch(client, member, {"role": "lead"})
    assert lead.status_code == 200 and lead.json()["role"] == "lead"
    assert client.delete(member).status_code == 204
    assert not Membership.objects.filter(team__slug=slug).exists()
    assert [e.action for e in _written().order_by("pk")] == [
        "team.create",
        "team.update",
        "membership.add",
        "membership.change_role",
        "membership.remove",
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "", "business_function": "data", "cost_center": "CC-9"}, "name"),
        ({"name": "x" * 5000, "business_function": "data", "cost_center": "CC-9"}, "name"),
        ({"name": "Support", "business_function": "data", "cost_center": "CC-9"}, "name"),
        ({"name": "!!!", "business_function": "data", "cost_center": "CC-9"}, "name"),
        ({"name": "Zeta", "business_function": "sorcery", "cost_center": "CC-9"}, "business_function"),
        ({"name": "Zeta", "business_function": "data", "cost_center": {"a": [1]}}, "cost_center"),
    ],
)
def test_a_hostile_team_is_a_400_naming_the_field(cast, api, body, field):
    cast.team_a.name = "Support"
    cast.team_a.save()
    response = _post(api(cast.admin), f"{API}/teams/", body)

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"], response.json()
    assert not _written().exists()


def test_a_membership_of_another_team_is_a_404_and_bad_members_are_named(cast, api):
    client = api(cast.admin)
    theirs = Membership.objects.get(team=cast.team_b, user=cast.requester_b)

    wrong_team = client.delete(f"{API}/teams/{cast.team_a.slug}/members/{theirs.pk}/")
    nobody = _post(client, f"{API}/teams/{cast.team_a.slug}/members/", {"username": "nobody\x00"})
    ghost = _post(client, f"{API}/teams/{cast.team_a.slug}/members/", {"username": "ghost"})
    bad_role = _patch(
        client,
        f"{API}/teams/{cast.team_a.slug}/members/{Membership.objects.get(user=cast.requester_a).pk}/",
        {"role": "emperor"},
    )

    assert wrong_team.status_code == 404 and Membership.objects.filter(pk=theirs.pk).exists()
    assert nobody.status_code == 400 and "username" in nobody.json()["error"]["fields"]
    assert ghost.status_code == 400 and "Nobody active" in ghost.json()["error"]["fields"]["username"][0]
    assert bad_role.status_code == 400 and "role" in bad_role.json()["error"]["fields"]


def test_a_triage_rule_is_previewed_then_applied_as_the_page_plans_it(cast, api):
    # Given an open intake with personal data, and one without
    affected = _open_intake(cast, personal_data=True, name="Zeta personal")
    _open_intake(cast, name="Zeta plain")
    client = api(cast.admin)
    url = f"{API}/triage-rules/personal_data"

    # When the admin previews personal data as high risk
    preview = _post(client, f"{url}/preview/", {"enabled": True, "tier": "high"})

    # Then the preview is the page's plan: only the affected intake, medium to high; nothing saved
    assert preview.status_code == 200, preview.json()
    body = preview.json()
    changes, fingerprint = triage_rules_preview(
        edits={"personal_data": RuleSetting(tier="high", threshold=None, enabled=True)}
    )
    assert body["fingerprint"] == fingerprint
    assert [c["intake"] for c in body["changes"]] == [c.intake.pk for c in changes] == [affected.pk]
    assert body["changes"][0]["risk_tier"] == {"before": "medium", "after": "high"}
    assert body["open_intakes"] == 2 and body["unchanged"] is False
    assert TriageRule.objects.get(code="personal_data").tier == "medium"

    # When they apply it with the preview's fingerprint
    applied = _post(client, f"{url}/apply/", {"enabled": True, "tier": "high", "fingerprint": fingerprint})

    # Then the rule and the intake changed, audited
    assert applied.status_code == 200, applied.json()
    assert [c["intake"] for c in applied.json()["retriaged"]] == [affected.pk]
    assert TriageRule.objects.get(code="personal_data").tier == "high"
    affected.refresh_from_db()
    assert affected.risk_tier == "high"
    assert AuditEvent.objects.filter(action="intake.retriage", actor=cast.admin).count() == 1


def test_a_stale_preview_is_refused_409_and_nothing_is_saved(cast, api):
    client = api(cast.admin)
    url = f"{API}/triage-rules/personal_data"
    fingerprint = _post(client, f"{url}/preview/", {"enabled": True, "tier": "high"}).json()["fingerprint"]
    _open_intake(cast, personal_data=True, name="Zeta late")

    response = _post(client, f"{url}/apply/", {"enabled": True, "tier": "high", "fingerprint": fingerprint})

    assert response.status_code == 409
    assert "changed since your preview" in response.json()["error"]["message"]
    assert TriageRule.objects.get(code="personal_data").tier == "medium"
    assert not _written().exists()


@pytest.mark.parametrize(
    ("code", "body", "field"),
    [
        ("personal_data", {"tier": "apocalyptic"}, "tier"),
        ("cost_above_threshold", {"tier": "medium", "threshold": "-5"}, "threshold"),
        ("cost_above_threshold", {"tier": "medium", "threshold": -5}, "threshold"),
        ("cost_above_threshold", {"tier": "medium"}, "threshold"),
        ("cost_above_threshold", {"tier": "medium", "threshold": "1e400"}, "threshold"),
        ("cost_above_threshold", {"tier": "medium", "threshold": 10**40}, "threshold"),
        ("personal_data", {"tier": "high", "fingerprint": "f" * 65}, "fingerprint"),
        ("personal_data", {"tier": "high"}, "fingerprint"),
        ("personal_data", {"tier": ["high", "low"]}, "tier"),
    ],
)
def test_a_hostile_rule_edit_is_a_400_naming_the_field(cast, api, code, body, field):
    response = _post(api(cast.admin), f"{API}/triage-rules/{code}/apply/", body)

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"], response.json()
    assert not _written().exists()


def test_an_unknown_triage_rule_is_a_404(cast, api):
    assert (
        _post(api(cast.admin), f"{API}/triage-rules/no-such-rule/preview/", {"tier": "high"}).status_code
        == 404
    )


def test_deep_json_is_refused(cast, api):
    response = api(cast.admin).post(f"{API}/teams/", "[" * 5000 + "]" * 5000, content_type="application/json")

    assert response.status_code == 400


def test_the_people_list_asks_a_constant_number_of_queries(cast, api, django_assert_max_num_queries):
    client = api(cast.admin)
    client.get(f"{API}/people/")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(f"{API}/people/")
    UserFactory.create_batch(10, roles=[Role.REQUESTER])

    with django_assert_max_num_queries(len(few)):
        client.get(f"{API}/people/")


def test_an_edit_that_does_not_mention_enabled_leaves_the_rule_on(cast, api):
    client = api(cast.admin)
    url = f"{API}/triage-rules/personal_data"
    preview = _post(client, f"{url}/preview/", {"tier": "high"}).json()

    applied = _post(client, f"{url}/apply/", {"tier": "high", "fingerprint": preview["fingerprint"]})

    assert preview["rule"]["enabled"] is True
    assert applied.status_code == 200
    assert TriageRule.objects.get(code="personal_data").enabled is True


def test_a_rule_is_switched_off_with_enabled_false(cast, api):
    client = api(cast.admin)
    url = f"{API}/triage-rules/personal_data"
    body = {"tier": "medium", "enabled": False}
    body["fingerprint"] = _post(client, f"{url}/preview/", body).json()["fingerprint"]

    assert _post(client, f"{url}/apply/", body).status_code == 200
    assert TriageRule.objects.get(code="personal_data").enabled is False
    assert _written().filter(action__startswith="triage_rule").count() == 1
