"""Who may see and do what with an intake, on the pages and the API alike.

Each action has one table of expected answers for the whole cast: team A's requester, team B's
requester, a use-case owner in team A, a council member, the council chair, a finance analyst and a
platform admin, plus an anonymous visitor.
"""

import pytest
from django.urls import reverse

from aifinops.core.models import AuditEvent
from intake import services
from intake.forms import DRAFT, SUBMIT, IntakeForm
from intake.models import IntakeRequest, IntakeStatus
from portfolio.models import UseCase

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/?next="


def _save(user, data, mode=DRAFT):
    form = IntakeForm(data, user=user, mode=mode)
    assert form.is_valid(), form.errors
    return services.intake_save(actor=user, values=form.cleaned_data)


def _audit_trail(intake):
    events = AuditEvent.objects.for_object(intake).order_by("created_at", "id")
    return [(e.action, e.actor_label) for e in events]


def _api(intake, action=""):
    return f"/api/v1/intakes/{intake.pk}/{action + '/' if action else ''}"


@pytest.fixture
def as_(client, cast, login):
    """as_(who) -> a client for that member of the cast, or an anonymous one."""

    def _as(who):
        return client if who == "anonymous" else login(getattr(cast, who))

    return _as


@pytest.fixture
def draft(cast, intake_data):
    """A draft of team A, filed by requester_a."""
    return _save(cast.requester_a, {**intake_data, "name": "FAQ drafter"})


@pytest.fixture
def triaged(cast, intake_data):
    """An intake of team A that triage sent to review (customer-facing)."""
    intake = _save(
        cast.requester_a,
        {**intake_data, "name": "Customer reply assistant", "customer_impact": "customer_facing"},
        mode=SUBMIT,
    )
    intake = services.intake_submit(actor=cast.requester_a, intake=intake)
    assert intake.status == IntakeStatus.TRIAGED
    assert intake.review_required
    return intake


# List page: who: (the tab ?scope=all lands on, whether team A's intake is listed there)
LIST_ALL = {
    "requester_a": ("mine", True),
    "requester_b": ("mine", False),
    "owner": ("mine", True),  # named business owner of the intake: "mine" means requested or owned
    "council": ("all", True),
    "chair": ("all", True),
    "finance": ("all", True),
    "admin": ("all", True),
}


@pytest.mark.parametrize(("who", "expected"), LIST_ALL.items())
def test_all_intakes_tab_is_only_for_cross_team_roles(as_, triaged, who, expected):
    scope, listed = expected

    response = as_(who).get(reverse("intake:index"), {"scope": "all"})

    assert response.status_code == 200
    assert response.context["scope"] == scope
    assert (b"All intakes" in response.content) is (scope == "all")
    assert (b"Customer reply assistant" in response.content) is listed


def test_team_tab_lists_the_teams_intakes_for_a_member_who_neither_filed_nor_owns_them(as_, cast, triaged):
    triaged.business_owner = cast.requester_a
    triaged.save()
    client = as_("owner")

    mine = client.get(reverse("intake:index"), {"scope": "mine"})
    team = client.get(reverse("intake:index"), {"scope": "team"})

    assert b"Customer reply assistant" not in mine.content
    assert b"Customer reply assistant" in team.content


def test_mine_tab_lists_intakes_the_user_owns_but_did_not_file(as_, triaged):
    mine = as_("owner").get(reverse("intake:index"), {"scope": "mine"})

    assert b"Customer reply assistant" in mine.content


def test_an_unknown_scope_falls_back_to_mine(as_, triaged):
    response = as_("requester_a").get(reverse("intake:index"), {"scope": "everything"})

    assert response.context["scope"] == "mine"
    assert b"Customer reply assistant" in response.content


@pytest.mark.parametrize("scope", ["mine", "team", "all"])
def test_team_a_intake_never_appears_in_requester_b_lists(as_, triaged, draft, scope):
    response = as_("requester_b").get(reverse("intake:index"), {"scope": scope, "team": "support"})

    assert response.status_code == 200
    assert b"Customer reply assistant" not in response.content
    assert b"FAQ drafter" not in response.content


def test_the_team_filter_offers_and_accepts_only_the_teams_one_may_see(as_, triaged):
    page = as_("requester_b").get(reverse("intake:index"))
    foreign = as_("requester_b").get("/api/v1/intakes/", {"team": "support"})
    unknown = as_("requester_b").get("/api/v1/intakes/", {"team": "no-such-team"})
    everyone = as_("finance").get(reverse("intake:index"))

    assert [t.slug for t in page.context["filter"].form.fields["team"].queryset] == ["marketing"]
    assert ">Support<" not in page.text
    # Another team's slug is refused exactly as one that does not exist.
    assert (foreign.status_code, foreign.json()) == (unknown.status_code, unknown.json())
    assert foreign.status_code == 400
    assert [t.slug for t in everyone.context["filter"].form.fields["team"].queryset] == [
        "marketing",
        "support",
    ]


# API list: who: whether team A's intakes are listed
API_LIST = {
    "requester_a": True,
    "requester_b": False,
    "owner": True,
    "council": True,
    "chair": True,
    "finance": True,
    "admin": True,
}


@pytest.mark.parametrize(("who", "listed"), API_LIST.items())
def test_api_list_shows_team_a_intakes_only_to_those_who_may_see_them(as_, triaged, draft, who, listed):
    response = as_(who).get("/api/v1/intakes/")

    assert response.status_code == 200
    names = {row["name"] for row in response.json()["results"]}
    assert names == ({"Customer reply assistant", "FAQ drafter"} if listed else set())


def test_a_named_owner_in_another_team_sees_the_intake_they_own(as_, cast, intake_data):
    _save(cast.requester_a, {**intake_data, "name": "Shared drafter", "technical_owner": "req-b"})
    client = as_("requester_b")

    api = client.get("/api/v1/intakes/")
    detail = client.get(reverse("intake:detail", args=[api.json()["results"][0]["id"]]))

    assert [row["name"] for row in api.json()["results"]] == ["Shared drafter"]
    assert detail.status_code == 200


# Detail: who: (page status, API status, the page offers the accept/reject decision)
DETAIL = {
    "anonymous": (302, 401, False),
    "requester_a": (200, 200, False),
    "requester_b": (404, 404, False),
    "owner": (200, 200, False),
    "council": (200, 200, False),
    "chair": (200, 200, True),
    "finance": (200, 200, False),
    "admin": (200, 200, True),
}


@pytest.mark.parametrize(("who", "expected"), DETAIL.items())
def test_detail_page_of_team_a_intake(as_, triaged, who, expected):
    page_status, _, offers_decision = expected

    response = as_(who).get(triaged.get_absolute_url())

    assert response.status_code == page_status
    if page_status == 200:
        assert b"Customer-facing: its output reaches customers." in response.content
        assert (b"Accept: register at Concept" in response.content) is offers_decision


@pytest.mark.parametrize(("who", "expected"), DETAIL.items())
def test_api_detail_of_team_a_intake(as_, triaged, who, expected):
    _, api_status, _ = expected

    response = as_(who).get(_api(triaged))

    assert response.status_code == api_status
    if api_status == 200:
        assert response.json()["risk_tier"] == "high"


# Create page: who: status of GET /intake/new/
CREATE_PAGE = {
    "anonymous": 302,
    "requester_a": 200,
    "requester_b": 200,
    "owner": 200,
    "council": 403,
    "chair": 403,
    "finance": 403,
    "admin": 200,
}


@pytest.mark.parametrize(("who", "status"), CREATE_PAGE.items())
def test_create_page_is_for_people_in_a_team_and_admins(as_, cast, who, status):
    response = as_(who).get(reverse("intake:create"))

    assert response.status_code == status
    if status == 403:
        assert b"You are in no team yet" in response.content


def test_posting_an_intake_for_another_team_is_refused_on_the_team_field(as_, intake_data):
    response = as_("requester_a").post(reverse("intake:create"), {**intake_data, "team": "marketing"})

    assert response.status_code == 200
    assert "team" in response.context["form"].errors
    assert not IntakeRequest.objects.exists()


# API create of a draft for team A: who: status
API_CREATE = {
    "anonymous": 401,
    "requester_a": 201,
    "requester_b": 400,  # in a team, but not this one: the form names the team field
    "owner": 201,
    "council": 403,  # in no team at all: refused, as on the page
    "chair": 403,
    "finance": 403,
    "admin": 201,
}


@pytest.mark.parametrize(("who", "status"), API_CREATE.items())
def test_api_creates_drafts_only_for_the_users_own_teams(as_, cast, who, status):
    response = as_(who).post(
        "/api/v1/intakes/", {"name": "Lead scorer", "team": "support"}, content_type="application/json"
    )

    assert response.status_code == status
    assert IntakeRequest.objects.filter(name="Lead scorer").exists() is (status == 201)
    if status == 400:
        assert "team" in response.json()["error"]["fields"]


def test_admin_may_file_an_intake_for_any_team(as_, intake_data):
    response = as_("admin").post(reverse("intake:create"), {**intake_data, "team": "marketing"})

    assert response.status_code == 302
    assert IntakeRequest.objects.get().team.slug == "marketing"


# Edit a draft: who: (page GET status, API PATCH status)
EDIT = {
    "anonymous": (302, 401),
    "requester_a": (200, 200),
    "requester_b": (404, 404),
    "owner": (403, 403),
    "council": (403, 403),
    "chair": (403, 403),
    "finance": (403, 403),
    "admin": (200, 200),
}


@pytest.mark.parametrize(("who", "expected"), EDIT.items())
def test_edit_page_of_a_draft_is_for_its_requester_and_admins(as_, draft, who, expected):
    response = as_(who).get(reverse("intake:edit", args=[draft.pk]))

    assert response.status_code == expected[0]


@pytest.mark.parametrize(("who", "expected"), EDIT.items())
def test_api_edit_of_a_draft_is_for_its_requester_and_admins(as_, draft, who, expected):
    response = as_(who).patch(_api(draft), {"name": "Renamed"}, content_type="application/json")

    assert response.status_code == expected[1]
    draft.refresh_from_db()
    assert draft.name == ("Renamed" if expected[1] == 200 else "FAQ drafter")


@pytest.mark.parametrize("who", ["requester_b", "owner", "council", "chair", "finance"])
def test_posting_the_edit_form_of_someone_elses_draft_changes_nothing(as_, draft, intake_data, who):
    response = as_(who).post(reverse("intake:edit", args=[draft.pk]), {**intake_data, "name": "Renamed"})

    assert response.status_code == EDIT[who][0]
    draft.refresh_from_db()
    assert draft.name == "FAQ drafter"
    assert [action for action, _ in _audit_trail(draft)] == ["intake.create"]


@pytest.mark.parametrize("who", ["requester_a", "admin"])
def test_nobody_edits_an_intake_once_submitted(as_, triaged, who):
    client = as_(who)

    page = client.get(reverse("intake:edit", args=[triaged.pk]))
    api = client.patch(_api(triaged), {"name": "Renamed"}, content_type="application/json")

    assert page.status_code == 403
    assert b"only while it is a draft" in page.content
    assert api.status_code == 403
    triaged.refresh_from_db()
    assert triaged.name == "Customer reply assistant"


# Submit a draft through the API: who: status (the low-risk draft is fast-tracked when submitted)
API_SUBMIT = {
    "anonymous": 401,
    "requester_a": 200,
    "requester_b": 404,
    "owner": 403,
    "council": 403,
    "chair": 403,
    "finance": 403,
    "admin": 200,
}


@pytest.mark.parametrize(("who", "status"), API_SUBMIT.items())
def test_api_submit_is_for_the_requester_and_admins(as_, draft, who, status):
    response = as_(who).post(_api(draft, "submit"))

    assert response.status_code == status
    draft.refresh_from_db()
    assert draft.status == (IntakeStatus.ACCEPTED if status == 200 else IntakeStatus.DRAFT)


# Withdraw a triaged intake: who: (page status, API status, withdrawn)
WITHDRAW = {
    "anonymous": (302, 401, False),
    "requester_a": (302, 200, True),
    "requester_b": (404, 404, False),
    "owner": (403, 403, False),
    "council": (403, 403, False),
    "chair": (403, 403, False),
    "finance": (403, 403, False),
    "admin": (302, 200, True),
}


@pytest.mark.parametrize(("who", "expected"), WITHDRAW.items())
def test_withdraw_page_is_for_the_requester_and_admins(as_, triaged, who, expected):
    page_status, _, withdrawn = expected

    response = as_(who).post(reverse("intake:withdraw", args=[triaged.pk]))

    assert response.status_code == page_status
    triaged.refresh_from_db()
    assert (triaged.status == IntakeStatus.WITHDRAWN) is withdrawn
    if withdrawn:
        assert response["Location"] == triaged.get_absolute_url()


@pytest.mark.parametrize(("who", "expected"), WITHDRAW.items())
def test_api_withdraw_is_for_the_requester_and_admins(as_, triaged, who, expected):
    _, api_status, withdrawn = expected

    response = as_(who).post(
        _api(triaged, "withdraw"), {"note": "Not needed"}, content_type="application/json"
    )

    assert response.status_code == api_status
    triaged.refresh_from_db()
    assert (triaged.status == IntakeStatus.WITHDRAWN) is withdrawn


def test_requester_withdraws_a_draft_too(as_, draft):
    as_("requester_a").post(reverse("intake:withdraw", args=[draft.pk]))

    draft.refresh_from_db()
    assert draft.status == IntakeStatus.WITHDRAWN


# Accept or reject a triaged intake: who: (page status, API status, decided)
DECIDE = {
    "anonymous": (302, 401, False),
    "requester_a": (403, 403, False),
    "requester_b": (404, 404, False),
    "owner": (403, 403, False),
    "council": (403, 403, False),
    "chair": (302, 200, True),
    "finance": (403, 403, False),
    "admin": (302, 200, True),
}
OUTCOME = {"accept": IntakeStatus.ACCEPTED, "reject": IntakeStatus.REJECTED}
PAGE_INPUT = {
    "accept": {"note": "Go ahead with guardrails"},
    "reject": {"reason": "Too costly for its value", "confirm": "yes"},
}


@pytest.mark.parametrize("action", ["accept", "reject"])
@pytest.mark.parametrize(("who", "expected"), DECIDE.items())
def test_decision_page_is_for_the_chair_and_admins(as_, cast, triaged, who, expected, action):
    page_status, _, decided = expected
    trail = _audit_trail(triaged)

    response = as_(who).post(reverse(f"intake:{action}", args=[triaged.pk]), PAGE_INPUT[action])

    assert response.status_code == page_status
    triaged.refresh_from_db()
    if decided:
        assert triaged.status == OUTCOME[action]
        assert triaged.decided_by == getattr(cast, who)
    else:
        assert triaged.status == IntakeStatus.TRIAGED
        assert _audit_trail(triaged) == trail
        assert not UseCase.objects.filter(name="Customer reply assistant").exists()
    if page_status == 403:
        assert (
            f"Only a platform admin or the council chair can {action} an intake.".encode() in response.content
        )


@pytest.mark.parametrize("action", ["accept", "reject"])
@pytest.mark.parametrize(("who", "expected"), DECIDE.items())
def test_api_decision_is_for_the_chair_and_admins(as_, cast, triaged, who, expected, action):
    _, api_status, decided = expected

    response = as_(who).post(
        _api(triaged, action),
        {"note": "Too costly for its value", "confirm": True},
        content_type="application/json",
    )

    assert response.status_code == api_status
    triaged.refresh_from_db()
    assert triaged.status == (OUTCOME[action] if decided else IntakeStatus.TRIAGED)
    if decided:
        assert triaged.decided_by == getattr(cast, who)
        assert response.json()["decided_by"] == getattr(cast, who).username


def test_accepting_registers_the_use_case_at_concept(as_, triaged):
    as_("chair").post(reverse("intake:accept", args=[triaged.pk]), {"note": "Go ahead"})

    triaged.refresh_from_db()
    assert triaged.use_case.name == "Customer reply assistant"
    assert triaged.use_case.stage == "concept"


def test_rejecting_without_a_reason_is_refused_with_a_message_naming_the_reason(as_, triaged):
    response = as_("chair").post(reverse("intake:reject", args=[triaged.pk]), {"reason": "  "}, follow=True)

    assert b"Give the reason for rejecting, so the team can act on it." in response.content
    triaged.refresh_from_db()
    assert triaged.status == IntakeStatus.TRIAGED


def test_api_rejecting_without_a_reason_names_the_reason_field(as_, triaged):
    response = as_("admin").post(_api(triaged, "reject"), {}, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["fields"]["reason"] == [
        "Give the reason for rejecting, so the team can act on it."
    ]
    triaged.refresh_from_db()
    assert triaged.status == IntakeStatus.TRIAGED


def test_the_decision_card_says_what_rejecting_does_before_it_is_confirmed(as_, cast, triaged):
    page = as_("chair").get(reverse("intake:detail", args=[triaged.pk])).content.decode()

    assert "Reject…" in page
    assert f"Rejecting closes {triaged.reference} Customer reply assistant for good" in page
    assert cast.requester_a.get_full_name() in page
    assert f"“{triaged.reference} Customer reply assistant rejected” with your reason" in page
    assert f"Reject {triaged.reference} and tell the requester" in page


def test_rejecting_on_the_page_without_confirm_changes_nothing_and_shows_the_reason_to_confirm(
    as_, cast, triaged
):
    trail = _audit_trail(triaged)

    response = as_("chair").post(reverse("intake:reject", args=[triaged.pk]), {"reason": "Too costly"})

    assert response.status_code == 400
    body = response.content.decode()
    assert "Not rejected yet: confirm to reject." in body and "Too costly" in body
    triaged.refresh_from_db()
    assert triaged.status == IntakeStatus.TRIAGED
    assert _audit_trail(triaged) == trail
    assert not cast.requester_a.notifications.filter(subject__endswith="rejected").exists()

    confirmed = as_("chair").post(
        reverse("intake:reject", args=[triaged.pk]), {"reason": "Too costly", "confirm": "yes"}, follow=True
    )

    assert "Intake rejected; the team has been told why." in confirmed.content.decode()
    triaged.refresh_from_db()
    assert triaged.status == IntakeStatus.REJECTED and triaged.decision_note == "Too costly"
    assert _audit_trail(triaged)[-1] == ("intake.reject", cast.chair.get_username())
    assert cast.requester_a.notifications.get(subject__endswith="rejected").body == "Too costly"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"note": "Too costly"}, "confirm"),
        ({"note": "Too costly", "confirm": False}, "confirm"),
        ({"note": "Too costly", "confirm": {"yes": 1}}, "confirm"),
        ({"note": "Too costly", "confirm": [True]}, "confirm"),
        ({"note": "Too costly", "confirm": "maybe"}, "confirm"),
        ({"note": "late\x00", "confirm": True}, "note"),
        ({"note": ["a"], "confirm": True}, "note"),
    ],
)
def test_api_rejecting_needs_confirm_and_refuses_hostile_input_naming_the_field(as_, triaged, body, field):
    trail = _audit_trail(triaged)

    response = as_("admin").post(_api(triaged, "reject"), body, content_type="application/json")

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    triaged.refresh_from_db()
    assert triaged.status == IntakeStatus.TRIAGED
    assert _audit_trail(triaged) == trail


def test_creating_and_submitting_on_the_page_audits_each_step_with_its_actor(as_, intake_data):
    as_("requester_a").post(
        reverse("intake:create"), {**intake_data, "customer_impact": "customer_facing", "submit": "1"}
    )

    intake = IntakeRequest.objects.get()
    assert intake.status == IntakeStatus.TRIAGED
    assert _audit_trail(intake) == [
        ("intake.create", "req-a"),
        ("intake.submit", "req-a"),
        ("intake.triage", "system"),
    ]


def test_saving_a_draft_on_the_page_audits_the_update_with_its_editor(as_, draft, intake_data):
    as_("requester_a").post(reverse("intake:edit", args=[draft.pk]), {**intake_data, "name": "FAQ writer"})

    assert _audit_trail(draft) == [("intake.create", "req-a"), ("intake.update", "req-a")]
    update = AuditEvent.objects.for_object(draft).get(action="intake.update")
    assert (update.before["name"], update.after["name"]) == ("FAQ drafter", "FAQ writer")


def test_a_fast_tracked_intake_is_accepted_by_the_system(cast, intake_data):
    intake = _save(cast.requester_a, intake_data, mode=SUBMIT)

    intake = services.intake_submit(actor=cast.requester_a, intake=intake)

    assert _audit_trail(intake)[-1] == ("intake.accept", "system")


@pytest.mark.parametrize(
    ("who", "url", "data", "action"),
    [
        ("chair", "intake:accept", {"note": "Go ahead"}, "intake.accept"),
        ("admin", "intake:reject", {"reason": "Duplicate", "confirm": "yes"}, "intake.reject"),
        ("requester_a", "intake:withdraw", {}, "intake.withdraw"),
    ],
)
def test_each_decision_is_audited_with_the_person_who_made_it(as_, cast, triaged, who, url, data, action):
    as_(who).post(reverse(url, args=[triaged.pk]), data)

    last = AuditEvent.objects.for_object(triaged).order_by("created_at", "id").last()
    assert last.action == action
    assert last.actor == getattr(cast, who)
    assert last.before["status"] == IntakeStatus.TRIAGED
    assert last.after["status"] == OUTCOME.get(action.split(".")[1], IntakeStatus.WITHDRAWN)


@pytest.mark.parametrize(
    ("method", "name"),
    [
        ("get", "intake:index"),
        ("get", "intake:create"),
        ("get", "intake:detail"),
        ("get", "intake:edit"),
        ("post", "intake:withdraw"),
        ("post", "intake:accept"),
        ("post", "intake:reject"),
    ],
)
def test_anonymous_visitor_is_sent_to_login_from_every_intake_page(client, triaged, method, name):
    args = [] if name in ("intake:index", "intake:create") else [triaged.pk]

    response = getattr(client, method)(reverse(name, args=args))

    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)
    triaged.refresh_from_db()
    assert triaged.status == IntakeStatus.TRIAGED


@pytest.mark.parametrize(
    ("method", "action"),
    [("get", ""), ("post", "submit"), ("post", "withdraw"), ("post", "accept"), ("post", "reject")],
)
def test_anonymous_api_call_gets_401(client, triaged, method, action):
    response = getattr(client, method)(_api(triaged, action))

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_anonymous_api_list_and_create_get_401(client):
    assert client.get("/api/v1/intakes/").status_code == 401
    assert client.post("/api/v1/intakes/", {"name": "x", "team": "support"}).status_code == 401
    assert not IntakeRequest.objects.exists()
