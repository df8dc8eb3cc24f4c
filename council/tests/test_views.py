"""The council's pages: who may open and do what (anonymous, another role, the owner, a member, the
chair), the chair's buttons, voting and decisions with htmx (errors, missing quorum, a lost race),
funding requests, the meeting's output as a page and CSV, and constant query counts."""

import csv
import datetime
import io
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from aifinops.core.models import AuditEvent
from council import services
from council.models import Decision, FundingRequest, FundingStatus, Meeting, MeetingState, VoteChoice
from council.tests.factories import AgendaItemFactory, MilestoneFactory
from council.tests.page_fixtures import (  # noqa: F401 (fixtures)
    board_fixture,
    in_session_fixture,
    meeting_fixture,
    votes_fixture,
)
from portfolio.choices import Stage
from portfolio.tests.factories import UseCaseFactory
from showback.models import AnomalyStatus, Severity
from showback.tests.analytics_factories import AnomalyFactory

pytestmark = pytest.mark.django_db

HOME = reverse("council:index")
HX = {"HTTP_HX_REQUEST": "true"}


def _url(name, *args):
    return reverse(f"council:{name}", args=args)


def _body(response):
    return response.content.decode()


# Who may open what.


def test_anonymous_is_sent_to_log_in_from_every_page(client, meeting):
    pages = [
        HOME,
        _url("meeting_list"),
        _url("meeting_detail", meeting.pk),
        _url("item_detail", meeting.first.pk),
        _url("meeting_output", meeting.pk),
        _url("approved_spend_csv", meeting.pk),
        _url("my_items"),
        _url("use_case_history", "support-summarizer"),
    ]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 302, page
        assert "/accounts/login/" in response["Location"]


def test_a_requester_is_refused_the_council_pages_and_does_not_find_its_items(cast, login, meeting):
    client = login(cast.requester_a)

    for page in (HOME, _url("meeting_detail", meeting.pk), _url("meeting_output", meeting.pk)):
        assert client.get(page).status_code == 403, page
    assert client.get(_url("approved_spend_csv", meeting.pk)).status_code == 403
    assert client.get(_url("item_detail", meeting.first.pk)).status_code == 404
    assert client.post(_url("meeting_publish", meeting.pk)).status_code == 403


def test_a_member_reads_the_home_page_with_the_next_agenda_members_cadence_and_quorum(cast, login, meeting):
    response = login(cast.council).get(HOME)

    assert response.status_code == 200
    body = _body(response)
    assert "Next meeting" in body and "Monthly operating review" in body
    assert "Support summarizer" in body and "Campaign writer" in body
    assert "Funding requested for the next milestone" in body
    assert "Security and risk" in body and "FinOps" in body
    assert "Monthly" in body and "3 votes on an item" in body
    assert [row.item.use_case.key for row in response.context["rows"]] == [
        "support-summarizer",
        "campaign-writer",
    ]


def test_a_member_sees_the_meeting_without_the_chairs_buttons_and_cannot_press_them(cast, login, meeting):
    client = login(cast.council)

    body = _body(client.get(_url("meeting_detail", meeting.pk)))
    response = client.post(_url("meeting_publish", meeting.pk))

    assert "Support summarizer" in body and "Standing sections: monthly operating review" in body
    assert "Publish agenda" not in body and "Build agenda" not in body
    assert response.status_code == 403
    assert Meeting.objects.get(pk=meeting.pk).state == MeetingState.DRAFT


def test_an_undecided_item_reads_its_status_label_on_the_agenda_not_its_stored_value(cast, login, meeting):
    # When a member opens a meeting whose items are not decided yet
    body = _body(login(cast.council).get(_url("meeting_detail", meeting.pk)))

    # Then the decision column says "Open", as the status is labelled, not the stored "open"
    assert '<span class="text-muted small">Open</span>' in body
    assert '<span class="text-muted small">open</span>' not in body


def test_finance_reads_the_council_but_has_no_seat_to_vote(cast, login, in_session):
    client = login(cast.finance)

    body = _body(client.get(_url("item_detail", in_session.first.pk)))
    response = client.post(_url("vote_cast", in_session.first.pk), {"choice": "approve"}, **HX)

    assert "Funding request for the next milestone" in body
    assert "Cast vote" not in body
    assert response.status_code == 403


def test_an_owner_reads_the_pack_of_their_item_but_not_the_meeting_or_other_items(cast, login, meeting):
    client = login(cast.owner)

    own = client.get(_url("item_detail", meeting.first.pk))

    assert own.status_code == 200
    assert "$9,000.00" in _body(own) and "Live" in _body(own)
    assert client.get(_url("item_detail", meeting.second.pk)).status_code == 404
    assert client.get(_url("meeting_detail", meeting.pk)).status_code == 403


# The chair's buttons.


def test_the_chair_builds_publishes_starts_and_closes_the_meeting(cast, login, meeting):
    client = login(cast.chair)
    detail = _url("meeting_detail", meeting.pk)
    assert "Publish agenda" in _body(client.get(detail))

    built = client.post(_url("meeting_build", meeting.pk), follow=True)
    published = client.post(_url("meeting_publish", meeting.pk), follow=True)
    assert Meeting.objects.get(pk=meeting.pk).state == MeetingState.PUBLISHED
    started = client.post(_url("meeting_start", meeting.pk), follow=True)
    closed = client.post(
        _url("meeting_close", meeting.pk), {"minutes": "Short meeting.", "confirm": "yes"}, follow=True
    )

    assert "Agenda built" in _body(built)
    assert "review packs are frozen" in _body(published)
    assert "members can vote" in _body(started)
    assert "Meeting closed" in _body(closed)
    meeting = Meeting.objects.get(pk=meeting.pk)
    assert meeting.state == MeetingState.CLOSED
    assert meeting.minutes.startswith("Short meeting.")
    assert "Short meeting." in _body(closed)
    actions = set(
        AuditEvent.objects.filter(object_type__endswith="meeting", object_id=str(meeting.pk)).values_list(
            "action", flat=True
        )
    )
    assert {"meeting.publish", "meeting.start", "meeting.close"} <= actions


def test_closing_with_undecided_items_shows_which_carry_over_and_acts_only_once_confirmed(
    cast, login, board, in_session, votes
):
    # Given the first item decided, the second deferred by no one yet, and a draft meeting next
    votes(in_session.first, 3)
    services.decision_record(actor=cast.chair, item=in_session.first, outcome=VoteChoice.APPROVE)
    when = in_session.scheduled_for + datetime.timedelta(days=30)
    nxt = Meeting.objects.create(council=board, kind=in_session.kind, scheduled_for=when)
    client = login(cast.chair)
    page = _body(client.get(_url("meeting_detail", in_session.pk)))

    # When the chair closes without confirming
    refused = client.post(_url("meeting_close", in_session.pk), {"minutes": "Out of time."})

    # Then the page said what would happen, the answer names confirm, and nothing changed
    assert "Close meeting…" in page and "1 item has no decision." in page
    assert f"{when:%A %-d %B %Y}" in page and cast.use_case_b.name in page
    assert "Carry 1 item over and close" in page
    assert refused.status_code == 400
    assert "will carry over to the monthly operating review of" in _body(refused)
    assert Meeting.objects.get(pk=in_session.pk).state == MeetingState.IN_SESSION
    assert not nxt.items.exists()
    assert not AuditEvent.objects.filter(action="meeting.close").exists()

    # When the chair confirms
    closed = client.post(
        _url("meeting_close", in_session.pk), {"minutes": "Out of time.", "confirm": "yes"}, follow=True
    )

    # Then the meeting closes and the undecided item is on the next meeting, audited
    assert "Meeting closed" in _body(closed)
    assert Meeting.objects.get(pk=in_session.pk).state == MeetingState.CLOSED
    assert list(nxt.items.values_list("use_case_id", flat=True)) == [cast.use_case_b.pk]
    event = AuditEvent.objects.get(action="meeting.close", object_id=str(in_session.pk))
    assert event.after["carried"] == [in_session.second.pk] and event.after["to"] == nxt.pk


def test_a_meeting_with_every_item_decided_closes_without_a_confirmation_step(cast, login, in_session, votes):
    for item in (in_session.first, in_session.second):
        votes(item, 3)
        services.decision_record(actor=cast.chair, item=item, outcome=VoteChoice.APPROVE)
    client = login(cast.chair)

    page = _body(client.get(_url("meeting_detail", in_session.pk)))
    closed = client.post(_url("meeting_close", in_session.pk), {"minutes": ""}, follow=True)

    assert "Close meeting…" not in page and "no decision" not in page
    assert "Meeting closed" in _body(closed)
    assert Meeting.objects.get(pk=in_session.pk).state == MeetingState.CLOSED


def test_with_no_draft_meeting_the_confirmation_names_the_date_the_cadence_gives(cast, login, in_session):
    expected = services.next_meeting_time(in_session.council)

    page = _body(login(cast.chair).get(_url("meeting_detail", in_session.pk)))

    assert "2 items have no decision." in page
    assert f"scheduled per the council's cadence for {expected:%A %-d %B %Y}" in page


def test_a_step_no_longer_allowed_is_a_message_not_an_error(cast, login, in_session):
    response = login(cast.chair).post(_url("meeting_publish", in_session.pk), follow=True)

    assert response.status_code == 200
    assert "is in session" in _body(response)


def test_the_chair_builds_the_next_agenda_from_the_home_page_when_no_meeting_is_scheduled(cast, login, board):
    response = login(cast.chair).post(_url("agenda_build"), {"council": board.pk}, follow=True)

    assert response.status_code == 200
    meeting = Meeting.objects.get(council=board)
    assert meeting.state == MeetingState.DRAFT
    assert response.redirect_chain[-1][0] == _url("meeting_detail", meeting.pk)


# Voting and decisions with htmx.


def test_a_member_votes_with_htmx_and_sees_the_tally_and_the_quorum(cast, login, in_session):
    response = login(cast.council).post(
        _url("vote_cast", in_session.first.pk), {"choice": "approve", "comment": "Worth it."}, **HX
    )

    assert response.status_code == 200
    assert response.templates[0].name == "council/partials/_voting.html"
    body = _body(response)
    assert "Your vote is recorded." in body
    assert "Approve: 1" in body and "1 of the 3 votes needed, 2 more to go" in body
    assert "Change vote" in body and "“Worth it.”" in body


def test_an_approval_with_conditions_needs_them_and_the_card_says_so(cast, login, in_session):
    response = login(cast.council).post(
        _url("vote_cast", in_session.first.pk), {"choice": "approve_with_conditions"}, **HX
    )

    assert "Say which conditions the approval comes with." in _body(response)
    assert not in_session.first.votes.exists()


def test_a_vote_outside_the_session_is_explained(cast, login, meeting):
    response = login(cast.council).post(_url("vote_cast", meeting.first.pk), {"choice": "approve"}, **HX)

    assert response.status_code == 200
    assert "Votes are cast while the meeting is in session" in _body(response)


def test_the_chair_cannot_decide_before_the_quorum(cast, login, in_session, votes):
    votes(in_session.first, 2)

    response = login(cast.chair).post(
        _url("decision_record", in_session.first.pk), {"outcome": "approve"}, **HX
    )

    assert response.status_code == 200
    assert "Quorum not met on Support summarizer: 2 of the 3 votes needed." in _body(response)
    assert not Decision.objects.exists()


def test_the_chair_records_the_decision_once_the_quorum_has_voted(cast, login, in_session, votes):
    votes(in_session.first, 3)

    response = login(cast.chair).post(
        _url("decision_record", in_session.first.pk),
        {"outcome": "approve", "amount": "8000", "note": "Go."},
        **HX,
    )

    body = _body(response)
    assert "Decision recorded." in body and "$8,000.00</strong> approved" in body
    assert "Record decision" not in body
    decision = Decision.objects.get()
    assert (decision.outcome, decision.amount_approved) == (VoteChoice.APPROVE, Decimal("8000"))
    assert FundingRequest.objects.get(use_case=cast.use_case_a).status == FundingStatus.APPROVED


def test_an_amount_above_the_request_is_refused_on_its_field(cast, login, in_session, votes):
    votes(in_session.first, 3)

    response = login(cast.chair).post(
        _url("decision_record", in_session.first.pk), {"outcome": "approve", "amount": "12000"}, **HX
    )

    assert "Approve at most what was asked: 9,000.00 USD." in _body(response)
    assert not Decision.objects.exists()


def test_a_decision_that_lost_the_race_gets_a_conflict_message_and_one_decision_stays(
    cast, login, in_session, votes
):
    # Given the chair's page open with the decision form, and a decision recorded meanwhile (the other tab)
    item = votes(in_session.first, 3)
    client = login(cast.chair)
    assert "Record decision" in _body(client.get(_url("item_detail", item.pk)))
    services.decision_record(actor=cast.chair, item=item, outcome=VoteChoice.DEFER)

    # When the chair posts the form of the stale page
    response = client.post(_url("decision_record", item.pk), {"outcome": "approve"}, **HX)

    # Then a clear conflict, the decision that won, and still one decision
    assert response.status_code == 200
    body = _body(response)
    assert "A decision on Support summarizer was recorded meanwhile: reload the page." in body
    assert ">Defer</span>" in body
    assert Decision.objects.count() == 1


def test_without_htmx_a_vote_redirects_back_with_a_message(cast, login, in_session):
    response = login(cast.council).post(
        _url("vote_cast", in_session.first.pk), {"choice": "defer"}, follow=True
    )

    assert response.redirect_chain[-1][0] == _url("item_detail", in_session.first.pk)
    assert "Vote recorded." in _body(response)


def test_the_review_pack_is_frozen_once_published(cast, login, in_session):
    body = _body(login(cast.council).get(_url("item_detail", in_session.first.pk)))

    assert "Frozen" in body and "as the council saw it" in body
    assert "Actual against expected spend" in body and "Value signals against the KPIs" in body
    assert "Cost risks and anomalies" in body and "Optimization actions under way" in body
    assert "Stage and gate" in body and "$9,000.00" in body


# Funding requests and the owners' view.


def test_an_owner_asks_funding_for_the_next_milestone_only(cast, login):
    milestone = MilestoneFactory(
        use_case=cast.use_case_a, name="MVP in ten agents' hands", target_stage=Stage.MVP
    )
    client = login(cast.owner)
    url = _url("funding_request_create", "support-summarizer")
    assert "for reaching <strong>MVP</strong> only" in _body(client.get(url))

    response = client.post(
        url,
        {
            "target_stage": "mvp",
            "milestone": milestone.pk,
            "amount": "12000",
            "currency": "USD",
            "period_start": "2027-01-01",
            "period_end": "2027-03-31",
            "expected_outcomes": "Ten agents use it daily.",
        },
        follow=True,
    )

    assert "Funding request sent" in _body(response)
    request = FundingRequest.objects.get(use_case=cast.use_case_a)
    assert (request.status, request.target_stage, request.amount) == ("submitted", "mvp", Decimal("12000"))
    assert request.milestone == milestone


def test_a_funding_request_with_a_bad_period_names_the_field(cast, login):
    response = login(cast.owner).post(
        _url("funding_request_create", "support-summarizer"),
        {
            "target_stage": "mvp",
            "amount": "12000",
            "currency": "USD",
            "period_start": "2027-03-01",
            "period_end": "2027-01-31",
            "expected_outcomes": "Ten agents use it daily.",
        },
    )

    assert response.status_code == 200
    assert response.context["form"].errors["period_end"] == ["The period ends on or after the day it starts."]
    assert not FundingRequest.objects.exists()


def test_only_the_owners_ask_for_funding(cast, login):
    url = _url("funding_request_create", "support-summarizer")

    assert login(cast.requester_a).get(url).status_code == 403
    assert login(cast.requester_b).get(url).status_code == 404


def test_an_owner_sees_where_their_items_stand(cast, login, in_session, votes):
    votes(in_session.first, 3)
    services.decision_record(
        actor=cast.chair,
        item=in_session.first,
        outcome=VoteChoice.APPROVE_WITH_CONDITIONS,
        conditions="Weekly report",
    )

    response = login(cast.owner).get(_url("my_items"))

    body = _body(response)
    assert "Where my items stand" in body
    assert "Support summarizer" in body and "Approve with conditions" in body and "$9,000.00" in body
    assert "Campaign writer" not in body
    # the owner's way in, in the navigation, marked as the page they are on
    assert f'href="{_url("my_items")}" aria-current="page">Council</a>' in body


def test_the_decision_log_is_read_by_whoever_sees_the_use_case(cast, login, in_session, votes):
    votes(in_session.first, 3)
    services.decision_record(
        actor=cast.chair, item=in_session.first, outcome=VoteChoice.REJECT, note="Not yet."
    )
    url = _url("use_case_history", "support-summarizer")

    response = login(cast.requester_a).get(url)
    use_case_page = _body(
        login(cast.requester_a).get(reverse("portfolio:use_case_tab_gates", args=["support-summarizer"]))
    )

    assert response.status_code == 200
    assert "Reject" in _body(response) and "Not yet." in _body(response)
    assert url in use_case_page and "Decision history" in use_case_page
    assert login(cast.requester_b).get(url).status_code == 404


# The output of a meeting.


def _decide_both(cast, in_session, votes):
    votes(in_session.first, 3)
    votes(in_session.second, 3, VoteChoice.REJECT)
    services.decision_record(
        actor=cast.chair,
        item=in_session.first,
        outcome=VoteChoice.APPROVE_WITH_CONDITIONS,
        conditions='=HYPERLINK("http://evil")\nReport monthly',
    )
    services.decision_record(actor=cast.chair, item=in_session.second, outcome=VoteChoice.REJECT)


def test_the_approved_spend_list_shows_amounts_milestones_conditions_and_prints(
    cast, login, in_session, votes
):
    _decide_both(cast, in_session, votes)

    body = _body(login(cast.finance).get(_url("meeting_output", in_session.pk)))

    assert "Approved spend list" in body and '<style media="print">' in body
    assert "Support summarizer" in body and "$9,000.00" in body and "Report monthly" in body
    assert "Total approved" in body
    # the rejected item is a decision, not approved spend
    table = body.split('id="approved-spend"')[1].split("</table>")[0]
    assert "Campaign writer" not in table
    assert "Campaign writer" in body


def test_the_csv_export_cannot_run_formulas(cast, login, in_session, votes):
    _decide_both(cast, in_session, votes)

    response = login(cast.chair).get(_url("approved_spend_csv", in_session.pk))

    assert response["Content-Type"].startswith("text/csv")
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0].startswith("row,use_case,use_case_name,team,decision,amount,currency,milestone")
    assert len(lines) == 1 + 2 + 3  # the header, the conditions cell spans two lines, three totals
    assert lines[1].startswith("approval,support-summarizer") and "9000.00" in lines[1]
    assert '"\'=HYPERLINK(""http://evil"")' in lines[1]


def test_the_csv_carries_the_totals_by_team_and_by_period_like_the_page(cast, login, in_session, votes):
    # Given approvals of two teams: two in dollars for one month, one in euros for the next
    start = in_session.scheduled_for.date().replace(day=1)
    end = (start + datetime.timedelta(days=31)).replace(day=1) - datetime.timedelta(days=1)
    later, last = end + datetime.timedelta(days=1), end + datetime.timedelta(days=28)
    for position, (team, currency, amount, period) in enumerate(
        (
            (cast.team_a, "USD", "9000", (start, end)),
            (cast.team_b, "USD", "1000", (start, end)),
            (cast.team_b, "EUR", "500", (later, last)),
        ),
        start=3,
    ):
        item = AgendaItemFactory(
            meeting=in_session, use_case=UseCaseFactory(team=team, currency=currency), position=position
        )
        votes(item, 3)
        services.decision_record(
            actor=cast.chair,
            item=item,
            outcome=VoteChoice.APPROVE,
            amount=Decimal(amount),
            period_start=period[0],
            period_end=period[1],
        )

    response = login(cast.finance).get(_url("approved_spend_csv", in_session.pk))

    # Then the totals follow the approvals, each line marked, one per currency
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    kinds = [r["row"] for r in rows]
    assert kinds == ["approval"] * 3 + ["total by team"] * 3 + ["total by period"] * 2 + ["total"] * 2
    totals = [(r["team"], r["period_start"], r["period_end"], r["amount"], r["currency"]) for r in rows[3:]]
    assert totals == [
        (cast.team_b.name, "", "", "500.00", "EUR"),
        (cast.team_b.name, "", "", "1000.00", "USD"),
        (cast.team_a.name, "", "", "9000.00", "USD"),
        ("", start.isoformat(), end.isoformat(), "10000.00", "USD"),
        ("", later.isoformat(), last.isoformat(), "500.00", "EUR"),
        ("", "", "", "500.00", "EUR"),
        ("", "", "", "10000.00", "USD"),
    ]


# Queries stay constant as the agenda grows.


def test_the_meeting_page_reads_in_a_constant_number_of_queries(
    cast, login, in_session, django_assert_max_num_queries
):
    client = login(cast.chair)
    client.get(_url("meeting_detail", in_session.pk))  # warm the caches (sessions, content types)
    for n in range(6):
        AgendaItemFactory(meeting=in_session, use_case=UseCaseFactory(team=cast.team_a), position=3 + n)

    # (22: the active seats are counted once, for the quorum rule; the chair's close step reads the
    # waiting items, the next draft meeting and the latest meeting's date once each; the spend
    # converted into the reporting currency reads the setting and the sums by currency and day once)
    with django_assert_max_num_queries(22):
        response = client.get(_url("meeting_detail", in_session.pk))

    assert len(response.context["rows"]) == 8
    assert len(response.context["close_preview"].waiting) == 8


def test_the_home_page_reads_in_a_constant_number_of_queries(
    cast, login, meeting, django_assert_max_num_queries
):
    for n in range(6):
        AgendaItemFactory(meeting=meeting, use_case=UseCaseFactory(team=cast.team_a), position=3 + n)
    client = login(cast.council)

    with django_assert_max_num_queries(11):
        response = client.get(HOME)

    assert len(response.context["rows"]) == 8


def test_the_standing_sections_follow_the_meeting_kind(cast, login, board):
    quarterly = Meeting.objects.create(
        council=board,
        kind="quarterly_review",
        scheduled_for=datetime.datetime(2026, 1, 15, 15, tzinfo=datetime.UTC),
    )
    extraordinary = Meeting.objects.create(
        council=board,
        kind="extraordinary",
        scheduled_for=datetime.datetime(2026, 1, 16, 15, tzinfo=datetime.UTC),
    )
    client = login(cast.council)

    q = _body(client.get(_url("meeting_detail", quarterly.pk)))
    e = _body(client.get(_url("meeting_detail", extraordinary.pk)))

    assert "Standing sections: quarterly review" in q and "Commitments and renewals" in q
    assert "Portfolio allocation" in q and "Oct 2025 \u2013 Dec 2025" in q
    assert "Standing sections" not in e


def test_the_standing_anomalies_link_to_all_the_unresolved_high_ones(cast, login, board):
    # Given seven high anomalies not resolved (one acknowledged), more than the section lists,
    # and others it does not count: a resolved high one and an open low one
    use_case = UseCaseFactory(team=cast.team_a)
    for n in range(7):
        AnomalyFactory(use_case=use_case, status=AnomalyStatus.ACKNOWLEDGED if n == 0 else AnomalyStatus.OPEN)
    AnomalyFactory(use_case=use_case, status=AnomalyStatus.RESOLVED)
    AnomalyFactory(use_case=use_case, severity=Severity.LOW)
    monthly = Meeting.objects.create(
        council=board,
        kind="monthly_operating_review",
        scheduled_for=datetime.datetime(2026, 1, 15, 15, tzinfo=datetime.UTC),
    )
    client = login(cast.council)

    # When a member opens the meeting
    body = _body(client.get(_url("meeting_detail", monthly.pk)))

    # Then the anomalies it lists lead to the whole list, which has as many as it says
    found = re.search(r'High, not resolved: <a href="([^"]+)" class="small">See all \((\d+)\)</a>', body)
    assert found, "the standing anomalies link to the anomaly list"
    assert found.group(2) == "7"
    listed = client.get(found.group(1).replace("&amp;", "&"))
    assert listed.status_code == 200
    assert listed.context["page"].paginator.count == 7


def test_the_council_home_sees_all_of_its_meetings(cast, login, in_session):
    client = login(cast.chair)

    body = client.get(HOME).content.decode()

    found = re.search(r'<a href="([^"]+)" class="small">See all \((\d+)\)</a>', body)
    assert found, "the meetings card links to the meeting list"
    listed = client.get(found.group(1).replace("&amp;", "&"))
    assert listed.status_code == 200
    assert len(listed.context["meetings"]) == int(found.group(2)) >= 1
    assert {m.council_id for m in listed.context["meetings"]} == {listed.context["council"].pk}


@pytest.mark.parametrize("council", ["", "0", "999999", "1%00", "%ED%A0%80", "9" * 500, "-1"])
def test_a_meeting_list_of_no_council_is_refused_naming_the_field(cast, login, in_session, council):
    response = login(cast.chair).get(reverse("council:meeting_list") + f"?council={council}")

    assert response.status_code == 400
    assert "“council” names no council" in response.content.decode()
