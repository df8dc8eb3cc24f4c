"""The council's API: the permission matrix of the pages (anonymous, another role, the owner, a
member, the chair), meeting transitions as actions, votes and decisions with their errors (a field
named, a missing quorum 422, a lost race 409), funding requests, the approved spend list as JSON and
CSV, and a constant number of queries for the agenda."""

from decimal import Decimal

import pytest

from aifinops.core import periods
from council import services
from council.models import Decision, FundingRequest, FundingStatus, Meeting, MeetingState, Vote, VoteChoice
from council.tests.factories import AgendaItemFactory
from council.tests.page_fixtures import (  # noqa: F401 (fixtures)
    board_fixture,
    in_session_fixture,
    meeting_fixture,
    votes_fixture,
)
from portfolio.tests.factories import UseCaseFactory

pytestmark = pytest.mark.django_db

API = "/api/v1/council"


def _error(response):
    return response.json()["error"]


# Who may read and do what.


def test_anonymous_gets_401_everywhere(client, meeting):
    for url in (
        f"{API}/meetings/",
        f"{API}/meetings/{meeting.pk}/",
        f"{API}/agenda-items/",
        f"{API}/decisions/",
        f"{API}/funding-requests/",
        f"{API}/meetings/{meeting.pk}/approved-spend/",
    ):
        assert client.get(url).status_code == 401, url
    assert client.post(f"{API}/meetings/{meeting.pk}/publish/").status_code == 401


def test_a_requester_is_refused_meetings_and_sees_no_agenda_item(cast, login, meeting):
    client = login(cast.requester_a)

    assert client.get(f"{API}/meetings/").status_code == 403
    assert client.get(f"{API}/meetings/{meeting.pk}/approved-spend/").status_code == 403
    assert client.get(f"{API}/agenda-items/").json()["results"] == []
    assert client.get(f"{API}/agenda-items/{meeting.first.pk}/").status_code == 404


def test_an_owner_sees_the_items_of_their_use_cases_only(cast, login, meeting):
    client = login(cast.owner)

    results = client.get(f"{API}/agenda-items/").json()["results"]
    detail = client.get(f"{API}/agenda-items/{meeting.first.pk}/").json()

    assert [r["use_case"] for r in results] == ["support-summarizer"]
    assert detail["review_pack"]["funding_request"]["amount"] == "9000.00"
    assert detail["pack_frozen"] is False
    assert client.get(f"{API}/agenda-items/{meeting.second.pk}/").status_code == 404


def test_a_member_lists_meetings_but_cannot_publish(cast, login, meeting):
    client = login(cast.council)

    listed = client.get(f"{API}/meetings/").json()["results"]
    response = client.post(f"{API}/meetings/{meeting.pk}/publish/")

    assert [(m["id"], m["state"], m["item_count"], m["quorum"]) for m in listed] == [
        (meeting.pk, "draft", 2, 3)
    ]
    assert response.status_code == 403
    assert _error(response)["code"] == "permission_denied"
    assert Meeting.objects.get(pk=meeting.pk).state == MeetingState.DRAFT


# The chair's transitions.


def test_the_chair_builds_publishes_starts_and_closes_through_the_api(cast, login, meeting):
    client = login(cast.chair)
    url = f"{API}/meetings/{meeting.pk}"

    built = client.post(f"{url}/build-agenda/")
    published = client.post(f"{url}/publish/")
    again = client.post(f"{url}/publish/")
    started = client.post(f"{url}/start/")
    closed = client.post(
        f"{url}/close/", {"minutes": "Quick one.", "confirm": True}, content_type="application/json"
    )

    assert built.status_code == 200 and built.json()["meeting"]["id"] == meeting.pk
    assert published.json()["state"] == "published" and published.json()["published_at"]
    assert again.status_code == 409
    assert _error(again)["code"] == "conflict"
    assert started.json()["state"] == "in_session"
    assert closed.json()["state"] == "closed"
    assert closed.json()["minutes"].startswith("Quick one.")


def test_building_the_next_agenda_schedules_a_meeting_when_there_is_none(cast, login, board):
    response = login(cast.chair).post(f"{API}/meetings/build-agenda/")

    assert response.status_code == 200
    assert response.json()["meeting"]["state"] == "draft"
    assert Meeting.objects.filter(council=board).count() == 1


def test_an_unknown_council_id_names_the_field_instead_of_failing(cast, login, board):
    response = login(cast.chair).post(f"{API}/meetings/build-agenda/?council=0&state=closed")

    assert response.status_code == 400
    assert "council" in _error(response)["fields"]


def test_list_filters_do_not_hide_the_meeting_just_built(cast, login, board):
    response = login(cast.chair).post(f"{API}/meetings/build-agenda/?state=closed")

    assert response.status_code == 200
    assert response.json()["meeting"]["state"] == "draft"


def test_a_bad_council_id_names_the_field(cast, login, board):
    response = login(cast.chair).post(f"{API}/meetings/build-agenda/?council=abc")

    assert response.status_code == 400
    assert "council" in _error(response)["fields"]


# Votes and decisions.


def test_a_member_casts_their_own_vote(cast, login, in_session):
    response = login(cast.council).post(
        f"{API}/agenda-items/{in_session.first.pk}/votes/",
        {"choice": "approve_with_conditions", "conditions": "Monthly report", "comment": "Fine."},
        content_type="application/json",
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["member"], body["persona"], body["choice"], body["conditions"]) == (
        "council-m",
        "finops",
        "approve_with_conditions",
        "Monthly report",
    )
    item = login(cast.council).get(f"{API}/agenda-items/{in_session.first.pk}/").json()
    assert item["tally"] == {
        "counts": {
            "approve": 0,
            "approve_with_conditions": 1,
            "defer": 0,
            "reject": 0,
            "sunset": 0,
        },
        "votes": 1,
        "quorum": 3,
        "quorum_met": False,
    }


def test_a_bad_vote_names_the_field(cast, login, in_session):
    client = login(cast.council)
    url = f"{API}/agenda-items/{in_session.first.pk}/votes/"

    unknown = client.post(url, {"choice": "maybe"}, content_type="application/json")
    no_conditions = client.post(url, {"choice": "approve_with_conditions"}, content_type="application/json")

    assert unknown.status_code == 400 and "choice" in _error(unknown)["fields"]
    assert no_conditions.status_code == 400
    assert _error(no_conditions)["fields"]["conditions"] == ["Say which conditions the approval comes with."]
    assert not Vote.objects.exists()


def test_someone_without_a_seat_cannot_vote(cast, login, in_session):
    response = login(cast.finance).post(
        f"{API}/agenda-items/{in_session.first.pk}/votes/",
        {"choice": "approve"},
        content_type="application/json",
    )

    assert response.status_code == 403
    assert not Vote.objects.exists()


def test_a_decision_waits_for_the_quorum_with_422(cast, login, in_session, votes):
    votes(in_session.first, 2)

    response = login(cast.chair).post(
        f"{API}/agenda-items/{in_session.first.pk}/decision/",
        {"outcome": "approve"},
        content_type="application/json",
    )

    assert response.status_code == 422
    error = _error(response)
    assert error["code"] == "unprocessable"
    assert error["details"] == [{"code": "quorum", "votes": 2, "quorum": 3}]


def test_the_chair_records_a_decision_and_a_second_one_is_a_conflict(cast, login, in_session, votes):
    votes(in_session.first, 3)
    client = login(cast.chair)
    url = f"{API}/agenda-items/{in_session.first.pk}/decision/"

    first = client.post(url, {"outcome": "approve", "amount": "7500.00"}, content_type="application/json")
    second = client.post(url, {"outcome": "reject"}, content_type="application/json")

    assert first.status_code == 201
    assert (first.json()["outcome"], first.json()["amount_approved"], first.json()["use_case"]) == (
        "approve",
        "7500.000000",
        "support-summarizer",
    )
    assert second.status_code == 409
    assert "was recorded meanwhile" in _error(second)["message"]
    assert Decision.objects.count() == 1


def test_a_member_cannot_record_the_decision(cast, login, in_session, votes):
    votes(in_session.first, 3)

    response = login(cast.council).post(
        f"{API}/agenda-items/{in_session.first.pk}/decision/",
        {"outcome": "approve"},
        content_type="application/json",
    )

    assert response.status_code == 403
    assert not Decision.objects.exists()


def test_a_bad_outcome_or_amount_names_the_field(cast, login, in_session, votes):
    votes(in_session.first, 3)
    client = login(cast.chair)
    url = f"{API}/agenda-items/{in_session.first.pk}/decision/"

    outcome = client.post(url, {"outcome": "yes"}, content_type="application/json")
    amount = client.post(url, {"outcome": "approve", "amount": "-5"}, content_type="application/json")
    too_much = client.post(url, {"outcome": "approve", "amount": "99999"}, content_type="application/json")

    assert outcome.status_code == 400 and "outcome" in _error(outcome)["fields"]
    assert amount.status_code == 400 and "amount" in _error(amount)["fields"]
    assert too_much.status_code == 400
    assert _error(too_much)["fields"]["amount"] == ["Approve at most what was asked: 9,000.00 USD."]


@pytest.mark.parametrize(
    "field", ["conditions", "note", "milestone", "outcome", "period_start", "period_end"]
)
@pytest.mark.parametrize("value", [0.5, {"a": 1}, ["x"]])
def test_a_decision_with_a_number_or_an_object_for_a_text_names_the_field(
    cast, login, in_session, votes, field, value
):
    # Found by the API fuzzing: a JSON number reached a text field's parsing and answered 500.
    votes(in_session.first, 3)
    url = f"{API}/agenda-items/{in_session.first.pk}/decision/"

    response = login(cast.chair).post(
        url, {"outcome": "approve", "amount": "100", field: value}, content_type="application/json"
    )

    assert response.status_code in (201, 400)
    if response.status_code == 400:
        assert field in _error(response)["fields"]


@pytest.mark.parametrize("value", [0.5, {"a": 1}, ["x"]])
def test_a_vote_with_a_number_or_an_object_for_its_comment_names_the_field(cast, login, in_session, value):
    url = f"{API}/agenda-items/{in_session.first.pk}/votes/"

    response = login(cast.council).post(
        url, {"choice": "approve", "comment": value}, content_type="application/json"
    )

    assert response.status_code in (201, 400)
    if response.status_code == 400:
        assert "comment" in _error(response)["fields"]


# Funding requests and decisions.


def _funding(**changes):
    next_year = periods.today().year + 1
    return {
        "use_case": "support-summarizer",
        "amount": "12000",
        "currency": "USD",
        "period_start": f"{next_year}-01-01",
        "period_end": f"{next_year}-03-31",
        "expected_outcomes": "Ten agents use it daily.",
        **changes,
    }


def test_an_owner_asks_for_funding_through_the_api(cast, login):
    response = login(cast.owner).post(f"{API}/funding-requests/", _funding(), content_type="application/json")

    assert response.status_code == 201
    body = response.json()
    assert (body["use_case"], body["target_stage"], body["status"], body["amount"]) == (
        "support-summarizer",
        "mvp",
        "submitted",
        "12000.000000",
    )


def test_funding_for_a_later_stage_or_a_bad_period_names_the_field(cast, login):
    client = login(cast.owner)

    later = client.post(
        f"{API}/funding-requests/", _funding(target_stage="launch"), content_type="application/json"
    )
    period = client.post(
        f"{API}/funding-requests/", _funding(period_end="2026-12-01"), content_type="application/json"
    )
    missing = client.post(f"{API}/funding-requests/", _funding(use_case=""), content_type="application/json")

    assert later.status_code == 400
    assert _error(later)["fields"]["target_stage"][0].startswith("Ask for the next milestone only")
    assert period.status_code == 400 and "period_end" in _error(period)["fields"]
    assert missing.status_code == 400 and "use_case" in _error(missing)["fields"]
    assert not FundingRequest.objects.exists()


def test_only_owners_ask_for_funding(cast, login):
    other_team = login(cast.requester_b).post(
        f"{API}/funding-requests/", _funding(), content_type="application/json"
    )
    same_team = login(cast.requester_a).post(
        f"{API}/funding-requests/", _funding(), content_type="application/json"
    )

    assert other_team.status_code == 400 and "use_case" in _error(other_team)["fields"]
    assert same_team.status_code == 403


def test_funding_requests_and_decisions_are_listed_by_use_case(cast, login, in_session, votes):
    votes(in_session.first, 3)
    services.decision_record(actor=cast.chair, item=in_session.first, outcome=VoteChoice.APPROVE)
    client = login(cast.requester_a)

    requests = client.get(f"{API}/funding-requests/?use_case=support-summarizer").json()["results"]
    decisions = client.get(f"{API}/decisions/?use_case=support-summarizer").json()["results"]
    hidden = login(cast.requester_b).get(f"{API}/decisions/").json()["results"]

    assert [(r["use_case"], r["status"]) for r in requests] == [
        ("support-summarizer", FundingStatus.APPROVED)
    ]
    assert [(d["use_case"], d["outcome"], d["amount_approved"]) for d in decisions] == [
        ("support-summarizer", "approve", "9000.000000")
    ]
    assert hidden == []


def test_closing_through_the_api_needs_confirm_while_items_wait(cast, login, in_session):
    client = login(cast.chair)
    url = f"{API}/meetings/{in_session.pk}/close/"

    refused = client.post(url, {"minutes": "Quick."}, content_type="application/json")
    declined = client.post(url, {"confirm": False}, content_type="application/json")

    assert refused.status_code == 400 and declined.status_code == 400
    message = _error(refused)["fields"]["confirm"][0]
    assert message.startswith("2 items have no decision and will carry over to the next meeting, on")
    assert cast.use_case_a.name in message and cast.use_case_b.name in message
    assert Meeting.objects.get(pk=in_session.pk).state == MeetingState.IN_SESSION
    assert Meeting.objects.filter(council=in_session.council).count() == 1

    closed = client.post(url, {"minutes": "Quick.", "confirm": True}, content_type="application/json")

    assert closed.status_code == 200 and closed.json()["state"] == "closed"
    draft = Meeting.objects.get(council=in_session.council, state=MeetingState.DRAFT)
    assert draft.items.count() == 2


@pytest.mark.parametrize(
    "body, field",
    [
        ({"confirm": {"yes": True}}, "confirm"),
        ({"confirm": [True]}, "confirm"),
        ({"minutes": "late\x00", "confirm": True}, "minutes"),
        ({"minutes": "x" * 20001, "confirm": True}, "minutes"),
        ({"minutes": ["a", "b"], "confirm": True}, "minutes"),
    ],
)
def test_a_hostile_close_is_400_naming_the_field_and_closes_nothing(cast, login, in_session, body, field):
    response = login(cast.chair).post(
        f"{API}/meetings/{in_session.pk}/close/", body, content_type="application/json"
    )

    assert response.status_code == 400
    assert field in _error(response)["fields"]
    assert Meeting.objects.get(pk=in_session.pk).state == MeetingState.IN_SESSION


def test_a_lone_surrogate_in_the_minutes_is_400_not_500(cast, login, in_session):
    response = login(cast.chair).post(
        f"{API}/meetings/{in_session.pk}/close/",
        b'{"minutes": "\\ud800", "confirm": true}',
        content_type="application/json",
    )

    assert response.status_code == 400
    assert Meeting.objects.get(pk=in_session.pk).state == MeetingState.IN_SESSION


# The approved spend list.


def test_the_approved_spend_list_as_json_and_csv(cast, login, in_session, votes):
    votes(in_session.first, 3)
    votes(in_session.second, 3, VoteChoice.REJECT)
    services.decision_record(
        actor=cast.chair,
        item=in_session.first,
        outcome=VoteChoice.APPROVE_WITH_CONDITIONS,
        conditions="@SUM(A1)",
    )
    services.decision_record(actor=cast.chair, item=in_session.second, outcome=VoteChoice.REJECT)
    client = login(cast.finance)

    data = client.get(f"{API}/meetings/{in_session.pk}/approved-spend/").json()
    csv = client.get(f"{API}/meetings/{in_session.pk}/approved-spend/csv/")

    assert data["final"] is False and data["totals"] == {"USD": "9000.00"}
    assert [(r["use_case"], r["amount"], r["conditions"]) for r in data["results"]] == [
        ("support-summarizer", "9000.00", "@SUM(A1)")
    ]
    lines = b"".join(csv.streaming_content).decode().splitlines()
    assert len(lines) == 2 + 3 and "'@SUM(A1)" in lines[1]  # the approval, then its three totals
    assert lines[-1].startswith("total,") and "9000.00,USD" in lines[-1]


# Queries stay constant as the agenda grows.


def test_the_agenda_reads_in_a_constant_number_of_queries(
    cast, login, in_session, votes, django_assert_max_num_queries
):
    votes(in_session.first, 3)
    services.decision_record(actor=cast.chair, item=in_session.first, outcome=VoteChoice.APPROVE)
    for n in range(6):
        AgendaItemFactory(meeting=in_session, use_case=UseCaseFactory(team=cast.team_a), position=3 + n)
    client = login(cast.council)

    with django_assert_max_num_queries(6):
        response = client.get(f"{API}/agenda-items/?meeting={in_session.pk}")

    results = response.json()["results"]
    assert len(results) == 8
    assert results[0]["decision"]["outcome"] == "approve" and results[0]["tally"]["quorum_met"] is True
    assert Decimal(results[0]["amount_at_stake"]) == Decimal("9000")
