import csv
import io
import re
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from aifinops.core import periods
from aifinops.core.audit import audit_record, snapshot
from portfolio import spend
from portfolio.choices import AutonomyLevel, RiskTier, Stage
from portfolio.tests.factories import UseCaseFactory

pytestmark = pytest.mark.django_db


def test_use_case_list_filters_with_htmx_partial(login, cast):
    client = login(cast.finance)

    response = client.get(reverse("portfolio:use_case_list"), {"q": "campaign"}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert response.templates[0].name == "portfolio/partials/_use_case_table.html"
    assert b"Campaign writer" in response.content
    assert b"Support summarizer" not in response.content


def test_use_case_list_keeps_a_constant_number_of_queries(login, cast, django_assert_max_num_queries):
    client = login(cast.finance)
    client.get(reverse("portfolio:use_case_list"))
    UseCaseFactory.create_batch(20, team=cast.team_a, business_owner=cast.owner)

    with django_assert_max_num_queries(12):
        response = client.get(reverse("portfolio:use_case_list"))

    assert response.context["page"].paginator.count == 22


def test_team_detail_keeps_a_constant_number_of_queries(login, cast, django_assert_max_num_queries):
    client = login(cast.finance)
    UseCaseFactory.create_batch(15, team=cast.team_a)

    with django_assert_max_num_queries(16):
        response = client.get(reverse("portfolio:team_detail", args=["support"]))

    assert response.status_code == 200


def test_the_team_page_links_its_use_cases_to_the_portfolio_list_of_the_team(login, cast):
    # Given a team with more use cases than the portfolio list shows on one page
    UseCaseFactory.create_batch(30, team=cast.team_a)
    client = login(cast.finance)

    # When the finance analyst follows the team page's "See all"
    body = client.get(reverse("portfolio:team_detail", args=["support"])).content.decode()
    found = re.search(
        r'<span id="h-ucs">Use cases</span><a href="([^"]+)" class="small">See all \((\d+)\)</a>', body
    )
    assert found, "the team's use cases link to the portfolio list"
    listed = client.get(found.group(1))

    # Then the list is the team's use cases, as many as the link said
    assert listed.status_code == 200
    assert listed.context["page"].paginator.count == int(found.group(2)) == 31
    assert {uc.team_id for uc in listed.context["page"].object_list} == {cast.team_a.pk}


def test_use_case_page_shows_its_history(login, cast):
    before = {**snapshot(cast.use_case_a), "name": "Old name"}
    with transaction.atomic():
        audit_record(
            actor=cast.admin,
            action="use_case.update",
            obj=cast.use_case_a,
            before=before,
            after=snapshot(cast.use_case_a),
        )

    response = login(cast.requester_a).get(cast.use_case_a.get_tab_url("history"))

    assert b"History" in response.content
    # In plain words: the person's name and what they did, not the action's code
    assert b"use_case.update" not in response.content
    assert cast.admin.get_full_name().encode() in response.content
    assert b"<td>Changed</td>" in response.content
    assert b"<del>Old name</del> \xe2\x86\x92 Support summarizer" in response.content


def test_team_filter_offers_only_visible_teams(login, cast):
    response = login(cast.requester_a).get(reverse("portfolio:use_case_list"))

    offered = [team.slug for team in response.context["filter"].form.fields["team"].queryset]
    assert offered == ["support"]


def test_stage_filter_accepts_one_or_several_values(login, cast):
    UseCaseFactory(team=cast.team_a, key="p1", name="Pilot one", stage="pilot")
    UseCaseFactory(team=cast.team_a, key="l1", name="Launch one", stage="launch")
    client = login(cast.finance)

    one = client.get(reverse("portfolio:use_case_list"), {"stage": "pilot"})
    both = client.get(reverse("portfolio:use_case_list") + "?stage=pilot&stage=launch")
    anything = client.get(reverse("portfolio:use_case_list"), {"stage": ""})

    assert [uc.key for uc in one.context["page"]] == ["p1"]
    assert sorted(uc.key for uc in both.context["page"]) == ["l1", "p1"]
    assert anything.context["page"].paginator.count == 4


def test_csv_export_follows_the_filters_and_visibility(login, cast):
    UseCaseFactory(
        team=cast.team_a, key="in-pilot", name="In pilot", stage="pilot", business_owner=cast.owner
    )

    response = login(cast.requester_a).get(reverse("portfolio:use_case_export"), {"stage": "pilot"})

    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode()
    lines = body.strip().splitlines()
    assert lines[0].startswith("key,name,team,stage,risk tier,autonomy level,business owner")
    assert [line.split(",")[0] for line in lines[1:]] == ["in-pilot"]


def test_csv_export_writes_stage_risk_and_autonomy_in_words_not_their_stored_values(login, cast):
    # Given a supervised-agent use case at MVP with critical risk
    UseCaseFactory(
        team=cast.team_a,
        key="agent",
        name="Agent",
        stage="mvp",
        risk_tier="critical",
        autonomy_level="supervised_agent",
        environment="production",
    )

    # When the list is exported
    response = login(cast.finance).get(reverse("portfolio:use_case_export"), {"q": "agent"})

    # Then the row carries the labels the page shows, not the stored values
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    row = dict(zip(rows[0], rows[1], strict=True))
    assert (row["stage"], row["risk tier"], row["autonomy level"], row["environment"]) == (
        "MVP",
        "Critical",
        "Supervised agent",
        "Production",
    )
    assert "supervised_agent" not in rows[1]


def test_csv_export_hides_other_teams_and_neutralises_formulas(login, cast):
    UseCaseFactory(team=cast.team_a, key="formula", name="=HYPERLINK(1)")

    body = b"".join(
        login(cast.requester_b).get(reverse("portfolio:use_case_export")).streaming_content
    ).decode()
    mine = b"".join(
        login(cast.requester_a).get(reverse("portfolio:use_case_export")).streaming_content
    ).decode()

    assert "support-summarizer" not in body
    assert "campaign-writer" in body
    assert "'=HYPERLINK(1)" in mine


def test_list_filters_by_owner_and_sorts(login, cast):
    UseCaseFactory(
        team=cast.team_a, key="big", name="Big", technical_owner=cast.owner, expected_monthly_cost=9000
    )
    client = login(cast.finance)

    owned = client.get(reverse("portfolio:use_case_list"), {"owner": "owner"})
    by_cost = client.get(reverse("portfolio:use_case_list"), {"sort": "-cost"})

    assert sorted(uc.key for uc in owned.context["page"]) == ["big", "support-summarizer"]
    assert next(iter(by_cost.context["page"])).key == "big"


def test_a_scale_use_case_page_computes_its_unit_economics_once(login, cast, monkeypatch):
    from portfolio.value import economics

    scaled = UseCaseFactory(
        team=cast.team_a, key="scaled", name="Scaled", stage="scale", business_owner=cast.owner
    )
    calls = []
    computed = economics.unit_economics

    def counted(**kwargs):
        calls.append(kwargs)
        return computed(**kwargs)

    monkeypatch.setattr(economics, "unit_economics", counted)
    client = login(cast.owner)
    overview = client.get(scaled.get_absolute_url())
    assert overview.status_code == 200
    assert calls == []  # the overview has no gate to check

    response = client.get(scaled.get_tab_url("gates"))

    assert response.status_code == 200
    assert b"Scale gate" in response.content
    assert len(calls) == 1, "the gate check computed the economics more than once"


def _spend(use_case, *, this_month="0", last_month="0", currency="USD"):
    """Spend of `use_case` today and on the first day of last month, on any date the tests run."""
    from showback.tests.factories import DailySpendFactory

    today = periods.today()
    for day, amount in ((today, this_month), (periods.months_back(today, 1), last_month)):
        if Decimal(amount):
            DailySpendFactory(
                use_case=use_case, team=use_case.team, date=day, currency=currency, effective_cost=amount
            )


def test_the_list_shows_actual_spend_as_the_use_case_page_counts_it(login, cast):
    # Given spend this month and last month, one use case's in two currencies
    _spend(cast.use_case_a, this_month="120.50", last_month="300")
    _spend(cast.use_case_a, this_month="7", currency="EUR")
    _spend(cast.use_case_b, last_month="45.25")

    # When finance opens the portfolio list
    response = login(cast.finance).get(reverse("portfolio:use_case_list"))

    # Then each row's actual figures are those of the selector the use case page reads
    rows = {uc.key: uc for uc in response.context["page"]}
    for use_case in (cast.use_case_a, cast.use_case_b):
        summary = spend.use_case_spend_summary(use_case=use_case)
        assert rows[use_case.key].actual == {
            "month_to_date": summary["month_to_date"],
            "last_month": summary["last_month"],
        }
    assert rows["support-summarizer"].actual["month_to_date"] == {
        "USD": Decimal("120.50"),
        "EUR": Decimal("7"),
    }
    body = response.content.decode()
    assert "Actual this month" in body and "Actual last month" in body
    assert "€7.00 + $120.50" in body and "$300.00" in body and "$45.25" in body


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("-actual_mtd", ["mid", "support-summarizer", "low", "campaign-writer"]),
        ("actual_mtd", ["campaign-writer", "low", "support-summarizer", "mid"]),
        ("-actual_last", ["campaign-writer", "low", "mid", "support-summarizer"]),
    ],
)
def test_the_list_sorts_by_actual_spend(login, cast, sort, expected):
    mid = UseCaseFactory(team=cast.team_a, key="mid", name="Mid")
    low = UseCaseFactory(team=cast.team_a, key="low", name="Low")
    _spend(mid, this_month="500")
    _spend(cast.use_case_a, this_month="200")
    _spend(low, this_month="10", last_month="70")
    _spend(cast.use_case_b, last_month="900")

    response = login(cast.finance).get(reverse("portfolio:use_case_list"), {"sort": sort})

    assert [uc.key for uc in response.context["page"]] == expected
    # and the column's header says so, and offers the other direction
    body = response.content.decode()
    assert 'aria-sort="descending"' in body if sort.startswith("-") else 'aria-sort="ascending"' in body


def test_sorting_by_actual_spend_sorts_the_whole_list_not_one_page(login, cast):
    UseCaseFactory.create_batch(30, team=cast.team_a)
    top = UseCaseFactory(team=cast.team_a, key="zz-top", name="Zz top")
    _spend(top, this_month="1")

    first = login(cast.finance).get(reverse("portfolio:use_case_list"), {"sort": "-actual_mtd"})
    last = login(cast.finance).get(reverse("portfolio:use_case_list"), {"sort": "actual_mtd", "page": 2})

    assert next(iter(first.context["page"])).key == "zz-top"
    assert list(last.context["page"])[-1].key == "zz-top"


def test_every_column_sorts(login, cast):
    client = login(cast.finance)

    for key in ("name", "team", "stage", "risk", "autonomy", "cost", "actual_mtd", "actual_last"):
        for sort in (key, f"-{key}"):
            response = client.get(reverse("portfolio:use_case_list"), {"sort": sort})
            assert response.status_code == 200, sort
            assert (
                f"sort={sort.lstrip('-') if sort.startswith('-') else '-' + key}" in response.content.decode()
            )


def _runs(values):
    """The values with consecutive repeats collapsed: [a, a, b, a] -> [a, b, a]."""
    return [v for i, v in enumerate(values) if i == 0 or values[i - 1] != v]


CHOICE_SORTS = [
    ("stage", "stage", Stage),
    ("risk", "risk_tier", RiskTier),
    ("autonomy", "autonomy_level", AutonomyLevel),
]


@pytest.mark.parametrize("sort, field, choices", CHOICE_SORTS)
def test_stage_risk_and_autonomy_sort_in_their_choices_order(login, cast, sort, field, choices):
    # Given a use case for every choice of the field, made in alphabetical order of the stored value
    for value in sorted(choices.values):
        UseCaseFactory(team=cast.team_a, **{field: value})
    client = login(cast.finance)

    # When the list is sorted by that column, one way and the other
    ascending = client.get(reverse("portfolio:use_case_list"), {"sort": sort})
    descending = client.get(reverse("portfolio:use_case_list"), {"sort": f"-{sort}"})

    # Then the rows follow the choices' order (concept, MVP, pilot...; low, medium, high...), ties by name
    rows = [getattr(uc, field) for uc in ascending.context["page"]]
    assert _runs(rows) == choices.values
    assert _runs([getattr(uc, field) for uc in descending.context["page"]]) == choices.values[::-1]
    ties = [uc.name for uc in ascending.context["page"] if getattr(uc, field) == rows[0]]
    assert ties == sorted(ties)


@pytest.mark.parametrize("sort", ["", "-actual_mtd", "actual_last"])
def test_the_list_with_actual_spend_asks_the_database_as_often_with_many_rows(
    login, cast, sort, django_assert_max_num_queries
):
    client = login(cast.finance)
    _spend(cast.use_case_a, this_month="5")
    client.get(reverse("portfolio:use_case_list"), {"sort": sort})
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("portfolio:use_case_list"), {"sort": sort})
    for use_case in UseCaseFactory.create_batch(40, team=cast.team_a):
        _spend(use_case, this_month="3", last_month="4")

    with django_assert_max_num_queries(len(few)):
        response = client.get(reverse("portfolio:use_case_list"), {"sort": sort})

    assert response.context["page"].paginator.count == 42


@pytest.mark.parametrize(
    "query",
    [
        "sort=actual_mtd%00",
        "sort=%ED%A0%80",
        "sort=" + "-" * 5000,
        "sort=actual_mtd,bogus",
        "sort=0",
        "stage=nope",
    ],
)
def test_a_sort_or_filter_the_list_does_not_know_is_refused_naming_the_field(login, cast, query):
    response = login(cast.finance).get(reverse("portfolio:use_case_list") + "?" + query)

    assert response.status_code == 400
    body = response.content.decode()
    assert ("Sort by:" in body) if query.startswith("sort") else ("Stage:" in body)
    assert "valid choice" in body


def test_the_sort_dropdown_says_which_end_comes_first_in_short_labels(login, cast):
    body = (
        login(cast.finance).get(reverse("portfolio:use_case_list"), {"sort": "-actual_mtd"}).content.decode()
    )

    select = body[
        body.index('<select name="sort"') : body.index("</select>", body.index('<select name="sort"'))
    ]
    labels = re.findall(r"<option[^>]*>([^<]+)</option>", select)
    # One label per sort and direction, none repeated, none cut at 1366 or 390 px
    assert len(labels) == len(set(labels)) == 18
    assert max(len(label) for label in labels) <= 28
    assert '<option value="-actual_mtd" selected>Actual this month (highest)</option>' in select
    assert '<option value="name">Name (A to Z)</option>' in select
    assert '<option value="stage">Stage (concept first)</option>' in select
    assert '<option value="-risk">Risk (highest)</option>' in select
