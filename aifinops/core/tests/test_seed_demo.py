import datetime
import io

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Sum
from django.test import RequestFactory

from aifinops.core import periods
from aifinops.core.models import AuditEvent
from aifinops.core.roles import Role
from council.models import Council, CouncilMember
from intake.models import IntakeRequest
from portfolio.choices import AutonomyLevel, RiskTier, Stage
from portfolio.models import Membership, Provider, Team, UseCase
from showback.models import DailySpend, SpendRecord

ROLE_USERS = {
    "requester": {Role.REQUESTER},
    "owner": {Role.USE_CASE_OWNER},
    "council": {Role.COUNCIL_MEMBER},
    "chair": {Role.COUNCIL_CHAIR, Role.COUNCIL_MEMBER},
    "finance": {Role.FINANCE_ANALYST},
    "admin": {Role.PLATFORM_ADMIN},
}

COUNTED = [
    get_user_model(),
    Team,
    Membership,
    UseCase,
    SpendRecord,
    DailySpend,
    Council,
    CouncilMember,
    AuditEvent,
    IntakeRequest,
]


def seed_demo():
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def row_counts():
    counts = {model._meta.label: model._default_manager.count() for model in COUNTED}
    counts["user groups"] = get_user_model().groups.through.objects.count()
    return counts


def test_seed_demo_fills_an_empty_database(demo):
    # Given an empty database and the default demo password, when the demo is seeded (once for
    # the session: `demo` is a copy of what seed_demo wrote into an empty test database)
    output = demo.output

    # Then each role has a login named after it, with the demo password
    request = RequestFactory().post("/accounts/login/")
    for username, roles in ROLE_USERS.items():
        user = authenticate(request, username=username, password=demo.password)
        assert user is not None, username
        assert set(user.groups.values_list("name", flat=True)) == roles
        assert username in output
    assert get_user_model().objects.get(username="admin").is_superuser

    # And the portfolio covers every stage, risk tier and autonomy level
    assert Team.objects.count() >= 6
    assert UseCase.objects.count() >= 28
    assert set(UseCase.objects.values_list("stage", flat=True)) == set(Stage.values)
    assert set(UseCase.objects.values_list("risk_tier", flat=True)) == set(RiskTier.values)
    assert set(UseCase.objects.values_list("autonomy_level", flat=True)) == set(AutonomyLevel.values)
    assert UseCase.objects.filter(business_owner__isnull=True).exists()

    # And every provider has daily spend, with unattributed AI spend and non-AI spend beside it
    providers_with_spend = set(DailySpend.objects.values_list("provider_id", flat=True))
    assert set(Provider.objects.values_list("pk", flat=True)) <= providers_with_spend
    assert DailySpend.objects.filter(is_ai=True, use_case__isnull=True).exists()
    assert DailySpend.objects.filter(is_ai=False).exists()

    # And at least one use case spent more in the last 30 days than it expects a month
    since = periods.today() - datetime.timedelta(days=30)
    last_30_days = (
        DailySpend.objects.filter(date__gte=since, use_case__isnull=False)
        .values("use_case")
        .annotate(spent=Sum("effective_cost"))
    )
    expected = dict(UseCase.objects.values_list("pk", "expected_monthly_cost"))
    assert any(row["spent"] > expected[row["use_case"]] for row in last_30_days)

    # And the council has its chair and a quorum's worth of council members
    council = Council.objects.get(name="AI Investment Council")
    assert council.chair.username == "chair"
    assert council.members.count() >= council.quorum
    for seat in council.members.select_related("user"):
        assert seat.user.groups.filter(name=Role.COUNCIL_MEMBER).exists()
    assert AuditEvent.objects.filter(action="council.create", object_id=str(council.pk)).exists()


def test_seed_demo_twice_changes_nothing(demo):
    # Given a seeded database
    before = row_counts()
    spend_ids = set(DailySpend.objects.values_list("pk", flat=True))

    # When the demo is seeded again
    seed_demo()

    # Then no row is added or removed, no audit event written and the rollups are untouched
    assert row_counts() == before
    assert set(DailySpend.objects.values_list("pk", flat=True)) == spend_ids


@pytest.mark.django_db
def test_seed_demo_refuses_in_production(settings):
    # Given the production profile
    settings.AIFINOPS_PROFILE = "production"

    # When seed_demo runs, then it refuses and writes nothing
    with pytest.raises(CommandError, match="production"):
        seed_demo()
    assert not get_user_model().objects.exists()
    assert not AuditEvent.objects.exists()


def test_seed_demo_files_intakes_in_every_state(demo):
    from intake.models import IntakeStatus, ReviewPath

    # Given a seeded database
    intakes = IntakeRequest.objects.all()

    # Then there are intakes in every state that lasts ("submitted" is triaged at once)
    expected = {
        IntakeStatus.DRAFT,
        IntakeStatus.TRIAGED,
        IntakeStatus.ACCEPTED,
        IntakeStatus.REJECTED,
        IntakeStatus.WITHDRAWN,
    }
    assert expected <= set(intakes.values_list("status", flat=True))

    # And accepted intakes became use cases, and triaged ones wait for review with their reasons
    assert intakes.filter(status=IntakeStatus.ACCEPTED, use_case__isnull=False).exists()
    waiting = intakes.filter(status=IntakeStatus.TRIAGED, review_path=ReviewPath.REVIEW)
    assert waiting.exists()
    assert all(intake.triage_reasons for intake in waiting)
    # (Seeding again adds none: test_seed_demo_twice_changes_nothing counts them.)


def test_seeded_use_cases_have_passed_every_gate_before_their_stage(demo):
    from portfolio.choices import Stage
    from portfolio.gates import demo as demo_lifecycle
    from portfolio.models import UseCase
    from portfolio.selectors import stage_gates

    incomplete = []
    active = UseCase.objects.exclude(stage__in=[Stage.CONCEPT, Stage.SUNSET])
    assert {uc.stage for uc in active} == {Stage.MVP, Stage.PILOT, Stage.LAUNCH, Stage.SCALE}
    for use_case in active:
        gates = stage_gates(use_case=use_case)
        incomplete += [
            (use_case.key, s) for s in demo_lifecycle._stages_passed(use_case) if not gates[s].complete
        ]
    assert incomplete == []
    for use_case in UseCase.objects.filter(stage=Stage.SUNSET):
        assert stage_gates(use_case=use_case)[Stage.SUNSET].complete
