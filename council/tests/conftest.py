"""Fixtures of the council's tests: a council with a chair and members, spend rows, and the
`today` the triggers read."""

import datetime
from decimal import Decimal

import pytest

from aifinops.core import periods
from aifinops.core.tests.factories import UserFactory
from council.models import Persona, ReviewThresholds
from council.tests.factories import CouncilFactory, CouncilMemberFactory
from portfolio.tests.factories import AIModelFactory, ProviderFactory
from showback.tests.factories import DailySpendFactory


@pytest.fixture
def today():
    return periods.today()


@pytest.fixture
def board(db):
    """A council of four (quorum 3): the chair holds a seat too."""
    chair = UserFactory(username="chair-c", roles=["council_chair", "council_member"])
    council = CouncilFactory(name="AI Investment Council", chair=chair, quorum=3)
    seats = [CouncilMemberFactory(council=council, user=chair, persona=Persona.BUSINESS_OWNER)]
    for username, persona in (
        ("fin-m", Persona.FINANCE),
        ("sec-m", Persona.SECURITY_RISK),
        ("ops-m", Persona.FINOPS),
    ):
        seats.append(
            CouncilMemberFactory(
                council=council,
                user=UserFactory(username=username, roles=["council_member"]),
                persona=persona,
            )
        )
    ReviewThresholds.objects.create(council=council)
    council.seats = seats
    return council


@pytest.fixture
def catalog(db):
    """Two models of one provider: `old` in use for months, `new` just arriving."""
    provider = ProviderFactory(name="OpenAI", slug="openai")
    return {
        "provider": provider,
        "old": AIModelFactory(provider=provider, key="gpt-4o-mini", name="GPT-4o mini"),
        "new": AIModelFactory(provider=provider, key="o3", name="o3"),
    }


@pytest.fixture
def spend(catalog):
    """spend(use_case, day, amount, model="old") -> a DailySpend row of the use case."""

    def _spend(use_case, day, amount, model="old"):
        amount = Decimal(str(amount))
        return DailySpendFactory(
            date=day,
            use_case=use_case,
            team=use_case.team,
            provider=catalog["provider"],
            model=catalog[model],
            billed_cost=amount,
            effective_cost=amount,
            list_cost=amount,
        )

    return _spend


@pytest.fixture
def long_ago(today):
    return today - datetime.timedelta(days=120)
