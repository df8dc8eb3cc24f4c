"""The use-case page as a workspace: a header on every tab, one URL per tab, htmx answers with the
tab alone, every section on exactly one tab, and a constant number of queries per tab."""

import datetime
import re
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from aifinops.core.audit import audit_record
from aifinops.core.models import Notification
from aifinops.core.periods import month_start, months_back, today
from aifinops.core.testing.html import empty_choice
from aifinops.core.tests.factories import UserFactory
from portfolio.gates import rules as gates
from portfolio.models import GateItemState, Milestone, OptimizationItem, ValueSignal
from portfolio.tasks import mark_missed_milestones
from portfolio.tests.factories import AIModelFactory
from portfolio.workspace import OVERVIEW, TAB_NAMES
from showback.tests.budget_factories import BudgetFactory
from showback.tests.factories import DailySpendFactory
from showback.tests.gateway_helpers import AgentPolicyFactory, GatewayKeyFactory, hard_cap

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
# The heading of each section of the old long page, by the tab that holds it now.
SECTIONS = {
    OVERVIEW: ['id="h-owners"', 'id="h-tagging"'],
    "gates": ['id="h-stage"', 'id="h-council"', 'id="guardrails"'],
    "value": ['id="h-economics"', 'id="h-milestones"', 'id="h-signals"', 'id="h-costs"'],
    "spend": ['id="h-budgets"', 'id="h-models"'],
    "agents": ['id="h-gateway"', 'id="h-agent"', 'id="h-agent-log"', 'id="h-gateway-keys"'],
    "backlog": ['id="h-backlog"'],
    "history": ['id="history-heading"'],
}


def _url(use_case, tab):
    return use_case.get_tab_url(tab)


def _panel(body):
    """The tab panel of a whole page: what is below the header and the tab list."""
    return body.split('id="uc-tabpanel"', 1)[1]


def test_the_tabs_dropdowns_say_what_an_empty_choice_means(login, cast):
    # When the owner opens the gates, value and backlog tabs
    client = login(cast.owner)
    gates_tab, value_tab, backlog_tab = (
        client.get(_url(cast.use_case_a, tab)).content.decode() for tab in ("gates", "value", "backlog")
    )

    # Then no dropdown reads "---------" or a bare dash: each empty choice says what it means
    for body in (gates_tab, value_tab, backlog_tab):
        assert "---------" not in body
        assert '<option value="">—</option>' not in body
    assert empty_choice(gates_tab, "prompt_caching") == "Not stated yet"
    assert empty_choice(value_tab, "target_stage") == "No stage move"
    assert empty_choice(backlog_tab, "owner") == "No owner yet"


def test_every_tab_is_a_whole_page_when_opened_directly(login, cast):
    client = login(cast.owner)

    for tab in TAB_NAMES:
        response = client.get(_url(cast.use_case_a, tab))

        body = response.content.decode()
        assert response.status_code == 200, tab
        assert "<html" in body and 'id="uc-header"' in body, tab
        selected = re.findall(r'id="tab-(\w+)"[^>]*aria-selected="true"', body)
        assert selected == [tab], tab
        assert f'aria-labelledby="tab-{tab}"' in body


def test_htmx_gets_the_tab_alone_with_the_tab_list_out_of_band(login, cast):
    client = login(cast.owner)

    for tab in TAB_NAMES:
        response = client.get(_url(cast.use_case_a, tab), **HTMX)

        body = response.content.decode()
        assert response.status_code == 200, tab
        assert "<html" not in body and 'id="uc-header"' not in body, tab
        assert body.lstrip().startswith('<div id="uc-tabpanel"'), tab
        assert 'id="uc-tabs" hx-swap-oob="true"' in body, tab
        assert re.findall(r'id="tab-(\w+)"[^>]*aria-selected="true"', body) == [tab]


def test_a_history_restore_gets_the_whole_page(login, cast):
    response = login(cast.owner).get(
        _url(cast.use_case_a, "gates"), HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )

    assert "<html" in response.content.decode()
    assert 'hx-swap-oob="true"' not in response.content.decode().split('id="uc-tabs"', 1)[1][:40]


def test_each_section_of_the_page_is_on_exactly_one_tab(login, cast):
    BudgetFactory(scope="use_case", use_case=cast.use_case_a, owner=cast.owner)  # its card shows only then
    client = login(cast.owner)
    bodies = {tab: client.get(_url(cast.use_case_a, tab), **HTMX).content.decode() for tab in TAB_NAMES}

    for tab, markers in SECTIONS.items():
        for marker in markers:
            holders = [t for t, body in bodies.items() if marker in body]
            assert holders == [tab], f"{marker} is on {holders}, not on {tab} alone"


def test_a_tab_is_refused_like_the_page_to_whoever_may_not_see_the_use_case(client, login, cast):
    stranger = login(cast.requester_b)
    for tab in TAB_NAMES:
        assert stranger.get(_url(cast.use_case_a, tab)).status_code == 404, tab
        partial = stranger.get(_url(cast.use_case_a, tab), **HTMX)
        assert partial.status_code == 404, tab
        assert "Support summarizer" not in partial.content.decode()
    client.logout()
    for tab in TAB_NAMES:
        response = client.get(_url(cast.use_case_a, tab), **HTMX)
        assert response.status_code == 302 and response.url.startswith(reverse("core:login")), tab


@pytest.mark.parametrize(
    "path",
    [
        "/portfolio/use-cases/support-summarizer/tab/nope/",
        "/portfolio/use-cases/support-summarizer/tab/overview/",
        "/portfolio/use-cases/support%00summarizer/tab/gates/",
        "/portfolio/use-cases/support-summarizer%00/tab/spend/",
        "/portfolio/use-cases/%ED%A0%80/tab/value/",
        "/portfolio/use-cases/" + "a" * 5000 + "/tab/history/",
        "/portfolio/use-cases/-1/tab/backlog/",
        "/portfolio/use-cases/0/tab/agents/",
    ],
)
def test_a_bad_tab_or_key_is_a_404_never_a_500(login, cast, path):
    client = login(cast.admin)

    assert client.get(path).status_code == 404
    assert client.get(path, **HTMX).status_code == 404


def test_the_header_shows_the_figures_of_the_other_pages(login, cast):
    # Given spend this month and last month, a used-up hard cap and the kill switch on
    uc = cast.use_case_a
    day = today()
    DailySpendFactory(use_case=uc, team=uc.team, date=day, effective_cost=Decimal("620.00"))
    DailySpendFactory(use_case=uc, team=uc.team, date=months_back(day, 1), effective_cost=Decimal("75.00"))
    hard_cap(uc, "500", owner=cast.owner)
    AgentPolicyFactory(use_case=uc, kill_switch=True, kill_switch_by=cast.owner, kill_switch_reason="test")

    for tab in TAB_NAMES:
        body = login(cast.owner).get(_url(uc, tab)).content.decode()
        header = body.split('id="uc-header"', 1)[1].split('id="uc-tabs"', 1)[0]

        # Then every tab's header says so, with the month-to-date figure of the spend summary
        assert "$620.00" in header and "$75.00" not in header, tab
        assert ">Capped</span>" in header and ">Capped</a>" in header, tab
        assert "On: calls stopped" in header, tab
        owner = cast.owner.get_full_name() or cast.owner.get_username()
        assert f"{owner} (business)" in header, tab
    spend_tab = login(cast.owner).get(_url(uc, "spend")).content.decode()
    assert "$75.00" in _panel(spend_tab)  # last month, on the spend tab


def test_a_budget_on_track_and_no_budget_read_so_in_the_header(login, cast):
    uc = cast.use_case_a
    body = login(cast.owner).get(_url(uc, OVERVIEW)).content.decode()
    assert "No budget" in body.split('id="uc-budget-state"', 1)[1][:200]

    BudgetFactory(scope="use_case", use_case=uc, amount=Decimal("100000"), owner=cast.owner)
    body = login(cast.owner).get(_url(uc, OVERVIEW)).content.decode()
    assert "On track" in body.split('id="uc-budget-state"', 1)[1][:200]


def _grow(use_case, owner, n):
    """n more of everything each tab lists: gate items, value signals, milestones, cost lines,
    backlog items, audit events by different people, spend days over several models, budgets and
    gateway keys."""
    attestable = [item.code for item in gates.ITEMS if item.attestable]
    existing = set(GateItemState.objects.filter(use_case=use_case).values_list("code", flat=True))
    fresh = [code for code in attestable if code not in existing][:n]
    people = [UserFactory() for _ in range(n)]
    for i in range(n):
        if i < len(fresh):
            GateItemState.objects.create(
                use_case=use_case, code=fresh[i], status="attested", by=people[i], on=today(), evidence="x"
            )
        ValueSignal.objects.get_or_create(
            use_case=use_case,
            month=month_start(months_back(today(), i + 1 + 2 * n)),
            defaults={"outcomes": 5},
        )
        Milestone.objects.create(
            use_case=use_case, name=f"M{n}-{i}", due_date=today() + datetime.timedelta(days=i + 1)
        )
        OptimizationItem.objects.create(
            use_case=use_case, title=f"Idea {n}-{i}", lever="caching", owner=people[i]
        )
        model = AIModelFactory()
        DailySpendFactory(
            use_case=use_case,
            team=use_case.team,
            model=model,
            provider=model.provider,
            date=today() - datetime.timedelta(days=i % 20),
            effective_cost=Decimal("3.00"),
        )
        BudgetFactory(scope="use_case", use_case=use_case, owner=people[i])
        GatewayKeyFactory(use_case=use_case, created_by=people[i])
        with transaction.atomic():
            audit_record(actor=people[i], action="use_case.update", obj=use_case, before={}, after={"x": i})


def _counts(client, use_case):
    counts = {}
    for tab in TAB_NAMES:
        for kind, extra in (("page", {}), ("htmx", HTMX)):
            with CaptureQueriesContext(connection) as queries:
                assert client.get(_url(use_case, tab), **extra).status_code == 200
            counts[(tab, kind)] = len(queries.captured_queries)
    return counts


@pytest.mark.parametrize("who", ["owner", "finance"])
def test_each_tab_keeps_a_constant_number_of_queries_as_data_grows(login, cast, who):
    uc = cast.use_case_a
    client = login(getattr(cast, who))
    _grow(uc, cast.owner, 2)
    _counts(client, uc)  # warm the caches (content types, the session)

    small = _counts(client, uc)
    _grow(uc, cast.owner, 10)
    large = _counts(client, uc)

    grew = {key: (small[key], large[key]) for key in small if small[key] != large[key]}
    assert not grew, f"queries grew with the data (tab, kind): (before, after) {grew}"
    # A tab alone costs less than the whole page on that tab: the header is not read again.
    for tab in TAB_NAMES:
        assert small[(tab, "htmx")] < small[(tab, "page")], tab


def test_links_from_elsewhere_open_the_tab_that_holds_what_they_name(login, cast):
    # Given an overdue milestone, and a backlog item on the portfolio's backlog page
    uc = cast.use_case_a
    Milestone.objects.create(use_case=uc, name="Pilot", due_date=today() - datetime.timedelta(days=1))
    OptimizationItem.objects.create(use_case=uc, title="Cache the prompt", lever="caching", owner=cast.owner)

    # When the nightly task marks it missed
    assert mark_missed_milestones.delay().get() == 1

    # Then the owner's notification opens the value tab, and the backlog page links to the backlog tab
    assert Notification.objects.get(recipient=cast.owner).url == uc.get_tab_url("value")
    backlog = login(cast.owner).get(reverse("portfolio:optimization_backlog")).content.decode()
    assert f'href="{uc.get_tab_url("backlog")}"' in backlog
