import datetime
from decimal import Decimal

import factory
from django.utils import timezone

from aifinops.core import periods
from aifinops.core.tests.factories import UserFactory
from council.models import (
    AgendaItem,
    Council,
    CouncilMember,
    FundingRequest,
    FundingStatus,
    Meeting,
    MeetingKind,
    Persona,
    Vote,
    VoteChoice,
)
from intake.models import IntakeRequest, IntakeStatus, ReviewPath
from portfolio.choices import MilestoneStatus, Stage
from portfolio.models import Milestone, ValueSignal
from portfolio.tests.factories import UseCaseFactory


class CouncilFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Council

    name = factory.Sequence(lambda n: f"Council {n}")
    chair = factory.SubFactory(UserFactory, roles=["council_chair", "council_member"])


class CouncilMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CouncilMember

    council = factory.SubFactory(CouncilFactory)
    user = factory.SubFactory(UserFactory, roles=["council_member"])
    persona = Persona.FINOPS


class MeetingFactory(factory.django.DjangoModelFactory):
    """A draft meeting a week from now; pass state= to start it elsewhere."""

    class Meta:
        model = Meeting

    council = factory.SubFactory(CouncilFactory)
    kind = MeetingKind.MONTHLY_OPERATING_REVIEW
    scheduled_for = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=7))


class AgendaItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgendaItem

    meeting = factory.SubFactory(MeetingFactory)
    use_case = factory.SubFactory(UseCaseFactory)
    reasons = factory.LazyFunction(
        lambda: [
            {
                "code": "spend_threshold",
                "label": "Spend past the review threshold",
                "detail": "",
                "severity": "medium",
                "kind": "mandatory",
                "key": "spend_threshold:test",
            }
        ]
    )


class FundingRequestFactory(factory.django.DjangoModelFactory):
    """A submitted request for the use case's next stage (MVP from concept), three months."""

    class Meta:
        model = FundingRequest

    use_case = factory.SubFactory(UseCaseFactory)
    target_stage = Stage.MVP
    amount = Decimal("9000.00")
    currency = "USD"
    period_start = factory.LazyFunction(lambda: periods.month_start(periods.today()))
    period_end = factory.LazyAttribute(
        lambda o: (o.period_start + datetime.timedelta(days=95)).replace(day=1) - datetime.timedelta(days=1)
    )
    expected_outcomes = "A working MVP used by ten agents."
    requested_by = factory.SubFactory(UserFactory)
    status = FundingStatus.SUBMITTED
    submitted_at = factory.LazyFunction(timezone.now)


class VoteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Vote

    item = factory.SubFactory(AgendaItemFactory)
    member = factory.SubFactory(CouncilMemberFactory)
    choice = VoteChoice.APPROVE


class MilestoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Milestone

    use_case = factory.SubFactory(UseCaseFactory)
    name = factory.Sequence(lambda n: f"Milestone {n}")
    due_date = factory.LazyFunction(lambda: periods.today() + datetime.timedelta(days=20))
    status = MilestoneStatus.PENDING


class ValueSignalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ValueSignal

    use_case = factory.SubFactory(UseCaseFactory)
    month = factory.LazyFunction(lambda: periods.month_start(periods.today()))
    outcomes = 1000
    value_per_outcome = Decimal("2.50")
    quality_score = Decimal("85")


class IntakeRequestFactory(factory.django.DjangoModelFactory):
    """An intake triaged as review required and accepted into `use_case`."""

    class Meta:
        model = IntakeRequest

    requester = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Intake {n}")
    purpose = "Summarise calls."
    team = factory.LazyAttribute(lambda o: o.use_case.team)
    use_case = factory.SubFactory(UseCaseFactory)
    status = IntakeStatus.ACCEPTED
    review_path = ReviewPath.REVIEW
    triaged_at = factory.LazyFunction(timezone.now)
    decided_at = factory.LazyFunction(timezone.now)
