"""The agenda builder: the next meeting's items from the triggers, once; carry-over; frozen packs;
and the demo's agenda."""

import datetime
import json
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from aifinops.core.exceptions import ConflictError
from aifinops.core.models import AuditEvent, Notification
from aifinops.core.periods import months_back
from aifinops.core.tests.factories import UserFactory
from council import selectors
from council.models import (
    AgendaItem,
    AgendaItemStatus,
    Cadence,
    Council,
    Meeting,
    MeetingKind,
    MeetingState,
    Persona,
)
from council.review_packs import review_pack_build
from council.services import agenda_build, meeting_close, meeting_publish, meeting_start, next_meeting_time
from council.tasks import build_agenda
from council.tests.factories import AgendaItemFactory, FundingRequestFactory, MeetingFactory
from council.triggers import Code
from portfolio.choices import Stage
from portfolio.models import StageMoveRequest
from portfolio.tests.factories import UseCaseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def portfolio(board, spend, today, long_ago):
    """Three use cases that need review and one low-cost experiment that does not."""
    big = UseCaseFactory(key="big-spender", name="Big spender", stage=Stage.SCALE)
    spend(big, long_ago, "10")
    spend(big, months_back(today, 1), "12000")
    asking = UseCaseFactory(key="asking", name="Asking for funding", stage=Stage.CONCEPT)
    spend(asking, long_ago, "10")
    FundingRequestFactory(use_case=asking, target_stage=Stage.MVP, amount=Decimal("20000"))
    scaling = UseCaseFactory(key="scaling", name="Scaling pilot", stage=Stage.PILOT)
    spend(scaling, long_ago, "10")
    spend(scaling, today, "5600")
    StageMoveRequest.objects.create(use_case=scaling, target_stage=Stage.LAUNCH, requested_by=board.chair)
    experiment = UseCaseFactory(key="experiment", name="Experiment", stage=Stage.CONCEPT)
    spend(experiment, today, "3.20", model="new")
    return {"big": big, "asking": asking, "scaling": scaling, "experiment": experiment}


def _agenda(meeting):
    return [
        (
            i.use_case.key if i.use_case_id else f"intake: {i.intake.name}",
            sorted(r["code"] for r in i.reasons),
        )
        for i in meeting.items.select_related("use_case", "intake").order_by("position")
    ]


def test_the_builder_schedules_the_next_meeting_and_lists_each_use_case_once(board, portfolio):
    # Given a council with no meeting yet
    # When the agenda is built
    result = agenda_build(council=board)

    # Then the next meeting is a draft a month from now, per the monthly cadence
    meeting = result.meeting
    assert (meeting.state, meeting.kind) == (MeetingState.DRAFT, MeetingKind.MONTHLY_OPERATING_REVIEW)
    assert meeting.scheduled_for > timezone.now() + datetime.timedelta(days=27)
    # And it holds one item per use case with all its reasons, by severity then amount at stake;
    # the low-cost experiment is not there
    assert _agenda(meeting) == [
        ("big-spender", [Code.SPEND_THRESHOLD]),
        ("scaling", sorted([Code.SCALE_REQUEST, Code.SPEND_THRESHOLD])),
        ("asking", [Code.FUNDING_REQUEST]),
    ]
    items = list(meeting.items.order_by("position"))
    assert [i.severity for i in items] == ["high", "high", "medium"]
    assert [i.amount_at_stake for i in items] == [Decimal("12000"), Decimal("5600"), Decimal("20000")]
    assert AuditEvent.objects.filter(action="agenda.build", object_id=str(meeting.pk)).count() == 1


def test_high_severity_comes_before_a_larger_amount(board, portfolio):
    meeting = agenda_build(council=board).meeting

    positions = {i.use_case.key: i.position for i in meeting.items.select_related("use_case")}
    assert positions["scaling"] < positions["asking"]


def test_running_the_builder_again_adds_nothing(board, portfolio):
    # Given a built agenda
    first = agenda_build(council=board)
    before = _agenda(first.meeting)

    # When it is built again
    again = agenda_build(council=board)

    # Then the same meeting holds the same items and reasons, and nothing is written
    assert again.meeting == first.meeting
    assert not again.changed
    assert _agenda(again.meeting) == before
    assert Meeting.objects.count() == 1
    assert AuditEvent.objects.filter(action="agenda.build").count() == 1


def test_a_new_reason_joins_the_use_cases_existing_item(board, portfolio):
    # Given a built agenda with the big spender on it
    meeting = agenda_build(council=board).meeting
    big = portfolio["big"]

    # When the scaling pilot's owners also ask for the launch's funding
    FundingRequestFactory(use_case=portfolio["scaling"], target_stage=Stage.LAUNCH, amount=Decimal("30000"))
    result = agenda_build(council=board)

    # Then no item is added; the pilot's item gains the funding request, with its amount at stake
    assert result.created == []
    assert [i.use_case_id for i in result.extended] == [portfolio["scaling"].pk]
    item = meeting.items.get(use_case=portfolio["scaling"])
    assert sorted(r["code"] for r in item.reasons) == sorted(
        [Code.SCALE_REQUEST, Code.SPEND_THRESHOLD, Code.FUNDING_REQUEST, Code.SCALE_REQUEST]
    )
    assert item.amount_at_stake == Decimal("30000")
    assert meeting.items.filter(use_case=big).count() == 1


def test_the_builder_fills_the_existing_draft(board, portfolio):
    draft = MeetingFactory(council=board, kind=MeetingKind.EXTRAORDINARY)

    assert agenda_build(council=board).meeting == draft
    assert draft.items.count() == 3


def test_a_use_case_waiting_on_a_published_meeting_is_not_listed_twice(board, portfolio):
    published = agenda_build(council=board).meeting
    meeting_publish(actor=board.chair, meeting=published)

    result = agenda_build(council=board)

    assert result.meeting != published
    assert result.meeting.items.count() == 0


def test_undecided_items_of_a_closed_meeting_carry_over(board, portfolio):
    # Given a meeting that closes without deciding on its items
    meeting = agenda_build(council=board).meeting
    meeting = meeting_publish(actor=board.chair, meeting=meeting)
    meeting = meeting_start(actor=board.chair, meeting=meeting)

    meeting = meeting_close(actor=board.chair, meeting=meeting, minutes="Out of time.", confirm=True)

    # Then each item is carried into the next draft meeting, pointing back to where it came from
    nxt = Meeting.objects.get(state=MeetingState.DRAFT)
    assert nxt.scheduled_for > meeting.scheduled_for
    assert _agenda(nxt) == _agenda(meeting)
    for old in meeting.items.all():
        assert old.status == AgendaItemStatus.CARRIED_OVER
        assert old.carried_to.get().meeting == nxt
    assert meeting.minutes.startswith("Out of time.\n\n")
    carried = f"Carried over to the monthly operating review of {nxt.scheduled_for:%-d %b %Y}: "
    assert carried in meeting.minutes
    assert str(nxt.scheduled_for.date()) not in meeting.minutes  # a date in words, not ISO
    # And building the next agenda adds nothing more
    assert not agenda_build(council=board).changed


def test_an_item_left_open_in_a_closed_meeting_is_carried_by_the_builder(board, portfolio):
    closed = MeetingFactory(council=board, state=MeetingState.CLOSED, scheduled_for=timezone.now())
    left = AgendaItemFactory(meeting=closed, use_case=portfolio["experiment"])

    result = agenda_build(council=board)

    carried = result.meeting.items.get(use_case=portfolio["experiment"])
    assert carried.carried_from == left
    assert AgendaItem.objects.get(pk=left.pk).status == AgendaItemStatus.CARRIED_OVER


def test_publishing_freezes_each_review_pack(board, portfolio, spend, today):
    # Given a built agenda
    meeting = agenda_build(council=board).meeting

    # When it is published
    meeting = meeting_publish(actor=board.chair, meeting=meeting)

    # Then each item has its pack, JSON-safe, with the funding request for the next milestone
    item = meeting.items.get(use_case=portfolio["asking"])
    frozen = json.loads(json.dumps(item.review_pack))
    assert frozen == item.review_pack
    assert frozen["funding_request"]["amount"] == "20000.00"
    assert frozen["funding_request"]["target_stage"] == Stage.MVP
    assert frozen["stage"]["current"] == Stage.CONCEPT
    assert frozen["stage"]["next"] == Stage.MVP
    assert [r["code"] for r in frozen["reasons"]] == [Code.FUNDING_REQUEST]
    big = meeting.items.get(use_case=portfolio["big"]).review_pack
    assert big["spend"]["months"][-1] == {
        "month": months_back(today, 1).isoformat(),
        "actual": "12000.00",
        "expected": "1000.00",
        "variance_pct": "1100.0",
    }

    # When the data changes afterwards
    spend(portfolio["big"], months_back(today, 1), "5000")
    item.use_case.name = "Renamed"
    item.use_case.save()

    # Then the frozen pack still shows what the council saw, and a live one shows the change
    item.refresh_from_db()
    assert item.review_pack == frozen
    stored = AgendaItem.objects.get(meeting=meeting, use_case=portfolio["big"]).review_pack
    assert stored["spend"]["months"][-1]["actual"] == "12000.00"
    live = review_pack_build(use_case=portfolio["big"], council=board)
    assert live["spend"]["months"][-1]["actual"] == "17000.00"
    assert selectors.item_review_pack(item=item) == frozen


def test_publishing_tells_the_members_and_the_owners(board, portfolio):
    owner = UserFactory(username="asker")
    portfolio["asking"].business_owner = owner
    portfolio["asking"].save()
    meeting = agenda_build(council=board).meeting

    meeting_publish(actor=board.chair, meeting=meeting)

    members = {s.user.username for s in board.seats}
    told = set(
        Notification.objects.filter(subject__startswith="Agenda published").values_list(
            "recipient__username", flat=True
        )
    )
    assert told == members
    assert Notification.objects.filter(
        recipient=owner, subject__contains="is on the council's agenda"
    ).exists()


def test_only_the_chair_or_an_admin_builds_and_only_a_draft(board, portfolio):
    member = board.seats[1].user
    with pytest.raises(PermissionDenied):
        agenda_build(council=board, actor=member)
    meeting = agenda_build(council=board, actor=board.chair).meeting
    meeting = meeting_publish(actor=board.chair, meeting=meeting)
    with pytest.raises(ConflictError):
        agenda_build(meeting=meeting, actor=board.chair)
    with pytest.raises(PermissionDenied):
        meeting_start(actor=member, meeting=meeting)


def test_the_builder_reads_in_a_bounded_number_of_queries(
    board, spend, today, long_ago, django_assert_max_num_queries
):
    for n in range(15):
        use_case = UseCaseFactory(stage=Stage.LAUNCH)
        spend(use_case, long_ago, "10")
        spend(use_case, months_back(today, 1), 6000 + n)

    with django_assert_max_num_queries(30):
        result = agenda_build(council=board)

    assert len(result.created) == 15
    with django_assert_max_num_queries(22):
        assert not agenda_build(council=board).changed


def test_the_celery_task_builds_every_councils_agenda_and_is_safe_to_run_twice(board, portfolio):
    first = build_agenda.apply().get()
    again = build_agenda.apply().get()

    meeting = Meeting.objects.get()
    assert first == {board.pk: {"meeting": meeting.pk, "created": 3, "extended": 0, "carried": 0}}
    assert again == {board.pk: {"meeting": meeting.pk, "created": 0, "extended": 0, "carried": 0}}


@pytest.mark.parametrize(
    ("cadence", "days"),
    [(Cadence.WEEKLY, 7), (Cadence.FORTNIGHTLY, 14), (Cadence.MONTHLY, 31), (Cadence.QUARTERLY, 90)],
)
def test_meetings_follow_the_cadence(board, cadence, days):
    board.cadence = cadence
    board.save()
    last = datetime.datetime(2026, 1, 1, 15, tzinfo=datetime.UTC)
    MeetingFactory(council=board, scheduled_for=last)

    moment = next_meeting_time(board, now=last)

    assert moment - last == datetime.timedelta(days=days)


def test_the_demo_agenda_lists_exactly_the_use_cases_whose_triggers_fire(demo):
    # Given the demo data, whose seed built the next agenda
    council = Council.objects.get(name="AI Investment Council")

    # When the agenda is built again, as the scheduler would
    result = agenda_build(council=council)

    # Then nothing is added, and the draft lists exactly these use cases, for these reasons
    assert not result.changed
    agenda = {key: set(codes) for key, codes in _agenda(result.meeting)}
    assert agenda == {
        "in-app-assistant": {Code.SPEND_THRESHOLD},
        "support-reply-drafter": {Code.SPEND_THRESHOLD},
        "code-review-assistant": {Code.SPEND_THRESHOLD, Code.OPEN_ANOMALY},
        "onboarding-agent": {Code.FUNDING_REQUEST, Code.SCALE_REQUEST},
        "lead-enrichment-agent": {Code.OPEN_ANOMALY},
        "campaign-copy-generator": {Code.OPEN_ANOMALY},
        "support-call-summarizer": {Code.SCALE_REQUEST, Code.OPEN_ANOMALY},
        "sales-call-coach": {Code.MISSED_MILESTONES},
        "release-notes-drafter": {Code.INTAKE_REVIEW},
        # The demo's three intakes that triage sent to review and nobody decided yet
        "intake: Order status chat assistant": {Code.INTAKE_WAITING},
        "intake: Overdue invoice collections agent": {Code.INTAKE_WAITING},
        "intake: Multilingual ticket translation": {Code.INTAKE_WAITING},
    }
    # And the low-cost experiment of the demo is not on it
    assert "test-generation-agent" not in agenda
    # And the past meeting is closed, with its decisions; the deferred item came back
    past = Meeting.objects.get(state=MeetingState.CLOSED)
    assert past.items.filter(decision__isnull=False).count() == 4
    onboarding = result.meeting.items.get(use_case__key="onboarding-agent")
    assert onboarding.carried_from.meeting == past
    # And every persona has a seat
    assert {s.persona for s in council.members.all()} == set(Persona.values)
