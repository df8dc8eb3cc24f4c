"""Fixtures shared by every app's tests: the cast of people of the permission matrix."""

from dataclasses import dataclass

import pytest

from aifinops.core.roles import Role
from aifinops.core.tests.factories import PASSWORD, UserFactory
from portfolio.tests.factories import MembershipFactory, TeamFactory, UseCaseFactory

pytest_plugins = ["aifinops.core.testing.browser", "aifinops.core.testing.demo"]


@dataclass
class Cast:
    team_a: object
    team_b: object
    requester_a: object
    requester_b: object
    owner: object
    council: object
    chair: object
    finance: object
    admin: object
    use_case_a: object
    use_case_b: object


@pytest.fixture
def cast(db):
    team_a = TeamFactory(name="Support", slug="support")
    team_b = TeamFactory(name="Marketing", slug="marketing")
    requester_a = UserFactory(username="req-a", roles=[Role.REQUESTER])
    requester_b = UserFactory(username="req-b", roles=[Role.REQUESTER])
    owner = UserFactory(username="owner", roles=[Role.USE_CASE_OWNER])
    MembershipFactory(user=requester_a, team=team_a)
    MembershipFactory(user=owner, team=team_a)
    MembershipFactory(user=requester_b, team=team_b)
    return Cast(
        team_a=team_a,
        team_b=team_b,
        requester_a=requester_a,
        requester_b=requester_b,
        owner=owner,
        council=UserFactory(username="council-m", roles=[Role.COUNCIL_MEMBER]),
        chair=UserFactory(username="chair-c", roles=[Role.COUNCIL_CHAIR, Role.COUNCIL_MEMBER]),
        finance=UserFactory(username="fin", roles=[Role.FINANCE_ANALYST]),
        admin=UserFactory(username="adm", roles=[Role.PLATFORM_ADMIN], is_superuser=True),
        use_case_a=UseCaseFactory(
            key="support-summarizer", name="Support summarizer", team=team_a, business_owner=owner
        ),
        use_case_b=UseCaseFactory(key="campaign-writer", name="Campaign writer", team=team_b),
    )


@pytest.fixture
def login(client):
    """login(user) -> the test client with a session for user."""

    def _login(user):
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        return client

    return _login


@pytest.fixture
def password():
    return PASSWORD
