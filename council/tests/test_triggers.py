"""Each review trigger and escalation rule fires for the use case it describes, with its reason
code; a low-cost experiment within budget never does."""

import datetime
from decimal import Decimal

import pytest

from aifinops.core.periods import months_back
from council.models import AgendaItemStatus, MeetingState
from council.tests.factories import (
    AgendaItemFactory,
    FundingRequestFactory,
    IntakeRequestFactory,
    MeetingFactory,
    MilestoneFactory,
    ValueSignalFactory,
)
from council.triggers import Code, review_triggers, thresholds_for
from portfolio.choices import GateItemStatus, MilestoneStatus, Stage
from portfolio.models import GateItemState, StageMoveRequest
from portfolio.tests.factories import UseCaseFactory
from showback.models import BudgetScope
from showback.tests.analytics_factories import AnomalyFactory
from showback.tests.budget_factories import BudgetFactory

pytestmark = pytest.mark.django_db


def _codes(found, use_case):
    return sorted(found[use_case.pk].codes) if use_case.pk in found else []


@pytest.fixture
def fire(board, today):
    def _fire(**kwargs):
        return review_triggers(thresholds=thresholds_for(board), today=today, **kwargs)

    return _fire


@pytest.fixture
def established(spend, long_ago):
    """A use case with a little spend on one model for months: nothing about it is new."""

    def _established(**fields):
        use_case = UseCaseFactory(**fields)
        spend(use_case, long_ago, "10")
        return use_case

    return _established


def test_a_funding_request_for_the_next_milestone_needs_review(fire, established):
    # Given a concept whose owners ask for the MVP's funding
    use_case = established(stage=Stage.CONCEPT)
    request = FundingRequestFactory(use_case=use_case, target_stage=Stage.MVP, amount=Decimal("9000"))

    # When the triggers are read
    found = fire()

    # Then it needs review, for that request, with the amount at stake
    assert _codes(found, use_case) == [Code.FUNDING_REQUEST]
    (reason,) = found[use_case.pk].reasons
    assert reason.key == f"funding_request:{request.pk}"
    assert found[use_case.pk].amount_at_stake == Decimal("9000")


def test_a_pilot_asking_to_scale_needs_review(fire, established, board):
    # Given a pilot whose owner asks to move to launch
    use_case = established(stage=Stage.PILOT)
    StageMoveRequest.objects.create(use_case=use_case, target_stage=Stage.LAUNCH, requested_by=board.chair)

    assert _codes(fire(), use_case) == [Code.SCALE_REQUEST]


def test_a_funding_request_from_launch_to_scale_is_both_a_funding_and_a_scale_review(fire, established):
    use_case = established(stage=Stage.LAUNCH)
    FundingRequestFactory(use_case=use_case, target_stage=Stage.SCALE)

    assert _codes(fire(), use_case) == sorted([Code.FUNDING_REQUEST, Code.SCALE_REQUEST])


def test_spend_past_the_threshold_last_month_needs_review(fire, established, spend, today):
    # Given a launched use case that spent 6,000 USD last month (threshold 5,000)
    use_case = established(stage=Stage.LAUNCH, expected_monthly_cost=Decimal("6000"))
    spend(use_case, months_back(today, 1), "6000")

    found = fire()

    assert _codes(found, use_case) == [Code.SPEND_THRESHOLD]
    assert "6,000.00 USD last month, above the 5,000.00 USD threshold" in found[use_case.pk].reasons[0].detail


def test_spend_past_the_threshold_this_month_needs_review(fire, established, spend, today):
    use_case = established(stage=Stage.SCALE, expected_monthly_cost=Decimal("6000"))
    spend(use_case, today, "5200")

    assert _codes(fire(), use_case) == [Code.SPEND_THRESHOLD]


def test_a_model_new_to_a_use_case_is_a_variable_cost_service_introduced(fire, established, spend, today):
    # Given a pilot that has used one model for months, and a second model since five days ago
    use_case = established(stage=Stage.PILOT)
    spend(use_case, today - datetime.timedelta(days=5), "40", model="new")

    found = fire()

    assert _codes(found, use_case) == [Code.NEW_SERVICE]
    assert found[use_case.pk].reasons[0].detail.startswith("OpenAI / o3: first spend on")


def test_an_intake_triaged_as_review_required_and_accepted_needs_review(fire, established):
    use_case = established(stage=Stage.CONCEPT)
    intake = IntakeRequestFactory(use_case=use_case)

    found = fire()

    assert _codes(found, use_case) == [Code.INTAKE_REVIEW]
    assert found[use_case.pk].reasons[0].key == f"intake:{intake.pk}"


def test_more_than_15_percent_over_the_approved_budget_escalates(fire, established, spend, today):
    # Given a use case with a 1,000 USD monthly budget that spent 1,200 this month (20 % over)
    use_case = established(stage=Stage.LAUNCH)
    BudgetFactory(scope=BudgetScope.USE_CASE, use_case=use_case, amount=Decimal("1000"))
    spend(use_case, today, "1200")

    found = fire()

    assert _codes(found, use_case) == [Code.OVER_BUDGET]
    assert "20.0 % over" in found[use_case.pk].reasons[0].detail


def test_ten_percent_over_budget_is_not_an_escalation(fire, established, spend, today):
    use_case = established(stage=Stage.LAUNCH)
    BudgetFactory(scope=BudgetScope.USE_CASE, use_case=use_case, amount=Decimal("1000"))
    spend(use_case, today, "1100")

    assert _codes(fire(), use_case) == []


def test_two_consecutive_missed_milestones_escalate(fire, established, today):
    use_case = established(stage=Stage.PILOT, consecutive_missed_milestones=2)
    for _ in range(2):
        MilestoneFactory(use_case=use_case, status=MilestoneStatus.MISSED, due_date=today)

    assert _codes(fire(), use_case) == [Code.MISSED_MILESTONES]


def test_one_missed_milestone_does_not_escalate(fire, established, today):
    use_case = established(stage=Stage.PILOT, consecutive_missed_milestones=1)
    MilestoneFactory(use_case=use_case, status=MilestoneStatus.MISSED, due_date=today)

    assert _codes(fire(), use_case) == []


def test_quality_below_the_floor_fails_the_quality_gate(fire, established, today):
    # Given last month's value signal scored 62 against a floor of 70
    use_case = established(stage=Stage.LAUNCH)
    ValueSignalFactory(use_case=use_case, month=months_back(today, 1), quality_score=Decimal("62"))

    found = fire()

    assert _codes(found, use_case) == [Code.QUALITY_GATE]
    assert "Quality 62.00" in found[use_case.pk].reasons[0].detail


def test_a_quality_gate_item_reopened_after_its_stage_fails_the_quality_gate(fire, established):
    # Given a launched use case whose testing plan (an MVP gate item) was reopened
    use_case = established(stage=Stage.LAUNCH)
    GateItemState.objects.create(use_case=use_case, code="testing_plan", status=GateItemStatus.OPEN)

    found = fire()

    assert _codes(found, use_case) == [Code.QUALITY_GATE]
    assert found[use_case.pk].reasons[0].detail.startswith("“Testing plan” was reopened")


def test_a_high_severity_anomaly_left_open_escalates(fire, established, today):
    use_case = established(stage=Stage.LAUNCH)
    anomaly = AnomalyFactory(use_case=use_case, date=today - datetime.timedelta(days=5))
    AnomalyFactory(use_case=use_case, date=today - datetime.timedelta(days=6), status="explained")
    AnomalyFactory(use_case=use_case, date=today - datetime.timedelta(days=7), severity="medium")

    found = fire()

    assert _codes(found, use_case) == [Code.OPEN_ANOMALY]
    assert found[use_case.pk].reasons[0].key == f"anomaly:{anomaly.pk}"


def test_an_anomaly_found_today_is_not_yet_left_open(fire, established, today):
    use_case = established(stage=Stage.LAUNCH)
    AnomalyFactory(use_case=use_case, date=today)

    assert _codes(fire(), use_case) == []


def test_success_criteria_missed_at_two_consecutive_reviews_recommend_a_sunset(fire, established, today):
    # Given a use case expected to deliver 2,500 USD a month that delivered 250 for two months
    use_case = established(stage=Stage.LAUNCH)
    for back in (1, 2):
        ValueSignalFactory(
            use_case=use_case, month=months_back(today, back), outcomes=100, quality_score=None
        )

    found = fire()

    assert _codes(found, use_case) == [Code.CRITERIA_MISSED]
    reason = found[use_case.pk].reasons[0]
    assert reason.severity == "critical"
    assert reason.detail.endswith("the council is asked to consider a sunset.")


def test_success_criteria_missed_once_is_not_enough(fire, established, today):
    use_case = established(stage=Stage.LAUNCH)
    ValueSignalFactory(use_case=use_case, month=months_back(today, 1), outcomes=100, quality_score=None)
    ValueSignalFactory(use_case=use_case, month=months_back(today, 2), outcomes=1000, quality_score=None)

    assert _codes(fire(), use_case) == []


def test_a_low_cost_experiment_within_budget_never_reaches_the_agenda(fire, spend, today):
    # Given a concept trying a brand-new model for a few dollars a day, within its 500 USD budget
    experiment = UseCaseFactory(stage=Stage.CONCEPT, expected_monthly_cost=Decimal("200"))
    BudgetFactory(scope=BudgetScope.USE_CASE, use_case=experiment, amount=Decimal("500"))
    for back in range(3):
        spend(experiment, today - datetime.timedelta(days=back), "4.50", model="new")

    # When the triggers are read
    found = fire()

    # Then it is not there
    assert experiment.pk not in found


def test_an_experiment_over_the_low_cost_limit_is_reviewed_for_its_new_model(fire, spend, today):
    use_case = UseCaseFactory(stage=Stage.MVP, expected_monthly_cost=Decimal("200"))
    spend(use_case, today, "1500", model="new")

    assert _codes(fire(), use_case) == [Code.NEW_SERVICE]


def test_a_reason_decided_once_does_not_come_back(fire, established, board):
    # Given a funding request the council already decided on, in a closed meeting
    use_case = established(stage=Stage.PILOT)
    StageMoveRequest.objects.create(use_case=use_case, target_stage=Stage.LAUNCH, requested_by=board.chair)
    (reason,) = fire()[use_case.pk].reasons
    meeting = MeetingFactory(council=board, state=MeetingState.CLOSED)
    AgendaItemFactory(
        meeting=meeting, use_case=use_case, reasons=[reason.as_dict()], status=AgendaItemStatus.DECIDED
    )

    # Then the same move request no longer brings it to the council
    assert _codes(fire(), use_case) == []


def test_thresholds_are_configurable(fire, established, spend, today, board):
    use_case = established(stage=Stage.LAUNCH)
    spend(use_case, today, "3000")
    assert _codes(fire(), use_case) == []

    board.thresholds.spend_threshold = Decimal("2500")
    board.thresholds.save()

    assert _codes(fire(), use_case) == [Code.SPEND_THRESHOLD]


def test_sunset_use_cases_are_never_reviewed(fire, spend, today):
    use_case = UseCaseFactory(stage=Stage.SUNSET)
    spend(use_case, today, "9000", model="new")

    assert fire() == {}


def test_the_triggers_read_the_portfolio_in_a_fixed_number_of_queries(
    fire, established, spend, today, django_assert_max_num_queries
):
    # Given many use cases, each firing a trigger
    for n in range(12):
        use_case = established(stage=Stage.PILOT, consecutive_missed_milestones=2)
        spend(use_case, today - datetime.timedelta(days=2), "20", model="new")
        FundingRequestFactory(use_case=use_case, target_stage=Stage.LAUNCH)
        ValueSignalFactory(use_case=use_case, month=months_back(today, 1), quality_score=Decimal(50 + n))

    # When the triggers are read, then the queries do not grow with the use cases
    with django_assert_max_num_queries(16):
        found = fire()
    assert len(found) == 12
