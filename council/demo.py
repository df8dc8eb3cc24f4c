"""Demo council: the AI Investment Council, its chair and a member of every persona, a meeting held
about four weeks ago with its decisions, and the next meeting's draft agenda built from the
review triggers.

The council and its seats are get_or_create'd here (there is no service for seats), with their
audit events written the first time only. Everything after goes through the council's services,
as the chair and the members would have: owners submit funding requests, the chair publishes,
starts and closes the past meeting, members vote and the chair records the decisions (approved
funding becomes stage approvals and budgets, conditions become milestones, a deferred item carries
over), and `agenda_build` fills the next draft. The past meeting's times are then set back to when
it was held. A second run finds the past meeting and changes nothing.
"""

import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from aifinops.core import periods
from aifinops.core.audit import audit_record, snapshot
from aifinops.core.demo import demo_user, ensure_roles
from aifinops.core.periods import months_back
from aifinops.core.roles import Role
from portfolio.gates import rules as gates
from portfolio.models import UseCase

from .models import (
    AgendaItem,
    Cadence,
    Council,
    CouncilMember,
    Decision,
    FundingRequest,
    Meeting,
    MeetingKind,
    Persona,
    ReviewThresholds,
    VoteChoice,
)
from .services import agenda_build, decision_record, funding_request_submit, meeting_close, vote_cast
from .services.agenda import renumber
from .services.meetings import meeting_publish, meeting_start
from .triggers import review_triggers, thresholds_for

COUNCIL_NAME = "AI Investment Council"
CHAIR = "chair"
QUORUM = 4
# The demo council reviews monthly spend above 15,000 USD: an enterprise-sized threshold, which
# brings the three largest use cases to the council rather than half the portfolio.
SPEND_THRESHOLD = Decimal("15000")

SEATS = (
    # username, persona
    ("chair", Persona.BUSINESS_OWNER),
    ("council", Persona.AI_PLATFORM),
    ("rpatel", Persona.FINANCE),
    ("okowalski", Persona.SECURITY_RISK),
    ("dnguyen", Persona.ENTERPRISE_ARCHITECTURE),
    ("sobrien", Persona.PROCUREMENT),
    ("abaker", Persona.INFRASTRUCTURE),
    ("kyamamoto", Persona.TECHNOLOGY_LEAD),
    ("ewilson", Persona.FINOPS),
)

HELD_DAYS_AGO = 25
PAST_MINUTES = "Four funding requests reviewed; the onboarding agent comes back with its security review."


# What the past meeting reviewed: each use case's owners asked for the next milestone, and the
# council decided. (months of funding, votes in seat order, the decision, conditions, note)
PAST = (
    (
        "dev-chat-selfhosted",
        3,
        "Scale the self-hosted chat to every engineering team: 400 daily users, answers in under 3 s.",
        [VoteChoice.APPROVE] * 5,
        VoteChoice.APPROVE,
        "",
        "Funded for the scale milestone only: three months at the current run rate.",
    ),
    (
        "expense-policy-checker",
        3,
        "Every expense report checked before approval, month-end peak included.",
        [VoteChoice.APPROVE_WITH_CONDITIONS] * 3 + [VoteChoice.APPROVE] * 2,
        VoteChoice.APPROVE_WITH_CONDITIONS,
        "Move the month-end peak to the batch API\nReport the false-positive rate monthly",
        "Approved with conditions, checked at the next review.",
    ),
    (
        "onboarding-agent",
        2,
        "Launch to all new customers: time to first value under two days.",
        [VoteChoice.DEFER] * 3 + [VoteChoice.APPROVE] * 2,
        VoteChoice.DEFER,
        "",
        "Deferred until the security review of its external actions is closed.",
    ),
    (
        "seo-content-brief",
        3,
        "Scale to every content writer; briefs for 300 pages a month.",
        [VoteChoice.REJECT] * 4 + [VoteChoice.APPROVE],
        VoteChoice.REJECT,
        "",
        "Value per brief is not shown yet: bring the value signals of two more months.",
    ),
)


def _seat_council(stdout):
    chair = demo_user(CHAIR)
    ensure_roles(chair, [Role.COUNCIL_CHAIR, Role.COUNCIL_MEMBER])
    council, created = Council.objects.get_or_create(
        name=COUNCIL_NAME, defaults={"cadence": Cadence.MONTHLY, "quorum": QUORUM, "chair": chair}
    )
    if created:
        audit_record(actor=None, action="council.create", obj=council, after=snapshot(council))
    seats_created = 0
    for username, persona in SEATS:
        user = demo_user(username)
        ensure_roles(user, [Role.COUNCIL_MEMBER])
        seat, seat_created = CouncilMember.objects.get_or_create(
            council=council, user=user, defaults={"persona": persona}
        )
        if seat_created:
            audit_record(actor=None, action="council_member.add", obj=seat, after=snapshot(seat))
            seats_created += 1
    thresholds, thresholds_created = ReviewThresholds.objects.get_or_create(
        council=council, defaults={"spend_threshold": SPEND_THRESHOLD}
    )
    if thresholds_created:
        audit_record(
            actor=None, action="review_thresholds.update", obj=thresholds, after=snapshot(thresholds)
        )
    stdout.write(
        f"  council: {COUNCIL_NAME} {'created' if created else 'already present'}, "
        f"{seats_created} seats added, {len(SEATS)} in all"
    )
    return council


def _owner(use_case):
    return use_case.business_owner or use_case.technical_owner


def _funding_requests(today):
    """The owners' requests for the next milestone, submitted a week before the meeting."""
    requests = {}
    for key, months, outcomes, *_ in PAST:
        use_case = UseCase.objects.select_related("business_owner", "technical_owner").filter(key=key).first()
        if use_case is None or _owner(use_case) is None or gates.next_stage(use_case) is None:
            continue
        start = months_back(today, -1)
        requests[key] = funding_request_submit(
            actor=_owner(use_case),
            use_case=use_case,
            values={
                "target_stage": gates.next_stage(use_case),
                "amount": use_case.expected_monthly_cost * months,
                "period_start": start,
                "period_end": months_back(start, -months) - datetime.timedelta(days=1),
                "expected_outcomes": outcomes,
            },
        )
    return requests


def _past_meeting(council, *, held, stdout):
    chair = council.chair
    today = periods.today()
    requests = _funding_requests(today)
    meeting = Meeting.objects.create(
        council=council, kind=MeetingKind.MONTHLY_OPERATING_REVIEW, scheduled_for=held
    )
    audit_record(actor=chair, action="meeting.schedule", obj=meeting, after=snapshot(meeting))
    # The agenda of that day held these use cases only: built from their triggers as they stand.
    use_cases = {uc.key: uc for uc in UseCase.objects.filter(key__in=requests)}
    found = review_triggers(
        thresholds=thresholds_for(council), use_case_ids=[uc.pk for uc in use_cases.values()]
    )
    for triggers in found.values():
        reasons = [r.as_dict() for r in triggers.reasons]
        AgendaItem.objects.create(
            meeting=meeting,
            use_case=triggers.use_case,
            reasons=reasons,
            severity=triggers.severity,
            amount_at_stake=triggers.amount_at_stake,
            currency=triggers.currency,
        )
    renumber(meeting)
    audit_record(actor=chair, action="agenda.build", obj=meeting, after={"created": sorted(found)})

    meeting = meeting_publish(actor=chair, meeting=meeting)
    meeting = meeting_start(actor=chair, meeting=meeting)
    seats = list(council.members.filter(is_active=True).select_related("user").order_by("id"))
    items = {i.use_case.key: i for i in meeting.items.select_related("use_case")}
    for key, _months, _outcomes, votes, outcome, conditions, note in PAST:
        item = items.get(key)
        if item is None:
            continue
        for seat, choice in zip(seats, votes, strict=False):
            vote_cast(
                actor=seat.user,
                item=item,
                choice=choice,
                conditions=conditions if choice == VoteChoice.APPROVE_WITH_CONDITIONS else "",
            )
        decision_record(actor=chair, item=item, outcome=outcome, conditions=conditions, note=note)
    meeting_close(actor=chair, meeting=meeting, minutes=PAST_MINUTES, confirm=True)

    # Set the meeting's times back to when it was held, as its records would show them.
    Meeting.objects.filter(pk=meeting.pk).update(
        published_at=held - datetime.timedelta(days=5),
        started_at=held,
        closed_at=held + datetime.timedelta(hours=2),
    )
    Decision.objects.filter(item__meeting=meeting).update(recorded_at=held + datetime.timedelta(hours=1))
    FundingRequest.objects.filter(pk__in=[r.pk for r in requests.values()]).update(
        submitted_at=held - datetime.timedelta(days=7)
    )
    stdout.write(f"  council: meeting of {held:%d %b %Y} held, {len(items)} items decided or deferred")
    return meeting


@transaction.atomic
def seed(*, stdout):
    council = _seat_council(stdout)
    if council.meetings.exists():
        stdout.write("  council: meetings already present, nothing to add")
        return
    now = timezone.now()
    held = (now - datetime.timedelta(days=HELD_DAYS_AGO)).replace(hour=15, minute=0, second=0, microsecond=0)
    _past_meeting(council, held=held, stdout=stdout)
    result = agenda_build(council=council, actor=council.chair)
    stdout.write(
        f"  council: next meeting {result.meeting.scheduled_for:%d %b %Y}, agenda of "
        f"{result.meeting.items.count()} use cases ({len(result.carried)} carried over)"
    )
