"""The home page's cards: each lists a few rows and links to the list it summarises, "see all (N)"."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from council.tests.factories import IntakeRequestFactory
from portfolio.choices import Stage
from portfolio.tests.factories import UseCaseFactory

pytestmark = pytest.mark.django_db


def _card(html, heading_id):
    start = html.index(f'id="{heading_id}"')
    return html[start : html.index("</section>", start)]


def _see_all(card):
    found = re.search(r'<a href="([^"]+)" class="small">See all(?: \((\d+)\))?</a>', card)
    assert found, card
    return found.group(1).replace("&amp;", "&"), found.group(2)


def test_your_intakes_shows_a_few_and_sees_all_of_them(cast, login):
    # Given a requester with nine intakes
    for _ in range(9):
        IntakeRequestFactory(requester=cast.requester_a, use_case__team=cast.team_a)
    client = login(cast.requester_a)

    # When they open the home page
    card = _card(client.get(reverse("home")).content.decode(), "h-intakes")

    # Then the card lists eight and says where all nine are
    assert card.count('class="list-group-item') == 8
    url, total = _see_all(card)
    assert total == "9"
    assert url == reverse("intake:index") + "?scope=mine"
    listed = client.get(url)
    assert listed.status_code == 200
    assert listed.context["page"].paginator.count == 9


def test_your_teams_use_cases_leads_to_the_portfolio_not_intake(cast, login):
    client = login(cast.requester_a)

    card = _card(client.get(reverse("home")).content.decode(), "h-team")

    url, total = _see_all(card)
    assert url == reverse("portfolio:use_case_list")
    assert total == "1"  # team A's summarizer; team B's writer is not theirs
    assert reverse("intake:index") not in card


def test_use_cases_you_own_sees_all_of_the_owners_use_cases(cast, login):
    for n in range(9):
        UseCaseFactory(name=f"Owned {n}", team=cast.team_a, technical_owner=cast.owner)
    client = login(cast.owner)

    card = _card(client.get(reverse("home")).content.decode(), "h-owned")

    url, total = _see_all(card)
    assert total == "10"
    assert card.count('class="list-group-item') == 8
    assert client.get(url).context["page"].paginator.count == 10


def test_the_council_card_sees_all_candidates_to_scale(cast, login):
    for n in range(10):
        UseCaseFactory(name=f"Pilot {n}", stage=Stage.PILOT)
    UseCaseFactory(name="Launched", stage=Stage.LAUNCH)
    client = login(cast.council)

    card = _card(client.get(reverse("home")).content.decode(), "h-council")

    url, total = _see_all(card)
    assert total == "11"
    assert client.get(url).context["page"].paginator.count == 11


def test_the_stage_bar_counts_sunset_too(cast, login):
    UseCaseFactory(name="Retired", team=cast.team_a, stage=Stage.SUNSET)

    response = login(cast.requester_a).get(reverse("home"))

    labels = [label for label, _, _ in response.context["stage_counts"]]
    assert labels[-1] == "Sunset"
    assert {value: n for _, value, n in response.context["stage_counts"]}["sunset"] == 1
    assert f'href="{reverse("portfolio:use_case_list")}?stage=sunset"' in response.content.decode()


@pytest.mark.parametrize("persona", ["requester_a", "owner", "council", "finance", "admin"])
def test_home_asks_the_database_as_often_with_many_rows_as_with_few(
    persona, cast, login, django_assert_max_num_queries
):
    user = getattr(cast, persona)
    client = login(user)
    client.get(reverse("home"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("home"))
    for n in range(12):
        UseCaseFactory(name=f"More {n}", team=cast.team_a, business_owner=cast.owner, stage=Stage.PILOT)
        IntakeRequestFactory(requester=cast.requester_a, use_case__team=cast.team_a)

    with django_assert_max_num_queries(len(few)):
        client.get(reverse("home"))
