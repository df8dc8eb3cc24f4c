"""Budget pages and API: who sees and does what (anonymous, another team, the owner, finance), the
figures a team reads, htmx actions on alerts and increase requests, and constant query counts."""

import datetime
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from aifinops.core import periods
from aifinops.core.models import AuditEvent
from aifinops.core.tests.factories import UserFactory
from portfolio.choices import AutonomyLevel
from portfolio.tests.factories import AIModelFactory, ProviderFactory, UseCaseFactory
from showback.budgets import services
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

LIST = reverse("showback:budget_list")
API = "/api/v1/budgets/"


def _today():
    return datetime.datetime.now(tz=datetime.UTC).date()


def _spend(cost, **kwargs):
    cost = Decimal(str(cost))
    return DailySpendFactory(date=_today(), effective_cost=cost, billed_cost=cost, list_cost=cost, **kwargs)


@pytest.fixture
def budgets(cast):
    """Team A's use case over its hard cap, team B's team budget, and a portfolio budget."""
    capped = BudgetFactory(
        name="Summarizer cap",
        scope=BudgetScope.USE_CASE,
        use_case=cast.use_case_a,
        amount=Decimal("500"),
        mode=BudgetMode.HARD_CAP,
        owner=cast.owner,
    )
    team_b = BudgetFactory(
        name="Marketing monthly", scope=BudgetScope.TEAM, team=cast.team_b, amount=Decimal("900")
    )
    portfolio = BudgetFactory(name="Portfolio monthly", amount=Decimal("100000"), owner=cast.finance)
    _spend(620, use_case=cast.use_case_a, team=cast.team_a)
    _spend(300, use_case=cast.use_case_b, team=cast.team_b)
    return {"capped": capped, "team_b": team_b, "portfolio": portfolio}


# Who sees what.


def test_anonymous_is_sent_to_log_in_and_the_api_answers_401(client, budgets):
    assert client.get(LIST).status_code == 302
    assert client.get(reverse("showback:budget_detail", args=[budgets["capped"].pk])).status_code == 302
    assert client.get(API).status_code == 401


def test_a_team_member_sees_the_teams_budgets_and_what_is_left(cast, login, budgets):
    response = login(cast.requester_a).get(LIST)

    assert response.status_code == 200
    names = [b.name for b, _ in response.context["rows"]]
    assert names == ["Summarizer cap"]
    body = response.content.decode()
    assert "$620.00" in body and "-$120.00" in body and "Capped" in body
    assert "New budget" not in body


def test_another_teams_budget_is_not_found_on_the_page_or_the_api(cast, login, budgets):
    client = login(cast.requester_b)
    pk = budgets["capped"].pk

    assert client.get(reverse("showback:budget_detail", args=[pk])).status_code == 404
    assert client.get(f"{API}{pk}/").status_code == 404
    assert [b["name"] for b in client.get(API).json()["results"]] == ["Marketing monthly"]


def test_finance_sees_every_budget_with_its_figures_in_the_api(cast, login, budgets):
    results = login(cast.finance).get(API).json()["results"]

    by_name = {b["name"]: b for b in results}
    assert set(by_name) == {"Summarizer cap", "Marketing monthly", "Portfolio monthly"}
    capped = by_name["Summarizer cap"]
    assert (capped["use_case"], capped["mode"], capped["owner"]) == (
        "support-summarizer",
        "hard_cap",
        "owner",
    )
    assert capped["status"]["actual"] == "620.00"
    assert capped["status"]["remaining"] == "-120.00"
    assert capped["status"]["state"] == "capped"
    assert by_name["Portfolio monthly"]["status"]["actual"] == "920.00"


def test_the_use_case_and_team_pages_show_the_cap_and_the_budgets(cast, login, budgets):
    client = login(cast.requester_a)

    # The spend tab: the header's cap badge and the budget table below it
    spend_tab = reverse("portfolio:use_case_tab_spend", args=["support-summarizer"])
    use_case = client.get(spend_tab).content.decode()
    team = client.get(reverse("portfolio:team_detail", args=["support"])).content.decode()
    other = (
        login(cast.finance)
        .get(reverse("portfolio:use_case_detail", args=["campaign-writer"]))
        .content.decode()
    )

    assert ">Capped</a>" in use_case and "Summarizer cap" in use_case
    assert "Summarizer cap" in team and "-$120.00" in team
    assert ">Capped</a>" not in other


def test_a_used_up_team_cap_flags_its_use_cases_on_their_page_and_in_the_api(cast, login, budgets):
    team_cap = BudgetFactory(
        name="Marketing cap", scope=BudgetScope.TEAM, team=cast.team_b, amount=Decimal("250"),
        mode=BudgetMode.HARD_CAP,
    )  # fmt: skip
    page = login(cast.finance).get(reverse("portfolio:use_case_detail", args=["campaign-writer"]))
    body = page.content.decode()

    assert ">Capped</a>" in body and "Marketing cap, the team hard cap" in body
    assert reverse("showback:budget_detail", args=[team_cap.pk]) in body
    assert login(cast.finance).get(f"{API}capped/").json() == {
        "use_cases": ["campaign-writer", "support-summarizer"]
    }
    team_cap.amount = Decimal("1000")
    team_cap.save()
    body = login(cast.finance).get(reverse("portfolio:use_case_detail", args=["campaign-writer"]))
    assert ">Capped</a>" not in body.content.decode()


def test_the_capped_api_lists_capped_use_cases_the_caller_may_see(cast, login, budgets):
    assert login(cast.finance).get(f"{API}capped/").json() == {"use_cases": ["support-summarizer"]}
    assert login(cast.requester_b).get(f"{API}capped/").json() == {"use_cases": []}


def test_a_function_budget_is_seen_by_members_of_teams_in_that_function(cast, login):
    cast.team_a.business_function = "customer_support"
    cast.team_a.save()
    cast.team_b.business_function = "marketing"
    cast.team_b.save()
    budget = BudgetFactory(scope=BudgetScope.FUNCTION, function="customer_support")

    assert login(cast.requester_a).get(reverse("showback:budget_detail", args=[budget.pk])).status_code == 200
    assert login(cast.requester_b).get(reverse("showback:budget_detail", args=[budget.pk])).status_code == 404


# Finance sets budgets.


def _form(**kwargs):
    return {
        "name": "Support team monthly",
        "scope": "team",
        "team": "support",
        "period": "monthly",
        "amount": "2500",
        "currency": "USD",
        "mode": "alert",
        "thresholds": "50, 90",
        "approval_above_pct": "100",
        "active": "on",
        **kwargs,
    }


def test_finance_creates_a_budget_on_the_page(cast, login):
    response = login(cast.finance).post(reverse("showback:budget_create"), _form())

    budget = Budget.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("showback:budget_detail", args=[budget.pk])
    assert (budget.team, budget.amount, budget.thresholds, budget.owner) == (
        cast.team_a,
        Decimal("2500.00"),
        [50, 90],
        cast.finance,
    )
    assert AuditEvent.objects.filter(action="budget.create", actor=cast.finance).exists()


def test_a_bad_budget_form_says_what_is_wrong_and_saves_nothing(cast, login):
    response = login(cast.finance).post(reverse("showback:budget_create"), _form(team="", mode="hard_cap"))

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "needs a team" in errors["team"][0]
    assert "mode" not in errors  # a team may be hard-capped
    assert not Budget.objects.exists()


@pytest.mark.parametrize("who", ["requester_a", "owner", "chair"])
def test_only_finance_and_admins_create_or_edit_budgets(cast, login, budgets, who):
    client = login(getattr(cast, who))

    assert client.get(reverse("showback:budget_create")).status_code == 403
    assert client.post(reverse("showback:budget_create"), _form()).status_code == 403
    assert client.post(API, _form(), content_type="application/json").status_code == 403
    assert client.patch(
        f"{API}{budgets['capped'].pk}/", {"amount": "1"}, content_type="application/json"
    ).status_code in (
        403,
        404,
    )
    assert Budget.objects.count() == 3


def test_finance_creates_and_changes_a_budget_through_the_api(cast, login):
    agent = UseCaseFactory(
        key="refund-agent", team=cast.team_a, autonomy_level=AutonomyLevel.AUTONOMOUS_AGENT
    )
    client = login(cast.finance)

    created = client.post(
        API,
        {
            "name": "Refund agent cap",
            "scope": "agent",
            "use_case": "refund-agent",
            "period": "monthly",
            "amount": "300",
            "currency": "USD",
            "mode": "hard_cap",
            "thresholds": "80,100",
            "owner": "owner",
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["use_case"], body["owner"], body["thresholds"], body["status"]["state"]) == (
        "refund-agent",
        "owner",
        [80, 100],
        "on_track",
    )

    changed = client.patch(
        f"{API}{body['id']}/", {"amount": "450", "thresholds": [50, 100]}, content_type="application/json"
    )
    assert changed.status_code == 200, changed.json()
    assert (changed.json()["amount"], changed.json()["thresholds"]) == ("450.00", [50, 100])
    assert Budget.objects.get().use_case == agent


def test_a_bad_api_payload_gets_400_naming_the_field(cast, login):
    response = login(cast.finance).post(
        API,
        {
            "name": "x",
            "scope": "model",
            "model": "nope/none",
            "period": "monthly",
            "amount": "5",
            "mode": "alert",
        },
        content_type="application/json",
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert "model" in error["fields"]
    assert "currency" in error["fields"]


def test_the_api_saves_a_hard_cap_on_a_provider(cast, login):
    ProviderFactory(slug="openai")
    response = login(cast.finance).post(
        API,
        {
            "name": "OpenAI cap",
            "scope": "provider",
            "provider": "openai",
            "period": "monthly",
            "amount": "5",
            "currency": "USD",
            "mode": "hard_cap",
        },
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    assert (response.json()["scope"], response.json()["mode"]) == ("provider", "hard_cap")


# Alerts and increase requests.


@pytest.fixture
def alert(cast, budgets):
    services.budgets_evaluate(budget_ids=[budgets["capped"].pk])
    return BudgetAlert.objects.get(budget=budgets["capped"], kind="threshold")


def test_the_owner_acknowledges_an_alert_with_htmx_and_gets_the_row_back(cast, login, alert):
    response = login(cast.owner).post(
        reverse("showback:budget_alert_acknowledge", args=[alert.pk]),
        {"note": "Looking into it"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith(f'<div class="list-group-item" id="alert-{alert.pk}">')
    assert "Acknowledged" in body and "Looking into it" in body
    alert.refresh_from_db()
    assert alert.status == BudgetAlertStatus.ACKNOWLEDGED


def test_resolving_without_a_note_shows_the_message_in_the_row(cast, login, alert):
    response = login(cast.owner).post(
        reverse("showback:budget_alert_resolve", args=[alert.pk]), {"note": ""}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    assert "Say how the alert was resolved" in response.content.decode()
    alert.refresh_from_db()
    assert alert.status == BudgetAlertStatus.OPEN


def test_an_htmx_action_answers_its_row_without_reading_the_budgets_figures(
    cast, login, alert, django_assert_max_num_queries
):
    client = login(cast.owner)

    with django_assert_max_num_queries(30) as queries:
        response = client.post(
            reverse("showback:budget_alert_acknowledge", args=[alert.pk]),
            {"note": "Looking into it"},
            HTTP_HX_REQUEST="true",
        )

    assert response.status_code == 200
    assert "Acknowledged" in response.content.decode()
    assert not [q for q in queries.captured_queries if "dailyspend" in q["sql"].lower()]


def test_alert_actions_follow_the_permission_matrix(cast, login, alert):
    url = reverse("showback:budget_alert_acknowledge", args=[alert.pk])

    assert login(cast.requester_b).post(url, {"note": ""}).status_code == 404  # another team's
    assert login(cast.requester_a).post(url, {"note": ""}).status_code == 403  # sees it, not theirs
    api = login(cast.finance).post(
        f"{API}alerts/{alert.pk}/resolve/", {"note": "Cap raised"}, content_type="application/json"
    )
    assert api.status_code == 200
    assert (api.json()["status"], api.json()["resolved_by"]) == ("resolved", "fin")


@pytest.fixture
def increase(cast):
    budget = BudgetFactory(
        name="Summarizer approval",
        scope=BudgetScope.USE_CASE,
        use_case=cast.use_case_a,
        amount=Decimal("100"),
        mode=BudgetMode.APPROVAL,
        owner=cast.owner,
    )
    _spend(150, use_case=cast.use_case_a, team=cast.team_a)
    services.budgets_evaluate(budget_ids=[budget.pk])
    return BudgetIncreaseRequest.objects.get(budget=budget)


def test_the_budget_owner_approves_an_increase_on_the_page(cast, login, increase):
    response = login(cast.owner).post(
        reverse("showback:budget_increase_approve", args=[increase.pk]), {"amount": "400", "note": "Launch"}
    )

    assert response.status_code == 302
    increase.refresh_from_db()
    assert increase.status == IncreaseRequestStatus.APPROVED
    assert Budget.objects.get(pk=increase.budget_id).amount == Decimal("400.00")


def test_a_team_member_cannot_decide_and_finance_rejects_through_the_api(cast, login, increase):
    url = reverse("showback:budget_increase_reject", args=[increase.pk])
    assert login(cast.requester_a).post(url, {"note": "no"}).status_code == 403
    assert login(cast.requester_a).post(f"{API}increase-requests/{increase.pk}/approve/").status_code == 403

    refused = login(cast.finance).post(
        f"{API}increase-requests/{increase.pk}/reject/", {}, content_type="application/json"
    )
    rejected = login(cast.finance).post(
        f"{API}increase-requests/{increase.pk}/reject/",
        {"note": "Cut the context size first"},
        content_type="application/json",
    )

    assert refused.status_code == 400
    assert "note" in refused.json()["error"]["fields"]
    assert rejected.status_code == 200
    assert rejected.json()["status"] == "rejected"


# Query counts.


def test_the_budget_list_keeps_a_constant_number_of_queries(cast, login, django_assert_max_num_queries):
    def add_budgets(n):
        for i in range(n):
            provider = ProviderFactory()
            model = AIModelFactory(provider=provider)
            agent = UseCaseFactory(team=cast.team_a, autonomy_level=AutonomyLevel.SUPERVISED_AGENT)
            owner = UserFactory()
            BudgetFactory(scope=BudgetScope.TEAM, team=cast.team_a, owner=owner, amount=Decimal("50"))
            BudgetFactory(scope=BudgetScope.AGENT, use_case=agent, mode=BudgetMode.HARD_CAP, owner=owner)
            BudgetFactory(
                scope=BudgetScope.PROVIDER, provider=provider, period=BudgetPeriod.QUARTERLY, owner=owner
            )
            BudgetFactory(scope=BudgetScope.MODEL, model=model, period=BudgetPeriod.ANNUAL, owner=owner)
            _spend(10 + i, team=cast.team_a, use_case=agent, provider=provider, model=model)
        services.budgets_evaluate()

    client = login(cast.finance)
    add_budgets(2)
    client.get(LIST)
    with django_assert_max_num_queries(16) as small:
        client.get(LIST)
    add_budgets(8)

    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(LIST)

    assert len(response.context["rows"]) == 40
    assert BudgetAlert.objects.exists()


def test_the_budget_api_keeps_a_constant_number_of_queries(cast, login, django_assert_max_num_queries):
    client = login(cast.finance)
    for _ in range(3):
        BudgetFactory(scope=BudgetScope.TEAM, team=cast.team_a)
    client.get(API)
    with django_assert_max_num_queries(12) as small:
        client.get(API)
    for _ in range(20):
        BudgetFactory(scope=BudgetScope.USE_CASE, use_case=UseCaseFactory(team=cast.team_b))

    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(API)

    assert response.json()["count"] == 23


def _open_alerts(budget, n):
    start = periods.month_start(periods.today())
    for threshold in range(1, n + 1):
        BudgetAlert.objects.create(
            budget=budget,
            period_start=start,
            kind="threshold",
            threshold=threshold,
            actual=Decimal("1"),
            projected=Decimal("1"),
            amount=Decimal("100"),
        )


def test_the_open_alerts_beyond_the_card_link_to_all_of_them(cast, login, django_assert_max_num_queries):
    # Given 25 open alerts and 21 increase requests waiting, more than the cards list (20 each)
    budget = BudgetFactory(scope=BudgetScope.TEAM, team=cast.team_a, owner=cast.finance)
    _open_alerts(budget, 25)
    for n in range(21):
        BudgetIncreaseRequest.objects.create(
            budget=BudgetFactory(scope=BudgetScope.TEAM, team=cast.team_a, owner=cast.finance),
            period_start=periods.month_start(periods.today()),
            current_amount=Decimal("100"),
            requested_amount=Decimal(200 + n),
        )
    client = login(cast.finance)
    body = client.get(LIST).content.decode()
    alerts = re.search(
        r'<span id="h-alerts">Open alerts</span><a href="([^"]+)" class="small">See all \((\d+)\)</a>', body
    )
    requests = re.search(
        r'<span id="h-requests">Budget increases waiting for a decision</span>'
        r'<a href="([^"]+)" class="small">See all \((\d+)\)</a>',
        body,
    )
    assert alerts and requests, "both cards link to all they list the first of"
    assert (alerts.group(2), requests.group(2)) == ("25", "21")

    # When the analyst follows "See all" (in the same number of queries)
    with django_assert_max_num_queries(20):
        everything = client.get(LIST + alerts.group(1).split("#")[0])

    # Then every open alert and every waiting request is listed, and no "See all" is left
    assert len(everything.context["alerts"]) == 25 and len(everything.context["requests"]) == 21
    assert "See all" not in everything.content.decode().split('id="h-alerts"', 1)[1]


@pytest.mark.parametrize("value", ["", "ALL", "all%00", "%ED%A0%80", "9" * 5000, "-1", "0"])
def test_a_strange_open_parameter_lists_the_newest_twenty(cast, login, value):
    _open_alerts(BudgetFactory(scope=BudgetScope.TEAM, team=cast.team_a, owner=cast.finance), 25)

    response = login(cast.finance).get(f"{LIST}?open={value}")

    assert response.status_code == 200
    assert len(response.context["alerts"]) == 20
