"""Budgets: periods, the figures of a budget, evaluation (alerts once per threshold and period,
projection warnings, notifications), approval mode, hard caps, and the rules of saving one."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import override_settings

from aifinops.core.models import AuditEvent, Notification
from portfolio.choices import AutonomyLevel, BusinessFunction, MembershipRole
from portfolio.tests.factories import (
    AIModelFactory,
    MembershipFactory,
    ProviderFactory,
    TeamFactory,
    UseCaseFactory,
)
from showback.budgets import selectors, services
from showback.budgets.tasks import evaluate_budgets
from showback.models import (
    Budget,
    BudgetAlert,
    BudgetAlertStatus,
    BudgetIncreaseRequest,
    BudgetMode,
    BudgetPeriod,
    BudgetScope,
    IncreaseRequestStatus,
)
from showback.tests.budget_factories import BudgetFactory
from showback.tests.factories import DailySpendFactory

JUNE_10 = datetime.datetime(2025, 6, 10, 12, 0, tzinfo=datetime.UTC)


def _spend(day, cost, **kwargs):
    cost = Decimal(str(cost))
    return DailySpendFactory(date=day, billed_cost=cost, effective_cost=cost, list_cost=cost, **kwargs)


def _daily(first, last, cost, **kwargs):
    day = first
    while day <= last:
        _spend(day, cost, **kwargs)
        day += datetime.timedelta(days=1)


def _june(n):
    return datetime.date(2025, 6, n)


# Periods and figures.


@pytest.mark.parametrize(
    ("period", "day", "bounds"),
    [
        (
            BudgetPeriod.MONTHLY,
            datetime.date(2024, 2, 10),
            (datetime.date(2024, 2, 1), datetime.date(2024, 2, 29)),
        ),
        (
            BudgetPeriod.QUARTERLY,
            datetime.date(2025, 5, 20),
            (datetime.date(2025, 4, 1), datetime.date(2025, 6, 30)),
        ),
        (
            BudgetPeriod.QUARTERLY,
            datetime.date(2025, 12, 31),
            (datetime.date(2025, 10, 1), datetime.date(2025, 12, 31)),
        ),
        (
            BudgetPeriod.ANNUAL,
            datetime.date(2025, 7, 4),
            (datetime.date(2025, 1, 1), datetime.date(2025, 12, 31)),
        ),
    ],
)
def test_period_bounds(period, day, bounds):
    assert selectors.period_bounds(period, day) == bounds


def test_projection_is_the_burn_rate_times_the_days_in_the_period(cast):
    # Given a 3,000 monthly budget and 100 a day of spend for the first ten days of June (30 days)
    budget = BudgetFactory(scope=BudgetScope.TEAM, team=cast.team_a, amount=Decimal("3000"))
    _daily(_june(1), _june(10), 100, team=cast.team_a)

    # When its figures are read on 10 June
    status = selectors.budget_status(budget, today=_june(10))

    # Then it burns 100 a day and is projected to land exactly on its amount
    assert status.actual == Decimal("1000.00")
    assert status.days_elapsed == 10
    assert status.burn_rate == Decimal("100.00")
    assert status.projected == Decimal("3000.00")
    assert status.remaining == Decimal("2000.00")
    assert status.used_pct == Decimal("33.3")
    assert status.state == "on_track"


def test_figures_stop_at_the_latest_day_with_imported_spend(cast):
    # Given spend imported up to 8 June only (bills arrive late)
    budget = BudgetFactory(scope=BudgetScope.TEAM, team=cast.team_a, amount=Decimal("3000"))
    _daily(_june(1), _june(8), 120, team=cast.team_a)

    # When read on 10 June
    status = selectors.budget_status(budget, today=_june(10))

    # Then the burn rate divides by the 8 days that have data, not by 10
    assert status.as_of == _june(8)
    assert status.burn_rate == Decimal("120.00")
    assert status.projected == Decimal("3600.00")
    assert status.state == "at_risk"


def test_only_ai_spend_in_the_budgets_currency_and_scope_counts(cast):
    other_provider = ProviderFactory(slug="other")
    budget = BudgetFactory(scope=BudgetScope.USE_CASE, use_case=cast.use_case_a, amount=Decimal("1000"))
    _spend(_june(2), 100, use_case=cast.use_case_a, team=cast.team_a)
    _spend(_june(2), 50, use_case=cast.use_case_a, team=cast.team_a, provider=other_provider)
    _spend(_june(2), 999, use_case=cast.use_case_a, team=cast.team_a, is_ai=False)
    _spend(_june(2), 999, use_case=cast.use_case_a, team=cast.team_a, currency="EUR")
    _spend(_june(2), 999, use_case=cast.use_case_b, team=cast.team_b)
    _spend(datetime.date(2025, 5, 31), 999, use_case=cast.use_case_a, team=cast.team_a)

    assert selectors.budget_status(budget, today=_june(10)).actual == Decimal("150.00")


def test_each_scope_matches_its_own_spend(cast):
    openai = ProviderFactory(slug="openai", name="OpenAI")
    gpt = AIModelFactory(provider=openai, key="gpt-4.1")
    agent = UseCaseFactory(
        team=cast.team_a,
        autonomy_level=AutonomyLevel.AUTONOMOUS_AGENT,
        business_function=BusinessFunction.CUSTOMER_SUPPORT,
    )
    cast.use_case_b.business_function = BusinessFunction.MARKETING
    cast.use_case_b.save()
    _spend(_june(3), 10, use_case=cast.use_case_a, team=cast.team_a, provider=openai, model=gpt)
    _spend(_june(3), 20, use_case=agent, team=cast.team_a, provider=openai)
    _spend(_june(3), 40, use_case=cast.use_case_b, team=cast.team_b)
    _spend(_june(3), 80, team=cast.team_b)  # unattributed to a use case
    budgets = {
        "portfolio": BudgetFactory(scope=BudgetScope.PORTFOLIO),
        "function": BudgetFactory(scope=BudgetScope.FUNCTION, function=BusinessFunction.CUSTOMER_SUPPORT),
        "team": BudgetFactory(scope=BudgetScope.TEAM, team=cast.team_b),
        "use_case": BudgetFactory(scope=BudgetScope.USE_CASE, use_case=cast.use_case_a),
        "agent": BudgetFactory(scope=BudgetScope.AGENT, use_case=agent),
        "provider": BudgetFactory(scope=BudgetScope.PROVIDER, provider=openai),
        "model": BudgetFactory(scope=BudgetScope.MODEL, model=gpt),
    }

    statuses = selectors.budget_statuses(budgets.values(), today=_june(10))

    actual = {name: statuses[b.pk].actual for name, b in budgets.items()}
    assert actual == {
        "portfolio": Decimal("150.00"),
        "function": Decimal("30.00"),
        "team": Decimal("120.00"),
        "use_case": Decimal("10.00"),
        "agent": Decimal("20.00"),
        "provider": Decimal("30.00"),
        "model": Decimal("10.00"),
    }


def test_figures_of_many_budgets_take_one_query_per_period(cast, django_assert_num_queries):
    budgets = [
        BudgetFactory(scope=BudgetScope.TEAM, team=cast.team_a),
        BudgetFactory(scope=BudgetScope.USE_CASE, use_case=cast.use_case_a),
        BudgetFactory(scope=BudgetScope.PORTFOLIO, period=BudgetPeriod.QUARTERLY),
        BudgetFactory(scope=BudgetScope.TEAM, team=cast.team_b, period=BudgetPeriod.ANNUAL),
    ]
    _spend(_june(3), 10, team=cast.team_a)

    with django_assert_num_queries(4):  # the latest spend day, then monthly, quarterly, annual
        selectors.budget_statuses(budgets, today=_june(10))


# Evaluation.


def _alerts(budget):
    return list(BudgetAlert.objects.filter(budget=budget).order_by("created_at", "id"))


def test_a_threshold_alert_fires_once_however_often_evaluation_runs(cast, django_capture_on_commit_callbacks):
    # Given a budget 55 % used on 20 June, on course for 82.5 % at the end of the month
    budget = BudgetFactory(scope=BudgetScope.TEAM, team=cast.team_a, amount=Decimal("1000"), owner=cast.owner)
    _daily(_june(1), _june(20), Decimal("27.50"), team=cast.team_a)
    june_20 = datetime.datetime(2025, 6, 20, 18, tzinfo=datetime.UTC)

    # When evaluation runs twice
    first = services.budgets_evaluate(now=june_20)
    second = services.budgets_evaluate(now=june_20)

    # Then one 50 % alert exists, created by the first run only, with an audit event
    assert [(a.kind, a.threshold) for a in first] == [("threshold", 50)]
    assert second == []
    alerts = _alerts(budget)
    assert [(a.threshold, a.actual, a.amount, a.period_start) for a in alerts] == [
        (50, Decimal("550.00"), Decimal("1000.00"), _june(1))
    ]
    assert AuditEvent.objects.filter(action="budget_alert.fire", object_id=str(alerts[0].pk)).count() == 1


def test_the_next_threshold_fires_when_spend_crosses_it_and_a_new_period_starts_over(cast):
    budget = BudgetFactory(scope=BudgetScope.TEAM, team=cast.team_a, amount=Decimal("1000"))
    _daily(_june(1), _june(5), 110, team=cast.team_a)
    services.budgets_evaluate(now=JUNE_10)

    _daily(_june(6), _june(8), 100, team=cast.team_a)  # 850: past 80 %
    services.budgets_evaluate(now=JUNE_10)
    services.budgets_evaluate(now=JUNE_10)
    _spend(datetime.date(2025, 7, 1), 600, team=cast.team_a)  # July: 60 % of a new period
    services.budgets_evaluate(now=datetime.datetime(2025, 7, 2, tzinfo=datetime.UTC))

    assert [(a.period_start, a.threshold) for a in _alerts(budget) if a.kind == "threshold"] == [
        (_june(1), 50),
        (_june(1), 80),
        (datetime.date(2025, 7, 1), 50),
    ]


def test_thresholds_crossed_at_once_raise_one_alert_for_the_highest(cast):
    budget = BudgetFactory(scope=BudgetScope.TEAM, team=cast.team_a, amount=Decimal("1000"))
    _spend(_june(9), 1200, team=cast.team_a)

    services.budgets_evaluate(now=JUNE_10)
    services.budgets_evaluate(now=JUNE_10)

    assert [a.threshold for a in _alerts(budget) if a.kind == "threshold"] == [100]


def test_a_projection_over_the_amount_warns_once_before_the_amount_is_reached(cast):
    # Given 450 spent in the first 4 days of a 3,000 June budget: 112.50 a day projects to 3,375
    budget = BudgetFactory(scope=BudgetScope.TEAM, team=cast.team_a, amount=Decimal("3000"), thresholds=[90])
    _daily(_june(1), _june(4), Decimal("112.50"), team=cast.team_a)

    created = services.budgets_evaluate(now=datetime.datetime(2025, 6, 4, 18, tzinfo=datetime.UTC))
    services.budgets_evaluate(now=datetime.datetime(2025, 6, 4, 19, tzinfo=datetime.UTC))

    assert [(a.kind, a.threshold, a.projected) for a in created] == [("projection", None, Decimal("3375.00"))]
    assert len(_alerts(budget)) == 1


def test_no_projection_warning_in_the_first_days_of_a_period(cast):
    budget = BudgetFactory(scope=BudgetScope.TEAM, team=cast.team_a, amount=Decimal("3000"), thresholds=[90])
    _daily(_june(1), _june(2), 400, team=cast.team_a)  # would project 12,000

    services.budgets_evaluate(now=datetime.datetime(2025, 6, 2, 18, tzinfo=datetime.UTC))

    assert _alerts(budget) == []


def test_alerts_notify_the_budget_owner_the_use_case_owners_and_the_team_leads(cast, login):
    lead = MembershipFactory(team=cast.team_a, role=MembershipRole.LEAD).user
    cast.use_case_a.technical_owner = cast.requester_a
    cast.use_case_a.save()
    budget = BudgetFactory(
        scope=BudgetScope.USE_CASE, use_case=cast.use_case_a, amount=Decimal("100"), owner=cast.finance
    )
    _spend(_june(9), 85, use_case=cast.use_case_a, team=cast.team_a)

    services.budgets_evaluate(now=JUNE_10)

    notified = Notification.objects.filter(subject__startswith="Budget 80% used")
    assert {n.recipient for n in notified} == {cast.finance, cast.owner, cast.requester_a, lead}
    assert all(n.url == f"/showback/budgets/{budget.pk}/" for n in notified)
    assert "85.00 USD spent of 100.00 USD" in notified[0].body


def test_evaluation_skips_inactive_budgets_and_the_task_evaluates_all(cast):
    budget = BudgetFactory(scope=BudgetScope.TEAM, team=cast.team_a, amount=Decimal("100"), active=False)
    _spend(datetime.datetime.now(tz=datetime.UTC).date(), 500, team=cast.team_a)

    assert evaluate_budgets.delay().get() == {"alerts": 0}
    assert _alerts(budget) == []


def test_evaluating_again_reads_a_constant_number_of_queries_however_many_budgets(
    cast, django_assert_max_num_queries
):
    # Given approval-mode budgets past a threshold, past the approval line and projected over,
    # each already alerted and with its increase request open
    _daily(_june(1), _june(10), 95, team=cast.team_a)  # 950 of 1,000 by 10 June, projects 2,850

    def approval_budgets(n):
        for _ in range(n):
            BudgetFactory(amount=Decimal("1000"), mode=BudgetMode.APPROVAL, approval_above_pct=90)
        services.budgets_evaluate(now=JUNE_10)

    approval_budgets(1)

    # When evaluation runs again, with one budget and then with five
    with django_assert_max_num_queries(10) as few:
        assert services.budgets_evaluate(now=JUNE_10) == []
    approval_budgets(4)

    # Then it reads as many queries with five as with one
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert services.budgets_evaluate(now=JUNE_10) == []
    assert BudgetIncreaseRequest.objects.count() == 5


# Approval mode.


@pytest.fixture
def approval_budget(cast):
    budget = BudgetFactory(
        scope=BudgetScope.USE_CASE,
        use_case=cast.use_case_a,
        amount=Decimal("1000"),
        mode=BudgetMode.APPROVAL,
        approval_above_pct=90,
        owner=cast.owner,
    )
    _daily(_june(1), _june(10), 95, use_case=cast.use_case_a, team=cast.team_a)  # 950, projects 2,850
    return budget


def test_crossing_the_approval_threshold_opens_one_increase_request(approval_budget):
    services.budgets_evaluate(now=JUNE_10)
    services.budgets_evaluate(now=JUNE_10)

    request = BudgetIncreaseRequest.objects.get(budget=approval_budget)
    assert request.status == IncreaseRequestStatus.OPEN
    assert (request.current_amount, request.requested_amount) == (Decimal("1000.00"), Decimal("2850.00"))
    assert request.period_start == _june(1)
    assert request.needs_council is False
    assert "95.0%" in request.reason
    assert AuditEvent.objects.filter(action="budget_increase.open").count() == 1


@override_settings(AIFINOPS_COUNCIL_BUDGET_INCREASE_ABOVE=Decimal("1500"))
def test_an_increase_above_the_council_amount_also_goes_to_the_council(approval_budget):
    services.budgets_evaluate(now=JUNE_10)

    assert BudgetIncreaseRequest.objects.get(budget=approval_budget).needs_council is True
    assert [r.budget for r in selectors.budgets_needing_council()] == [approval_budget]


@pytest.mark.parametrize("who", ["owner", "finance"])
def test_the_budget_owner_or_finance_approve_and_the_budget_is_raised(cast, approval_budget, who):
    services.budgets_evaluate(now=JUNE_10)
    request = BudgetIncreaseRequest.objects.get(budget=approval_budget)

    services.budget_increase_approve(actor=getattr(cast, who), request=request, note="Launch month")

    request.refresh_from_db()
    approval_budget.refresh_from_db()
    assert request.status == IncreaseRequestStatus.APPROVED
    assert request.decided_by == getattr(cast, who)
    assert approval_budget.amount == Decimal("2850.00")
    actions = set(AuditEvent.objects.filter(actor=getattr(cast, who)).values_list("action", flat=True))
    assert actions == {"budget_increase.approve", "budget.update"}


def test_a_team_member_who_does_not_own_the_budget_cannot_decide(cast, approval_budget):
    services.budgets_evaluate(now=JUNE_10)
    request = BudgetIncreaseRequest.objects.get(budget=approval_budget)

    with pytest.raises(PermissionDenied):
        services.budget_increase_approve(actor=cast.requester_a, request=request)
    with pytest.raises(PermissionDenied):
        services.budget_increase_reject(actor=cast.requester_a, request=request, note="No")

    request.refresh_from_db()
    assert request.status == IncreaseRequestStatus.OPEN


def test_a_rejection_needs_a_note_and_an_approval_a_higher_amount(cast, approval_budget):
    services.budgets_evaluate(now=JUNE_10)
    request = BudgetIncreaseRequest.objects.get(budget=approval_budget)

    with pytest.raises(ValidationError) as no_note:
        services.budget_increase_reject(actor=cast.owner, request=request, note=" ")
    with pytest.raises(ValidationError) as too_low:
        services.budget_increase_approve(actor=cast.owner, request=request, amount=Decimal("900"))

    assert "note" in no_note.value.message_dict
    assert "above the current budget" in too_low.value.message_dict["amount"][0]
    services.budget_increase_reject(actor=cast.owner, request=request, note="Optimise the prompts first")
    request.refresh_from_db()
    assert request.status == IncreaseRequestStatus.REJECTED
    # Rejected for this period: evaluation does not open another one.
    services.budgets_evaluate(now=JUNE_10)
    assert BudgetIncreaseRequest.objects.filter(budget=approval_budget).count() == 1


# Hard caps.


def test_a_use_case_is_capped_when_its_hard_cap_budget_is_used_up(cast):
    cap = BudgetFactory(
        scope=BudgetScope.USE_CASE, use_case=cast.use_case_a, amount=Decimal("500"), mode=BudgetMode.HARD_CAP
    )
    BudgetFactory(scope=BudgetScope.USE_CASE, use_case=cast.use_case_b, amount=Decimal("500"))  # alert only
    _spend(_june(5), 499, use_case=cast.use_case_a, team=cast.team_a)
    _spend(_june(5), 900, use_case=cast.use_case_b, team=cast.team_b)

    assert selectors.capped_use_case_ids(today=_june(10)) == set()
    assert selectors.use_case_cap_status(cast.use_case_a, today=_june(10)).capped is False
    assert selectors.use_case_cap_status(cast.use_case_b, today=_june(10)) is None

    _spend(_june(6), 1, use_case=cast.use_case_a, team=cast.team_a)

    assert selectors.capped_use_case_ids(today=_june(10)) == {cast.use_case_a.pk}
    status = selectors.use_case_cap_status(cast.use_case_a, today=_june(10))
    assert (status.capped, status.budget, status.status.actual) == (True, cap, Decimal("500.00"))
    # A new period lifts the cap.
    assert selectors.capped_use_case_ids(today=datetime.date(2025, 7, 1)) == set()


def test_reaching_a_hard_cap_is_announced_even_without_a_100_threshold(cast):
    cap = BudgetFactory(
        scope=BudgetScope.USE_CASE,
        use_case=cast.use_case_a,
        amount=Decimal("100"),
        mode=BudgetMode.HARD_CAP,
        thresholds=[50],
        owner=cast.finance,
    )
    _spend(_june(9), 100, use_case=cast.use_case_a, team=cast.team_a)

    services.budgets_evaluate(now=JUNE_10)

    assert [a.threshold for a in _alerts(cap)] == [100]
    body = Notification.objects.get(recipient=cast.finance, subject__startswith="Budget 100% used").body
    assert "The hard cap is reached" in body


def test_an_agent_is_capped_by_its_agent_budget_and_an_inactive_cap_caps_nothing(cast):
    agent = UseCaseFactory(team=cast.team_a, autonomy_level=AutonomyLevel.SUPERVISED_AGENT)
    cap = BudgetFactory(
        scope=BudgetScope.AGENT, use_case=agent, amount=Decimal("50"), mode=BudgetMode.HARD_CAP
    )
    _spend(_june(5), 60, use_case=agent, team=cast.team_a)

    assert selectors.capped_use_case_ids(today=_june(10)) == {agent.pk}

    cap.active = False
    cap.save()
    assert selectors.capped_use_case_ids(today=_june(10)) == set()


@pytest.mark.parametrize("scope", [BudgetScope.TEAM, BudgetScope.FUNCTION, BudgetScope.PORTFOLIO])
def test_a_used_up_group_cap_flags_the_use_cases_it_stops(cast, scope):
    cast.use_case_a.business_function = "customer_support"
    cast.use_case_a.save()
    cast.use_case_b.business_function = "marketing"
    cast.use_case_b.save()
    sibling = UseCaseFactory(team=cast.team_a, business_function="customer_support")
    target = {
        BudgetScope.TEAM: {"team": cast.team_a},
        BudgetScope.FUNCTION: {"function": "customer_support"},
        BudgetScope.PORTFOLIO: {},
    }[scope]
    BudgetFactory(scope=scope, amount=Decimal("500"), mode=BudgetMode.HARD_CAP, **target)
    _spend(_june(5), 400, use_case=cast.use_case_a, team=cast.team_a)
    _spend(_june(5), 99, use_case=sibling, team=cast.team_a)

    assert selectors.capped_use_case_ids(today=_june(10)) == set()

    _spend(_june(6), 1, use_case=sibling, team=cast.team_a)
    capped = selectors.capped_use_case_ids(today=_june(10))

    if scope == BudgetScope.PORTFOLIO:
        assert capped == {cast.use_case_a.pk, cast.use_case_b.pk, sibling.pk}
    else:
        assert capped == {cast.use_case_a.pk, sibling.pk}
    assert selectors.capped_use_case_ids(today=datetime.date(2025, 7, 1)) == set()


def test_customer_tag_provider_and_model_caps_do_not_flag_a_whole_use_case(cast):
    provider = ProviderFactory(slug="openai")
    for values in (
        {"scope": BudgetScope.CUSTOMER, "customer": "acme"},
        {"scope": BudgetScope.TAG, "tag_key": "feature", "tag_value": "search"},
        {"scope": BudgetScope.PROVIDER, "provider": provider},
    ):
        BudgetFactory(amount=Decimal("1"), mode=BudgetMode.HARD_CAP, **values)
    _spend(_june(5), 50, use_case=cast.use_case_a, team=cast.team_a, provider=provider)

    assert selectors.capped_use_case_ids(today=_june(10)) == set()


def test_capped_use_cases_take_constant_queries_as_group_caps_grow(cast, django_assert_max_num_queries):
    def grow(n):
        for _ in range(n):
            team = TeamFactory()
            UseCaseFactory(team=team)
            BudgetFactory(scope=BudgetScope.TEAM, team=team, amount=Decimal("1"), mode=BudgetMode.HARD_CAP)
            _spend(_june(5), 5, use_case=None, team=team)

    grow(2)
    with django_assert_max_num_queries(5):
        assert len(selectors.capped_use_case_ids(today=_june(10))) == 2
    grow(10)
    with django_assert_max_num_queries(5):
        assert len(selectors.capped_use_case_ids(today=_june(10))) == 12


# Saving budgets.


def _values(**kwargs):
    return {"name": "Support, monthly", "scope": BudgetScope.TEAM, "amount": Decimal("1000"), **kwargs}


def test_finance_saves_a_budget_with_an_audit_event_and_default_thresholds(cast):
    budget = services.budget_save(
        actor=cast.finance, values=_values(team=cast.team_a, thresholds="80, 50,100")
    )

    assert (budget.thresholds, budget.owner, budget.currency, budget.period) == (
        [50, 80, 100],
        cast.finance,
        "USD",
        BudgetPeriod.MONTHLY,
    )
    assert AuditEvent.objects.get(action="budget.create").object_id == str(budget.pk)


def test_only_finance_and_platform_admins_save_budgets(cast):
    for person in (cast.requester_a, cast.owner, cast.chair):
        with pytest.raises(PermissionDenied):
            services.budget_save(actor=person, values=_values(team=cast.team_a))
    assert services.budget_save(actor=cast.admin, values=_values(team=cast.team_a)).pk


@pytest.mark.parametrize(
    ("values", "field", "words"),
    [
        (_values(), "team", "needs a team"),
        (_values(scope=BudgetScope.FUNCTION), "function", "needs the function"),
        (_values(scope=BudgetScope.USE_CASE, mode=BudgetMode.HARD_CAP), "use_case", "needs a use case"),
        (_values(amount=Decimal("0")), "amount", "above 0"),
        (_values(thresholds="50, lots"), "thresholds", "whole percentages"),
        (_values(thresholds="0, 50"), "thresholds", "from 1 to 1000"),
        (_values(currency="US"), "currency", "three-letter"),
    ],
)
def test_bad_budgets_are_refused_naming_the_field(cast, values, field, words):
    with pytest.raises(ValidationError) as refused:
        services.budget_save(actor=cast.finance, values=values)

    assert words in " ".join(refused.value.message_dict[field])
    assert not Budget.objects.exists()


def test_a_hard_cap_is_saved_on_a_provider_and_an_agent_budget_is_only_for_an_agent(cast):
    provider = ProviderFactory(slug="openai")
    provider_cap = services.budget_save(
        actor=cast.finance,
        values=_values(scope=BudgetScope.PROVIDER, provider=provider, mode=BudgetMode.HARD_CAP),
    )
    with pytest.raises(ValidationError) as not_agent:
        services.budget_save(
            actor=cast.finance, values=_values(scope=BudgetScope.AGENT, use_case=cast.use_case_a)
        )

    assert (provider_cap.scope, provider_cap.provider, provider_cap.mode) == (
        BudgetScope.PROVIDER,
        provider,
        BudgetMode.HARD_CAP,
    )
    assert "supervised or autonomous agent" in not_agent.value.message_dict["use_case"][0]


def test_finance_saves_a_team_hard_cap(cast):
    budget = services.budget_save(
        actor=cast.finance, values=_values(team=cast.team_a, mode=BudgetMode.HARD_CAP)
    )

    assert (budget.scope, budget.team, budget.mode) == (BudgetScope.TEAM, cast.team_a, BudgetMode.HARD_CAP)
    assert AuditEvent.objects.get(action="budget.create").object_id == str(budget.pk)


def test_targets_that_do_not_match_the_scope_are_dropped(cast):
    budget = services.budget_save(
        actor=cast.finance, values=_values(team=cast.team_a, use_case=cast.use_case_a, function="sales")
    )

    assert (budget.team, budget.use_case, budget.function) == (cast.team_a, None, "")


def test_the_database_refuses_a_budget_whose_target_does_not_match_its_scope(cast):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Budget.objects.create(
            name="x", scope=BudgetScope.PORTFOLIO, team=cast.team_a, amount=Decimal("1"), owner=cast.finance
        )


# Alerts.


@pytest.fixture
def alert(cast):
    BudgetFactory(
        scope=BudgetScope.USE_CASE, use_case=cast.use_case_a, amount=Decimal("100"), thresholds=[50]
    )
    _spend(_june(9), 60, use_case=cast.use_case_a, team=cast.team_a)
    return services.budgets_evaluate(now=JUNE_10)[0]


def test_an_owner_acknowledges_then_resolves_an_alert_with_a_note(cast, alert):
    services.budget_alert_acknowledge(actor=cast.owner, alert=alert, note="Looking into the retries")
    services.budget_alert_resolve(actor=cast.owner, alert=alert, note="Retry storm fixed")

    alert.refresh_from_db()
    assert alert.status == BudgetAlertStatus.RESOLVED
    assert (alert.acknowledged_by, alert.resolved_by, alert.note) == (
        cast.owner,
        cast.owner,
        "Retry storm fixed",
    )
    actions = list(
        AuditEvent.objects.filter(object_id=str(alert.pk), actor=cast.owner).values_list("action", flat=True)
    )
    assert sorted(actions) == ["budget_alert.acknowledge", "budget_alert.resolve"]


def test_resolving_needs_a_note_and_a_team_member_without_ownership_cannot(cast, alert):
    with pytest.raises(ValidationError) as no_note:
        services.budget_alert_resolve(actor=cast.finance, alert=alert, note="")
    with pytest.raises(PermissionDenied):
        services.budget_alert_acknowledge(actor=cast.requester_a, alert=alert)

    assert "note" in no_note.value.message_dict
    alert.refresh_from_db()
    assert alert.status == BudgetAlertStatus.OPEN
