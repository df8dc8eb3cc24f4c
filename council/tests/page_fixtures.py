"""Fixtures of the council's page and API tests (import the `*_fixture` functions; the fixtures
keep the short names), on the shared `cast` (conftest.py at the root):
a council chaired by `cast.chair` with four seats (quorum 3), and a meeting with two items."""

from decimal import Decimal

import pytest

from aifinops.core.roles import Role
from aifinops.core.tests.factories import UserFactory
from council import services
from council.models import AgendaItem, Persona, VoteChoice
from council.tests.factories import (
    AgendaItemFactory,
    CouncilFactory,
    CouncilMemberFactory,
    FundingRequestFactory,
    MeetingFactory,
    VoteFactory,
)


@pytest.fixture(name="board")
def board_fixture(cast):
    """The council: chaired by cast.chair, who sits on it with cast.council and two more members."""
    council = CouncilFactory(name="AI Investment Council", chair=cast.chair, quorum=3)
    council.seats = [
        CouncilMemberFactory(council=council, user=cast.chair, persona=Persona.BUSINESS_OWNER),
        CouncilMemberFactory(council=council, user=cast.council, persona=Persona.FINOPS),
        CouncilMemberFactory(
            council=council,
            user=UserFactory(username="sec-m", roles=[Role.COUNCIL_MEMBER]),
            persona=Persona.SECURITY_RISK,
        ),
        CouncilMemberFactory(
            council=council,
            user=UserFactory(username="fin-m", roles=[Role.COUNCIL_MEMBER]),
            persona=Persona.FINANCE,
        ),
    ]
    return council


def _items(meeting, cast):
    """Team A's summarizer asks 9,000 USD for its MVP; team B's writer is over its spend threshold."""
    FundingRequestFactory(
        use_case=cast.use_case_a, requested_by=cast.owner, amount=Decimal("9000"), currency="USD"
    )
    first = AgendaItemFactory(
        meeting=meeting,
        use_case=cast.use_case_a,
        position=1,
        severity="high",
        amount_at_stake=Decimal("9000"),
        reasons=[
            {
                "code": "funding_request",
                "label": "Funding requested for the next milestone",
                "detail": "9,000.00 USD for MVP",
                "severity": "high",
                "kind": "mandatory",
                "key": "funding_request:1",
            }
        ],
    )
    second = AgendaItemFactory(
        meeting=meeting, use_case=cast.use_case_b, position=2, amount_at_stake=Decimal("2500")
    )
    return first, second


@pytest.fixture(name="meeting")
def meeting_fixture(board, cast):
    """A draft meeting of the board with two items."""
    meeting = MeetingFactory(council=board)
    meeting.first, meeting.second = _items(meeting, cast)
    return meeting


@pytest.fixture(name="in_session")
def in_session_fixture(board, meeting):
    """The meeting published (its packs frozen) and in session."""
    first, second = meeting.first, meeting.second
    meeting = services.meeting_publish(actor=board.chair, meeting=meeting)
    meeting = services.meeting_start(actor=board.chair, meeting=meeting)
    meeting.first, meeting.second = first, second
    return meeting


@pytest.fixture(name="votes")
def votes_fixture(board, in_session):
    """votes(item, n, choice) -> n members of the board vote on item (the chair last)."""

    def _votes(item, n, choice=VoteChoice.APPROVE):
        for seat in list(reversed(board.seats))[:n]:
            VoteFactory(item=item, member=seat, choice=choice)
        return AgendaItem.objects.get(pk=item.pk)

    return _votes
