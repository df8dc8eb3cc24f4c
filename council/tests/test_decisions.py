"""Funding requests, votes and decisions: quorum, no proxies, what each decision does to stages and
budgets, and two decisions at once on one item."""

import datetime
import threading
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from aifinops.core import periods
from aifinops.core.exceptions import ConflictError, Unprocessable
from aifinops.core.models import AuditEvent
from aifinops.core.tests.factories import UserFactory
from council import selectors
from council.models import (
    AgendaItem,
    AgendaItemStatus,
    Decision,
    FundingRequest,
    FundingStatus,
    Meeting,
    MeetingState,
    Vote,
    VoteChoice,
)
from council.services import (
    agenda_build,
    decision_record,
    funding_request_save,
    funding_request_submit,
    funding_request_withdraw,
    meeting_close,
    meeting_publish,
    meeting_start,
    vote_cast,
)
from council.tests.factories import (
    CouncilFactory,
    CouncilMemberFactory,
    FundingRequestFactory,
    MilestoneFactory,
)
from portfolio.choices import GateItemStatus, Stage
from portfolio.gates import rules as gates
from portfolio.gates.services import use_case_move
from portfolio.models import GateItemState, Milestone, StageApproval, UseCase
from portfolio.tests.factories import UseCaseFactory
from showback.models import Budget, BudgetScope
from showback.tests.budget_factories import BudgetFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(db):
    return UserFactory(username="uc-owner", roles=["use_case_owner"])


@pytest.fixture
def pilot(owner):
    """A pilot owned by `owner`, asking for the launch's funding: 30,000 USD over three months."""
    use_case = UseCaseFactory(
        key="ticket-triage", name="Ticket triage", stage=Stage.PILOT, business_owner=owner
    )
    FundingRequestFactory(
        use_case=use_case,
        target_stage=Stage.LAUNCH,
        amount=Decimal("30000"),
        period_start=datetime.date(2027, 1, 1),
        period_end=datetime.date(2027, 3, 31),
        requested_by=owner,
    )
    return use_case


@pytest.fixture
def session(board, pilot):
    """The board's meeting in session, with the pilot on its agenda."""
    meeting = agenda_build(council=board).meeting
    meeting = meeting_publish(actor=board.chair, meeting=meeting)
    meeting = meeting_start(actor=board.chair, meeting=meeting)
    return meeting


@pytest.fixture
def item(session, pilot):
    return session.items.get(use_case=pilot)


def _votes(item, board, choices, conditions=""):
    for seat, choice in zip(board.seats, choices, strict=False):
        vote_cast(
            actor=seat.user,
            item=item,
            choice=choice,
            conditions=conditions if choice == VoteChoice.APPROVE_WITH_CONDITIONS else "",
        )


def _gate_open_for(use_case, stage):
    """Mark every item of the stage's gate not applicable, so only the council's approval is missing."""
    for gate_item in gates.items_for(stage):
        GateItemState.objects.create(
            use_case=use_case, code=gate_item.code, status=GateItemStatus.NOT_APPLICABLE, reason="Test."
        )


# Funding requests.


def test_an_owner_asks_for_the_next_milestone(owner):
    use_case = UseCaseFactory(stage=Stage.MVP, business_owner=owner)
    milestone = MilestoneFactory(use_case=use_case, target_stage=Stage.PILOT)

    request = funding_request_submit(
        actor=owner,
        use_case=use_case,
        values={
            "target_stage": Stage.PILOT,
            "milestone": milestone,
            "amount": "12000.00",
            "period_start": datetime.date(2027, 1, 1),
            "period_end": datetime.date(2027, 2, 28),
            "expected_outcomes": "Fifty agents use it daily.",
        },
    )

    assert (request.status, request.amount, request.currency, request.period_months) == (
        FundingStatus.SUBMITTED,
        Decimal("12000.00"),
        "USD",
        2,
    )
    assert list(AuditEvent.objects.for_object(request).values_list("action", flat=True)) == [
        "funding_request.submit",
        "funding_request.create",
    ]


def test_a_request_beyond_the_next_milestone_is_refused(owner):
    use_case = UseCaseFactory(stage=Stage.MVP, business_owner=owner)

    with pytest.raises(ValidationError) as refused:
        funding_request_submit(
            actor=owner,
            use_case=use_case,
            values={
                "target_stage": Stage.LAUNCH,
                "amount": "50000",
                "period_start": datetime.date(2027, 1, 1),
                "period_end": datetime.date(2027, 6, 30),
                "expected_outcomes": "Everything.",
            },
        )

    assert refused.value.message_dict["target_stage"] == [
        f"Ask for the next milestone only: {use_case.name} is at MVP, so the request is for Pilot."
    ]
    assert not FundingRequest.objects.exists()


def test_only_the_owners_ask_for_funding_and_one_request_waits_at_a_time(owner, pilot):
    values = {
        "target_stage": Stage.LAUNCH,
        "amount": "1000",
        "period_start": datetime.date(2027, 1, 1),
        "period_end": datetime.date(2027, 1, 31),
        "expected_outcomes": "More.",
    }
    with pytest.raises(PermissionDenied):
        funding_request_save(actor=UserFactory(), use_case=pilot, values=values)
    with pytest.raises(ValidationError, match="already has a funding request waiting"):
        funding_request_submit(actor=owner, use_case=pilot, values=values)

    waiting = FundingRequest.objects.get(use_case=pilot, status=FundingStatus.SUBMITTED)
    funding_request_withdraw(actor=owner, request=waiting)
    assert (
        funding_request_submit(actor=owner, use_case=pilot, values=values).status == FundingStatus.SUBMITTED
    )


# Votes.


def test_members_vote_for_themselves_and_may_change_their_vote(board, item):
    member = board.seats[1]

    vote_cast(actor=member.user, item=item, choice=VoteChoice.DEFER, comment="Need the unit economics.")
    vote_cast(actor=member.user, item=item, choice=VoteChoice.APPROVE)

    vote = Vote.objects.get(item=item)
    assert (vote.member, vote.choice, vote.comment) == (member, VoteChoice.APPROVE, "")
    actions = list(AuditEvent.objects.for_object(vote).order_by("id").values_list("action", flat=True))
    assert actions == ["vote.cast", "vote.change"]


def test_there_are_no_proxy_votes(board, item):
    # Given someone who holds no seat, and a member whose seat is inactive
    outsider = UserFactory(username="outsider", roles=["council_member"])
    inactive = board.seats[3]
    inactive.is_active = False
    inactive.save()
    # And a member of another council
    elsewhere = CouncilMemberFactory(council=CouncilFactory(), user=UserFactory(username="other-council"))

    # Then none of them can vote, and a vote always counts for the voter's own seat
    for user in (outsider, inactive.user, elsewhere.user):
        with pytest.raises(PermissionDenied, match="no proxies"):
            vote_cast(actor=user, item=item, choice=VoteChoice.APPROVE)
    vote = vote_cast(actor=board.seats[1].user, item=item, choice=VoteChoice.APPROVE)
    assert vote.member == board.seats[1]
    assert Vote.objects.count() == 1


def test_votes_are_cast_only_in_session(board, pilot):
    meeting = agenda_build(council=board).meeting
    item = meeting.items.get(use_case=pilot)

    with pytest.raises(ConflictError, match="in session; it is draft"):
        vote_cast(actor=board.seats[1].user, item=item, choice=VoteChoice.APPROVE)


def test_approving_with_conditions_needs_the_conditions(board, item):
    with pytest.raises(ValidationError) as refused:
        vote_cast(actor=board.seats[1].user, item=item, choice=VoteChoice.APPROVE_WITH_CONDITIONS)

    assert refused.value.message_dict == {"conditions": ["Say which conditions the approval comes with."]}


# Decisions: quorum and who records them.


def test_a_decision_needs_a_quorum_of_votes(board, item):
    _votes(item, board, [VoteChoice.APPROVE] * 2)

    with pytest.raises(Unprocessable, match=r"Quorum not met on Ticket triage: 2 of the 3 votes needed\."):
        decision_record(actor=board.chair, item=item, outcome=VoteChoice.APPROVE)

    assert not Decision.objects.exists()


def test_votes_of_members_no_longer_active_do_not_count_toward_quorum(board, item):
    _votes(item, board, [VoteChoice.APPROVE] * 3)
    seat = board.seats[2]
    seat.is_active = False
    seat.save()

    with pytest.raises(Unprocessable, match="2 of the 3"):
        decision_record(actor=board.chair, item=item, outcome=VoteChoice.APPROVE)


def test_only_the_chair_records_a_decision(board, item):
    _votes(item, board, [VoteChoice.APPROVE] * 3)

    with pytest.raises(PermissionDenied):
        decision_record(actor=board.seats[1].user, item=item, outcome=VoteChoice.APPROVE)


# What decisions do.


def test_an_approval_funds_the_milestone_and_opens_the_stage_gate(board, item, pilot, owner):
    # Given a quorum approves the pilot's request for the launch
    _votes(item, board, [VoteChoice.APPROVE] * 3)
    _gate_open_for(pilot, Stage.LAUNCH)
    with pytest.raises(Unprocessable) as refused:
        use_case_move(actor=board.chair, use_case=pilot, target_stage=Stage.LAUNCH)
    assert [d["code"] for d in refused.value.details] == ["funding_approval"]

    # When the chair records the decision
    decision = decision_record(actor=board.chair, item=item, outcome=VoteChoice.APPROVE, note="Go.")

    # Then the request is approved, for its amount
    request = FundingRequest.objects.get(use_case=pilot)
    assert (request.status, decision.amount_approved, decision.funding_request) == (
        FundingStatus.APPROVED,
        Decimal("30000"),
        request,
    )
    # And the stage gate's review condition holds: an approval from the council's decision
    approval = StageApproval.objects.get(use_case=pilot)
    assert (approval.target_stage, approval.source, approval.reference, approval.amount) == (
        Stage.LAUNCH,
        "council_decision",
        f"decision:{decision.pk}",
        Decimal("30000"),
    )
    # And the approved amount, a month's share of it, is the use case's budget
    budget = Budget.objects.get(use_case=pilot)
    assert (budget.scope, budget.period, budget.amount, budget.owner) == (
        BudgetScope.USE_CASE,
        "monthly",
        Decimal("10000.00"),
        owner,
    )
    assert AuditEvent.objects.for_object(budget).get().after["authority"] == f"council decision {decision.pk}"
    # And the item is decided, with the decision audited
    assert AgendaItem.objects.get(pk=item.pk).status == AgendaItemStatus.DECIDED
    event = AuditEvent.objects.for_object(decision).get(action="decision.record")
    assert event.after["stage_approval"] == approval.pk
    assert event.after["votes"] == {s.user.username: "approve" for s in board.seats[:3]}

    # When the chair moves the use case, the decision carries it into launch
    use_case_move(actor=board.chair, use_case=UseCase.objects.get(pk=pilot.pk), target_stage=Stage.LAUNCH)
    assert UseCase.objects.get(pk=pilot.pk).stage == Stage.LAUNCH
    assert StageApproval.objects.get(pk=approval.pk).used_at is not None


def test_an_approval_of_less_than_asked_updates_the_existing_budget(board, item, pilot):
    budget = BudgetFactory(scope=BudgetScope.USE_CASE, use_case=pilot, amount=Decimal("2000"))
    _votes(item, board, [VoteChoice.APPROVE] * 3)
    with pytest.raises(ValidationError) as refused:
        decision_record(actor=board.chair, item=item, outcome=VoteChoice.APPROVE, amount="99999")
    assert refused.value.message_dict == {"amount": ["Approve at most what was asked: 30,000.00 USD."]}

    decision_record(actor=board.chair, item=item, outcome=VoteChoice.APPROVE, amount="15000")

    budget.refresh_from_db()
    assert budget.amount == Decimal("5000.00")
    assert Budget.objects.count() == 1


def test_conditions_become_milestones_due_by_the_next_meeting(board, item, pilot):
    _votes(item, board, [VoteChoice.APPROVE_WITH_CONDITIONS] * 3, conditions="Route to the small model")

    decision = decision_record(
        actor=board.chair,
        item=item,
        outcome=VoteChoice.APPROVE_WITH_CONDITIONS,
        conditions="Route routine tickets to the small model\nReport deflection monthly",
    )

    milestones = Milestone.objects.filter(use_case=pilot, name__startswith="Council condition").order_by("id")
    assert [m.name for m in milestones] == [
        "Council condition: Route routine tickets to the small model",
        "Council condition: Report deflection monthly",
    ]
    assert all(m.due_date > periods.today() for m in milestones)
    # The two conditions, and the milestone the approved money funds (the request named none).
    assert decision.milestone.name == "Reach Launch"
    assert AuditEvent.objects.filter(action="milestone.create", after__decision=decision.pk).count() == 3


def test_the_conditions_of_the_votes_are_used_when_the_chair_gives_none(board, item, pilot):
    _votes(item, board, [VoteChoice.APPROVE_WITH_CONDITIONS] * 3, conditions="Cache the prompt")

    decision = decision_record(actor=board.chair, item=item, outcome=VoteChoice.APPROVE_WITH_CONDITIONS)

    assert decision.conditions == "Cache the prompt"


def test_a_sunset_decision_moves_the_use_case_to_sunset(board, item, pilot):
    _votes(item, board, [VoteChoice.SUNSET] * 3)

    decision = decision_record(actor=board.chair, item=item, outcome=VoteChoice.SUNSET)

    assert UseCase.objects.get(pk=pilot.pk).stage == Stage.SUNSET
    move = AuditEvent.objects.for_object(pilot).get(action="use_case.move")
    assert move.after == {"stage": Stage.SUNSET, "decision": f"decision:{decision.pk}"}
    assert FundingRequest.objects.get(use_case=pilot).status == FundingStatus.REJECTED
    assert not StageApproval.objects.exists()


def test_a_rejection_rejects_the_funding_request(board, item, pilot):
    _votes(item, board, [VoteChoice.REJECT] * 3)

    decision_record(actor=board.chair, item=item, outcome=VoteChoice.REJECT, note="Not yet.")

    assert FundingRequest.objects.get(use_case=pilot).status == FundingStatus.REJECTED
    assert UseCase.objects.get(pk=pilot.pk).stage == Stage.PILOT
    assert not StageApproval.objects.exists()
    assert not Budget.objects.exists()


def test_a_deferred_item_comes_back_at_the_next_meeting(board, item, session, pilot):
    _votes(item, board, [VoteChoice.DEFER] * 3)
    decision_record(actor=board.chair, item=item, outcome=VoteChoice.DEFER)

    closed = meeting_close(actor=board.chair, meeting=session, confirm=True)

    nxt = Meeting.objects.get(state=MeetingState.DRAFT)
    again = nxt.items.get(use_case=pilot)
    assert again.carried_from_id == item.pk
    assert AgendaItem.objects.get(pk=item.pk).status == AgendaItemStatus.CARRIED_OVER
    assert FundingRequest.objects.get(use_case=pilot).status == FundingStatus.SUBMITTED
    assert "Ticket triage: Defer" in closed.minutes
    assert "Carried over to the" in closed.minutes


def test_a_second_decision_on_a_decided_item_is_a_conflict(board, item):
    _votes(item, board, [VoteChoice.APPROVE] * 3)
    decision_record(actor=board.chair, item=item, outcome=VoteChoice.APPROVE)

    with pytest.raises(ConflictError, match="was recorded meanwhile"):
        decision_record(actor=board.chair, item=item, outcome=VoteChoice.REJECT)
    with pytest.raises(ConflictError):
        vote_cast(actor=board.seats[3].user, item=item, choice=VoteChoice.REJECT)


# What the meeting produces.


def test_the_approved_spend_list_and_the_decision_log(board, item, session, pilot, django_assert_num_queries):
    _votes(item, board, [VoteChoice.APPROVE_WITH_CONDITIONS] * 3, conditions="Cache the prompt")
    decision_record(actor=board.chair, item=item, outcome=VoteChoice.APPROVE_WITH_CONDITIONS, amount="24000")

    with django_assert_num_queries(1):
        rows = selectors.approved_spend_list(meeting=session)
    assert [(r.use_case.key, r.amount, r.currency, r.milestone, r.conditions) for r in rows] == [
        ("ticket-triage", Decimal("24000"), "USD", "Reach Launch", "Cache the prompt")
    ]
    # The period the money covers is the funding request's, recorded on the decision itself
    request = rows[0].decision.funding_request
    assert (rows[0].period_start, rows[0].period_end) == (request.period_start, request.period_end)
    assert (rows[0].decision.period_start, rows[0].decision.period_end) == (
        request.period_start,
        request.period_end,
    )
    assert selectors.approved_spend_totals(rows) == {"USD": Decimal("24000")}
    with django_assert_num_queries(2):
        log = selectors.decision_log(use_case=pilot)
        assert [len(d.item.votes.all()) for d in log] == [3]
    assert [d.outcome for d in log] == [VoteChoice.APPROVE_WITH_CONDITIONS]


def test_agenda_items_read_in_a_fixed_number_of_queries(board, django_assert_num_queries):
    for n in range(6):
        use_case = UseCaseFactory(stage=Stage.CONCEPT)
        FundingRequestFactory(use_case=use_case, amount=Decimal(1000 + n))
    meeting = agenda_build(council=board).meeting

    with django_assert_num_queries(2):
        items = selectors.agenda_items(meeting=meeting)
        assert [len(i.votes.all()) for i in items] == [0] * 6


# Two decisions at once.


@pytest.mark.django_db(transaction=True)
def test_two_decisions_recorded_at_once_on_one_item_leave_one(board, item):
    # Given an item with a quorum of votes, open in two of the chair's browser tabs
    _votes(item, board, [VoteChoice.APPROVE] * 3)
    barrier = threading.Barrier(2)
    outcomes, unexpected = [], []

    def record(outcome):
        try:
            chair = get_user_model().objects.get(pk=board.chair.pk)
            seen = AgendaItem.objects.get(pk=item.pk)
            barrier.wait(timeout=10)
            decision_record(actor=chair, item=seen, outcome=outcome)
            outcomes.append(outcome)
        except ConflictError as exc:
            outcomes.append(exc)
        except Exception as exc:
            unexpected.append(exc)
        finally:
            connection.close()

    # When both record a decision at the same moment
    threads = [threading.Thread(target=record, args=(o,)) for o in (VoteChoice.APPROVE, VoteChoice.REJECT)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # Then one decision stands, and the other tab is told it was recorded meanwhile
    assert not unexpected, unexpected
    (winner,) = [o for o in outcomes if not isinstance(o, ConflictError)]
    (conflict,) = [o for o in outcomes if isinstance(o, ConflictError)]
    assert str(conflict) == "A decision on Ticket triage was recorded meanwhile: reload the page."
    decision = Decision.objects.get()
    assert decision.outcome == winner
    assert AuditEvent.objects.filter(action="decision.record").count() == 1
    expected = FundingStatus.APPROVED if winner == VoteChoice.APPROVE else FundingStatus.REJECTED
    assert FundingRequest.objects.get().status == expected
