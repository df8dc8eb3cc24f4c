"""An intake that triage sends to review goes through the council: on the next agenda (once,
carried over while undecided), with its own pack; the decision comes back to the intake and its
requester. And the words: quorum, minutes and history in people's names and plain labels."""

import datetime
import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from aifinops.core.exceptions import ConflictError
from aifinops.core.models import AuditEvent, Notification
from aifinops.core.selectors import audit_events_for
from aifinops.dashboard.waiting import waiting_items
from council import selectors
from council.models import AgendaItem, AgendaItemStatus, Decision, Meeting, MeetingState, VoteChoice
from council.services import (
    agenda_build,
    decision_record,
    meeting_close,
    meeting_publish,
    meeting_start,
    vote_cast,
)
from council.triggers import Code
from intake.models import IntakeRequest, IntakeStatus
from intake.services import intake_accept, intake_reject, intake_save, intake_submit
from portfolio.choices import MilestoneStatus, Stage
from portfolio.models import Milestone

pytestmark = pytest.mark.django_db


@pytest.fixture
def high_risk_intake(cast):
    """A customer-facing agent touching personal data, submitted by requester A: triage sends it
    to review."""
    intake = intake_save(
        actor=cast.requester_a,
        values={
            "name": "Refund agent",
            "proposed_key": "refund-agent",
            "purpose": "Answer customers' refund requests and issue small refunds",
            "problem": "Refund tickets wait two days",
            "team": cast.team_a,
            "business_owner": cast.owner,
            "technical_owner": cast.requester_a,
            "user_audience": "external",
            "expected_users": 5000,
            "data_classification": "confidential",
            "personal_data": True,
            "customer_impact": "customer_facing",
            "unlisted_model": "Acme refund model",
            "task_kind": "drafting",
            "expected_monthly_cost": Decimal("2000"),
            "currency": "USD",
            "value_metric": "Refund tickets closed",
            "value_per_outcome": Decimal("3"),
            "outcomes_per_month": 4000,
            "success_metric": "Refund tickets closed within the hour",
            "autonomy_level": "supervised_agent",
            "tool_permissions": "read orders\nissue refunds under 50 USD",
            "external_actions": True,
            "run_frequency": "continuous",
            "requested_spend_cap": Decimal("2500"),
            "cost_center": "CS-100",
            "tags": {"function": "customer_support", "workflow": "refunds"},
        },
    )
    intake = intake_submit(actor=cast.requester_a, intake=intake)
    assert (intake.status, intake.review_path) == (IntakeStatus.TRIAGED, "review")
    return intake


def _in_session(board, meeting):
    meeting = meeting_publish(actor=board.chair, meeting=meeting)
    return meeting_start(actor=board.chair, meeting=meeting)


def _vote(board, item, choices, conditions=""):
    for seat, choice in zip(board.seats, choices, strict=False):
        vote_cast(
            actor=seat.user,
            item=item,
            choice=choice,
            conditions=conditions if choice == VoteChoice.APPROVE_WITH_CONDITIONS else "",
        )


def test_an_intake_sent_to_review_is_on_the_next_agenda_once_with_its_pack(board, high_risk_intake, cast):
    # When the agenda is built, twice
    first = agenda_build(council=board)
    again = agenda_build(council=board)

    # Then the intake is one item of the draft, for the intake's reason, and the second build adds nothing
    items = list(first.meeting.items.all())
    assert [(i.intake_id, i.use_case_id) for i in items] == [(high_risk_intake.pk, None)]
    assert [r["code"] for r in items[0].reasons] == [Code.INTAKE_WAITING]
    assert "personal data" in items[0].reasons[0]["detail"].lower()
    assert items[0].amount_at_stake == Decimal("2000")
    assert not again.changed

    # And its pack holds the answers, the triage reasons, expected cost and value
    pack = selectors.item_review_pack(item=items[0])
    assert pack["kind"] == "intake"
    answers = {a["label"]: a["value"] for a in pack["answers"]}
    assert answers["Customer impact"] == "Customer-facing"
    assert answers["Personal data"] == "Yes"
    assert pack["expected"] == pack["expected"] | {"monthly_cost": "2000.00", "monthly_value": "12000.00"}
    assert pack["triage"]["reasons"] and all(isinstance(r, str) for r in pack["triage"]["reasons"])
    assert pack["similar"][0]["name"] == cast.use_case_a.name  # same team

    # And the requester was told which meeting, when, and who chairs it
    note = Notification.objects.filter(
        recipient=cast.requester_a, subject__contains="on the council's agenda"
    ).get()
    assert f"{board.chair.get_full_name()}" in note.body
    assert f"{first.meeting.scheduled_for:%-d %B %Y}" in note.body
    assert "first milestone" in note.body


def test_an_undecided_intake_carries_over_to_the_next_meeting(board, high_risk_intake):
    meeting = _in_session(board, agenda_build(council=board).meeting)

    # When the meeting closes without a decision on it
    meeting_close(actor=board.chair, meeting=meeting, confirm=True)

    # Then the intake is on the next draft, pointing back, and building it again adds nothing
    old = meeting.items.get()
    assert old.status == AgendaItemStatus.CARRIED_OVER
    nxt = AgendaItem.objects.get(meeting__state=MeetingState.DRAFT)
    assert (nxt.intake_id, nxt.carried_from_id) == (high_risk_intake.pk, old.pk)
    assert not agenda_build(council=board).changed
    assert AgendaItem.objects.filter(intake=high_risk_intake, meeting=nxt.meeting).count() == 1


def test_approval_registers_the_use_case_with_its_first_milestone_funded(board, high_risk_intake, cast):
    item = agenda_build(council=board).meeting.items.get()
    _in_session(board, item.meeting)
    _vote(
        board,
        item,
        [VoteChoice.APPROVE_WITH_CONDITIONS] * 3,
        conditions="Human review of refunds over 20 USD",
    )

    decision = decision_record(actor=board.chair, item=item, outcome=VoteChoice.APPROVE_WITH_CONDITIONS)

    # Then the intake is accepted into a Concept use case, the item now its use case's
    high_risk_intake.refresh_from_db()
    use_case = high_risk_intake.use_case
    assert high_risk_intake.status == IntakeStatus.ACCEPTED
    assert use_case.stage == Stage.CONCEPT
    item.refresh_from_db()
    assert item.use_case == use_case and item.status == AgendaItemStatus.DECIDED
    # And the first milestone is funded: three months of the expected cost, its period recorded
    assert decision.amount_approved == Decimal("6000")
    assert decision.milestone.use_case == use_case
    assert decision.milestone.target_stage == Stage.MVP
    assert decision.period_end == decision.milestone.due_date
    assert use_case.stage_approvals.filter(target_stage=Stage.MVP, source="council_decision").exists()
    # And the condition is a milestone
    assert Milestone.objects.filter(
        use_case=use_case,
        name="Council condition: Human review of refunds over 20 USD",
        status=MilestoneStatus.PENDING,
    ).exists()
    # And the requester is told, with the amount, milestone and period
    note = Notification.objects.filter(recipient=cast.requester_a, subject__contains="accepted").get()
    assert "6,000.00 USD" in note.body and "First milestone" in note.body
    assert "Human review of refunds over 20 USD" in note.body
    # And the approved spend list names use case, milestone, period and amount
    row = selectors.approved_spend_list(meeting=item.meeting)[0]
    assert (row.use_case, row.milestone, row.amount) == (use_case, decision.milestone.name, Decimal("6000"))
    assert (row.period_start, row.period_end) == (decision.period_start, decision.period_end)
    # And the next agenda does not bring the decided intake back
    assert (
        not agenda_build(council=board).changed
        or not AgendaItem.objects.filter(meeting__state=MeetingState.DRAFT, intake=high_risk_intake).exists()
    )


def test_rejection_needs_reasons_and_they_reach_the_requester(board, high_risk_intake, cast):
    item = agenda_build(council=board).meeting.items.get()
    _in_session(board, item.meeting)
    _vote(board, item, [VoteChoice.REJECT] * 3)

    # A rejection without reasons is refused, naming the field
    with pytest.raises(ValidationError) as refused:
        decision_record(actor=board.chair, item=item, outcome=VoteChoice.REJECT)
    assert "note" in refused.value.message_dict
    # So is a sunset: an intake is no use case yet
    with pytest.raises(ValidationError) as refused:
        decision_record(actor=board.chair, item=item, outcome=VoteChoice.SUNSET, note="x")
    assert "outcome" in refused.value.message_dict

    decision_record(
        actor=board.chair,
        item=item,
        outcome=VoteChoice.REJECT,
        note="Refunds need a human in the loop first.",
    )

    high_risk_intake.refresh_from_db()
    assert high_risk_intake.status == IntakeStatus.REJECTED
    assert "Refunds need a human in the loop first." in high_risk_intake.decision_note
    note = Notification.objects.filter(recipient=cast.requester_a, subject__contains="rejected").get()
    assert "Refunds need a human in the loop first." in note.body
    assert high_risk_intake.use_case is None


def test_the_quorum_reads_against_the_votes_and_the_seats(board, high_risk_intake, cast, login):
    item = agenda_build(council=board).meeting.items.get()
    _in_session(board, item.meeting)
    _vote(board, item, [VoteChoice.APPROVE] * 2)

    board.chair.refresh_from_db()  # the cast re-saved the chair's password after the board was made
    response = login(board.chair).get(f"/council/items/{item.pk}/")
    assert response.status_code == 200, response
    body = response.content.decode()
    assert "2 of the 3 votes needed, 1 more to go" in body
    assert "The council has 4 active members." in body
    body = login(board.chair).get(f"/council/meetings/{item.meeting.pk}/").content.decode()
    assert "2 of the 3 votes needed" in body
    assert "quorum: 3 of the 4 active members" in body


def test_the_minutes_name_people_and_say_decisions_in_words(board, high_risk_intake):
    item = agenda_build(council=board).meeting.items.get()
    meeting = _in_session(board, item.meeting)
    _vote(
        board,
        item,
        [VoteChoice.APPROVE, VoteChoice.APPROVE_WITH_CONDITIONS, VoteChoice.APPROVE],
        "Monthly report",
    )
    decision_record(actor=board.chair, item=item, outcome=VoteChoice.APPROVE_WITH_CONDITIONS)

    meeting = meeting_close(actor=board.chair, meeting=meeting, confirm=True)

    minutes = meeting.minutes
    assert "approve_with_conditions" not in minutes
    for seat in board.seats[:3]:
        assert seat.user.get_full_name() in minutes
        assert not re.search(rf"\b{re.escape(seat.user.username)}\b", minutes)
    assert "approve with conditions" in minutes
    assert "First milestone" in minutes


def test_the_intake_history_and_page_speak_plainly(board, high_risk_intake, cast, login):
    agenda_build(council=board)

    rows = audit_events_for(high_risk_intake)
    texts = " ".join(
        f"{r.who} {r.what} " + " ".join(f"{label} {old} {new}" for label, old, new in r.changes) for r in rows
    )
    assert "Triaged" in texts and "Submitted" in texts
    assert cast.requester_a.get_full_name() in texts
    assert "customer_facing" not in texts and "'code'" not in texts and "{" not in texts

    body = login(cast.requester_a).get(f"/intake/{high_risk_intake.pk}/").content.decode()
    assert "intake.triage" not in body and "customer_facing" not in body and "[{" not in body
    assert board.chair.get_full_name() in body
    assert "On the agenda of the" in body


def test_an_unknown_decision_amount_is_refused_on_the_field(board, high_risk_intake, login):
    item = agenda_build(council=board).meeting.items.get()
    _in_session(board, item.meeting)
    _vote(board, item, [VoteChoice.APPROVE] * 3)
    board.chair.refresh_from_db()
    client = login(board.chair)
    for bad in ("\x00", "-5", "1e400", "9" * 40):
        response = client.post(f"/council/items/{item.pk}/decide/", {"outcome": "approve", "amount": bad})
        assert response.status_code in (302, 200)
    response = client.post(
        f"/council/items/{item.pk}/decide/",
        {"outcome": "approve", "period_start": "2027-03-01", "period_end": "2027-01-01"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "The period ends on or after the day it starts." in response.content.decode()
    assert not Decision.objects.exists()


def test_my_items_lists_the_intakes_on_an_agenda_for_their_requester_and_owners(
    cast, board, high_risk_intake, login
):
    meeting = agenda_build(actor=board.chair, council=board).meeting
    item = meeting.items.get(intake=high_risk_intake)

    pages = {who: login(getattr(cast, who)).get("/council/mine/") for who in ("requester_a", "owner")}
    stranger = login(cast.requester_b).get("/council/mine/").content.decode()

    for who, response in pages.items():
        body = response.content.decode()
        assert f"/council/items/{item.pk}/" in body, who
        assert f"{high_risk_intake.reference} Refund agent (intake)" in body, who
        assert f'href="{high_risk_intake.get_absolute_url()}"' in body, who
    assert 'href="/council/mine/"' in pages["requester_a"].content.decode()  # in the navigation bar
    assert 'href="/council/"' not in pages["requester_a"].content.decode()  # the council's home is not theirs
    assert "Refund agent" not in stranger


# An intake decided on its own page while it waits on an agenda: the item follows.


def test_accepting_on_the_intake_page_takes_the_intake_off_the_agenda(board, high_risk_intake, login):
    item = agenda_build(council=board).meeting.items.get()
    meeting = _in_session(board, item.meeting)

    # The chair's intake page warns before deciding outside the council
    board.chair.refresh_from_db()  # the cast re-saved the chair's password after the board was made
    body = login(board.chair).get(f"/intake/{high_risk_intake.pk}/").content.decode()
    assert (
        f"It is on the agenda of the monthly operating review of the AI Investment Council on "
        f"{meeting.scheduled_for:%-d %B %Y}; deciding here takes it off." in body
    )

    # When the chair accepts it on the intake page
    intake_accept(actor=board.chair, intake=high_risk_intake, note="Urgent: accepted directly.")

    # Then its item is taken off, in words naming who decided where, and audited
    item.refresh_from_db()
    name = board.chair.get_full_name()
    assert item.status == AgendaItemStatus.WITHDRAWN
    assert item.closed_note.startswith(f"Decided on the intake page by {name} on ")
    event = AuditEvent.objects.get(action="agenda_item.withdraw", object_id=str(item.pk))
    assert (event.actor, event.before["status"], event.after["status"]) == (board.chair, "open", "withdrawn")
    assert event.after["intake_outcome"] == "accepted"

    # The meeting page says so, and the council can no longer decide it
    page = login(board.chair).get(f"/council/meetings/{meeting.pk}/").content.decode()
    assert f"Decided on the intake page by {name} on " in page
    assert "no vote: taken off" in page
    with pytest.raises(ConflictError):
        decision_record(actor=board.chair, item=item, outcome=VoteChoice.APPROVE, note="x")
    # The intake page no longer says it waits on the agenda
    high_risk_intake.refresh_from_db()
    body = login(board.chair).get(f"/intake/{high_risk_intake.pk}/").content.decode()
    assert "deciding here takes it off" not in body and "On the agenda of the" not in body

    # And closing the meeting carries nothing over; building the next agenda brings nothing back
    meeting_close(actor=board.chair, meeting=meeting, confirm=True)
    assert not AgendaItem.objects.filter(meeting__state=MeetingState.DRAFT, intake=high_risk_intake).exists()
    agenda_build(council=board)
    assert not AgendaItem.objects.filter(intake=high_risk_intake, status=AgendaItemStatus.OPEN).exists()


def test_rejecting_a_deferred_intake_on_its_page_stops_its_carry_over(board, high_risk_intake):
    item = agenda_build(council=board).meeting.items.get()
    meeting = _in_session(board, item.meeting)
    _vote(board, item, [VoteChoice.DEFER] * 3)
    decision_record(actor=board.chair, item=item, outcome=VoteChoice.DEFER, note="Needs a security review.")

    # When the chair rejects it on the intake page before the meeting closes
    intake_reject(actor=board.chair, intake=high_risk_intake, reason="Out of scope this year.", confirm=True)

    # Then the deferred item is taken off, and closing the meeting carries nothing over
    item.refresh_from_db()
    assert item.status == AgendaItemStatus.WITHDRAWN
    assert "(rejected)" in item.closed_note
    meeting = meeting_close(actor=board.chair, meeting=meeting, confirm=True)
    assert "Carried over" not in meeting.minutes
    assert f"{board.chair.get_full_name()} on " in meeting.minutes
    assert not agenda_build(council=board).carried
    assert AgendaItem.objects.filter(intake=high_risk_intake).count() == 1


def test_an_intake_decided_before_the_receiver_existed_is_not_carried_by_the_builder(board, high_risk_intake):
    # An older row: the item stayed open on a closed meeting while the intake was rejected
    item = agenda_build(council=board).meeting.items.get()
    meeting = _in_session(board, item.meeting)
    IntakeRequest.objects.filter(pk=high_risk_intake.pk).update(status=IntakeStatus.REJECTED)
    Meeting.objects.filter(pk=meeting.pk).update(state=MeetingState.CLOSED)

    assert not agenda_build(council=board).carried
    item.refresh_from_db()
    assert item.status == AgendaItemStatus.OPEN


def test_the_days_waiting_count_from_the_first_item_of_a_carried_chain(board, high_risk_intake, cast):
    first = agenda_build(council=board).meeting.items.get()
    meeting_close(actor=board.chair, meeting=_in_session(board, first.meeting), confirm=True)
    second = AgendaItem.objects.get(carried_from=first)
    meeting_close(actor=board.chair, meeting=_in_session(board, second.meeting), confirm=True)
    third = AgendaItem.objects.get(carried_from=second)
    now = timezone.now()
    AgendaItem.objects.filter(pk=first.pk).update(created_at=now - datetime.timedelta(days=20))
    AgendaItem.objects.filter(pk=second.pk).update(created_at=now - datetime.timedelta(days=9))

    # One query for all the chains
    with CaptureQueriesContext(connection) as queries:
        since = selectors.waiting_since([third.pk, first.pk])
    assert len(queries) == 1
    assert since[third.pk] == since[first.pk] == now - datetime.timedelta(days=20)

    # The dashboard's "decisions waiting" counts the days from the first meeting
    rows = [w for w in waiting_items(user=cast.admin, now=now) if w.kind == "Council item"]
    assert [(w.url, w.days) for w in rows] == [(f"/council/items/{third.pk}/", 20)]
