"""The executive narrative, the maturity scorecard, a use case's metric hierarchy and its
build-versus-buy flag: the sentences and figures on a crafted portfolio, who sees them, and their
queries."""

from decimal import Decimal

import pytest
from django.urls import reverse

from aifinops.dashboard.maturity import scorecard_get
from aifinops.dashboard.metrics import metric_hierarchy
from aifinops.dashboard.narrative import narrative_get
from aifinops.dashboard.tests import dashboard_world

pytestmark = pytest.mark.django_db

NARRATIVE = reverse("dashboard:narrative")
MATURITY = reverse("dashboard:maturity")


@pytest.fixture
def world(cast):
    return dashboard_world.build(cast)


def _sentences(story, key):
    return [s.text for section in story.sections if section.key == key for s in section.sentences]


# The narrative.


def test_the_narrative_says_where_the_money_and_the_value_are(cast, world):
    story = narrative_get(user=cast.finance)
    month = f"{world['last']:%B %Y}"

    assert _sentences(story, "spend") == [
        f"In {month} the company spent $1,275 on AI, up 155 % on the period before. Not counted for want "
        "of an exchange rate: €70. Customer support took "
        "the largest share, 76 %. The 3 largest use cases, Reply drafter ($800), Ad writer ($300) and Ticket "
        "router ($125), were 96 % of it. The forecast for next month is $1,275."
    ]
    assert _sentences(story, "value") == [
        f"2 use cases reported their outcomes for {world['last']:%b %Y}: outcomes worth $2,050 for $1,125 "
        "of AI and other recorded cost, 1.8 times what they cost. Value shows up most in Reply drafter "
        "($2,000 of value for $1,000).",
        "1 use case costs more per outcome than the outcome is worth: Ticket router ($2.50 against $1). "
        "Redesign, reprice or retire.",
        "1 use case with spend reported no value: Ad writer.",
    ]


def test_the_narrative_weighs_risk_premium_models_and_sprawl(cast, world):
    story = narrative_get(user=cast.finance)

    assert _sentences(story, "risk") == [
        "65 % of use-case spend ($800) runs in high- and critical-risk use cases, and 76 % in agents that "
        "act with some autonomy. The heaviest concentration is high risk, supervised agent: $800 across 1 "
        "use case."
    ]
    assert _sentences(story, "premium") == [
        "Frontier and reasoning models took 47 % of AI spend ($600).",
        "They are worth reviewing for $600 of spend in Reply drafter ($600: drafting needs mid models): "
        "route what a smaller model can do to a smaller model.",
    ]
    assert _sentences(story, "sprawl") == [
        "1 team-and-tier pair pays more than one provider for the same tier of model, for example Support "
        "for small models (OpenAI and Anthropic). Some of it is deliberate fallback; the rest is volume "
        "discount left on the table.",
        "$50 (4 %) of AI spend is attributed to no use case, and $300 goes to use cases missing a named "
        "owner (Ad writer: no technical owner).",
    ]


def test_the_narrative_names_what_waits_and_the_decisions_needed(cast, world):
    story = narrative_get(user=cast.finance)

    assert _sentences(story, "governance") == [
        "1 item waits for a decision (1 stage move). The oldest, stage move “Ad writer to Launch”, has "
        "waited 5 days for council chair, or the owners when no review is needed."
    ]
    assert _sentences(story, "decisions") == [
        "Decide the stage moves asked for: Ad writer to Launch.",
        "Decide the future of Ticket router: each outcome costs more than it is worth.",
    ]


def test_a_premium_model_is_justified_where_the_task_needs_it_and_value_beats_cost(cast, world):
    world["drafter"].task_kind = "judgment"
    world["drafter"].save()
    story = narrative_get(user=cast.finance)
    assert _sentences(story, "premium") == [
        "Frontier and reasoning models took 47 % of AI spend ($600). They look justified for Reply drafter "
        "(high-impact judgment): the task needs a premium model and each outcome earns more than it costs."
    ]


def test_a_use_case_near_the_threshold_is_a_decision_for_build_versus_buy(cast, world, settings):
    settings.AIFINOPS_BUILD_VS_BUY_ANNUAL = Decimal("10000")
    story = narrative_get(user=cast.finance)
    assert _sentences(story, "decisions")[0] == (
        "Review build versus buy for Reply drafter: its model spend runs at $9,733 a year, 97 % of the "
        "$10,000 threshold."
    )


def test_every_sentence_links_to_its_evidence(cast, world):
    story = narrative_get(user=cast.finance)
    for section in story.sections:
        for sentence in section.sentences:
            assert sentence.evidence, sentence.text
            for _, url in sentence.evidence:
                assert url.startswith("/")


def test_the_narrative_page_prints_for_a_board_pack(cast, login, world):
    body = login(cast.finance).get(NARRATIVE).content.decode()
    assert "@media print" in body and "@page" in body
    assert 'class="no-print"' in body or "no-print" in body
    assert "Where governance is slow" in body


# The maturity scorecard.


def test_the_scorecard_counts_what_the_programme_has_and_lists_what_is_missing(cast, world):
    scores = {s.key: s for s in scorecard_get(user=cast.finance)}

    assert scores["attributed"].value == Decimal("1225") / Decimal("1275")
    assert [m.label for m in scores["attributed"].missing] == ["Support: 50.00 USD with no use case"]
    assert scores["owners"].value == Decimal("0.4")
    assert [m.label for m in scores["owners"].missing] == [
        "Ad writer",
        "Campaign writer",
        "Support summarizer",
    ]
    assert scores["budgets"].value == Decimal(2) / Decimal(3)
    assert [m.label for m in scores["budgets"].missing] == ["Ad writer"]
    assert scores["anomaly"].value == Decimal(1) / Decimal(3)
    assert scores["value"].value == Decimal(2) / Decimal(3)
    assert scores["premium"].value == Decimal("1")
    assert scores["backlog"].value == Decimal("0.5")
    assert [(m.label, m.detail) for m in scores["backlog"].missing] == [
        ("Route short replies (Reply drafter)", "proposed today, not started")
    ]
    assert scores["cadence"].value is None  # no council set up


def test_premium_spend_without_a_routing_policy_is_not_reviewed(cast, world):
    world["drafter"].routing_policy = ""
    world["drafter"].save()
    premium = {s.key: s for s in scorecard_get(user=cast.finance)}["premium"]
    assert premium.value == Decimal("0")
    assert [(m.label, m.detail) for m in premium.missing] == [
        ("Reply drafter", "600.00 USD on premium models, no routing policy")
    ]


# Who sees the company-wide pages.


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("requester_a", 403),
        ("owner", 403),
        ("council", 200),
        ("chair", 200),
        ("finance", 200),
        ("admin", 200),
    ],
)
def test_the_narrative_and_scorecard_are_for_cross_team_roles(cast, login, world, who, status):
    client = login(getattr(cast, who))
    assert client.get(NARRATIVE).status_code == status
    assert client.get(MATURITY).status_code == status


def test_anonymous_is_sent_to_log_in(client):
    assert client.get(NARRATIVE).status_code == 302
    assert client.get(MATURITY).status_code == 302


@pytest.mark.parametrize("url", [NARRATIVE, MATURITY])
def test_the_overview_pages_keep_a_constant_number_of_queries(
    cast, login, world, url, django_assert_max_num_queries
):
    client = login(cast.finance)
    client.get(url)
    with django_assert_max_num_queries(40) as small:
        assert client.get(url).status_code == 200
    dashboard_world.grow(world, cast, 8)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get(url).status_code == 200


# The metric hierarchy and the build-versus-buy flag of one use case.


def test_the_hierarchy_drills_from_cost_per_outcome_to_cost_per_token(cast, world):
    h = metric_hierarchy(user=cast.finance, use_case=world["drafter"], month=world["last"])
    levels = {lv.key: lv for lv in h.levels}

    assert levels["outcome"].value == Decimal("2")  # 800 / 400 outcomes
    assert levels["workflow"].value == Decimal("925") / Decimal("400")  # drafter and router serve it
    assert levels["user"].value == Decimal("40")  # 800 / 20 active users
    assert levels["call"].value == Decimal("0.5")  # 800 / 1,600 calls
    assert levels["token"].value == Decimal("800") * 1_000_000 / Decimal("1500000")
    assert all(not lv.missing for lv in h.levels)
    assert levels["call"].bridge.startswith("4.0 calls per outcome at 0.50000 USD a call")
    assert [uc.key for uc in h.workflow_use_cases] == ["drafter", "router"]


def test_the_hierarchy_says_what_is_missing_instead_of_guessing(cast, world):
    h = metric_hierarchy(user=cast.finance, use_case=world["writer"], month=world["last"])
    levels = {lv.key: lv for lv in h.levels}
    month = f"{world['last']:%B %Y}"

    assert levels["outcome"].value is None
    assert (
        levels["outcome"].missing
        == f"No value signal for {month}: record the month's outcomes on the use case page."
    )
    assert (
        levels["workflow"].missing
        == "No workflow is named on this use case: set its workflow classification."
    )
    assert (
        levels["call"].missing
        == f"The spend of {month} carries no call counts: its bills do not report them."
    )
    assert levels["token"].missing.startswith(f"The spend of {month} carries no token counts")


def test_the_hierarchy_page_is_for_those_who_may_see_the_use_case(
    cast, login, world, django_assert_max_num_queries
):
    url = reverse("portfolio:use_case_metrics", args=["drafter"])
    assert login(cast.requester_b).get(url).status_code == 404
    client = login(cast.requester_a)
    client.get(url)
    with django_assert_max_num_queries(20):
        response = client.get(url + f"?month={world['last']:%Y-%m}")
    assert response.status_code == 200
    assert "Cost per outcome" in response.content.decode()
    assert "is not a month" in client.get(url + "?month=last-year").content.decode()


def test_the_use_case_page_flags_a_build_versus_buy_review(cast, login, world, settings):
    page = reverse("portfolio:use_case_detail", args=["drafter"])
    assert "Build-vs-buy review" not in login(cast.finance).get(page).content.decode()
    settings.AIFINOPS_BUILD_VS_BUY_ANNUAL = Decimal("10000")
    body = login(cast.finance).get(page).content.decode()
    assert "Build-vs-buy review" in body and "Due a build-versus-buy review" in body
    assert reverse("portfolio:use_case_metrics", args=["drafter"]) in body
