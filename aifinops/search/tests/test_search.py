"""Search: one box over use cases, intakes, council items, budgets, teams and models, showing each
person only what they may open.

Given the permission matrix's world (team A's use case, intakes, budget and council items, and the
catalog's model), when each persona searches, then every result's link opens (200) for that
persona, team A's records reach the people who may open them and nobody else, and what a person
types (NUL, lone surrogates, 10,000 characters, tsquery operators, SQL) is refused with a 400 that
names q, or answered with no results, never a 500.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aifinops.core.search import fallback_match, match, search_terms
from aifinops.core.tests.matrix_world import build_world
from aifinops.core.tests.permission_matrix import PERSONAS
from aifinops.search.forms import SearchForm
from aifinops.search.selectors import search
from portfolio.models import UseCase
from portfolio.tests.factories import UseCaseFactory

pytestmark = pytest.mark.django_db

SIGNED_IN = [p for p in PERSONAS if p != "anonymous"]
# What each persona must find of team A's records by a word of their names: the use case and the
# team (its members and the cross-team roles), the intake "Zeta refund triage" (its requester, its
# business owner, the cross-team roles), the budget "Zeta budget" (the team's members, its owner,
# the cross-team roles), and the council item about the use case (the council section, and the
# use case's business owner, who follows it on "my items"). Team B's requester finds none of them.
EXPECTED = {
    "requester_a": {"use_case", "team", "intake", "budget"},
    "requester_b": set(),
    "owner": {"use_case", "team", "intake", "budget", "agenda_item"},
    "council": {"use_case", "team", "intake", "budget", "agenda_item"},
    "chair": {"use_case", "team", "intake", "budget", "agenda_item"},
    "finance": {"use_case", "team", "intake", "budget", "agenda_item"},
    "admin": {"use_case", "team", "intake", "budget", "agenda_item"},
}


@pytest.fixture
def world(cast):
    return build_world(cast)


def _kinds(groups, *, team_a_words=("Support", "Zeta")):
    """The kinds of team A's records among the results."""
    return {
        group.kind
        for group in groups
        for hit in group.hits
        if any(word in hit["title"] for word in team_a_words)
    }


@pytest.mark.parametrize("persona", SIGNED_IN)
def test_each_persona_finds_what_they_may_open_and_only_that(cast, world, client, persona):
    user = getattr(cast, persona)
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")

    groups = [*search(user=user, q="support"), *search(user=user, q="zeta")]
    found = _kinds(groups)
    links = {hit["url"] for group in groups for hit in group.hits}

    assert found == EXPECTED[persona]
    for url in links:
        assert client.get(url).status_code == 200, f"{persona} was shown {url}, which does not open"


def test_a_team_member_finds_a_use_case_of_their_team_by_the_start_of_a_word_of_its_name(cast, world):
    groups = search(user=cast.requester_a, q="summ")

    use_cases = next(g for g in groups if g.kind == "use_case")
    assert [h["title"] for h in use_cases.hits] == ["Support summarizer"]
    assert use_cases.hits[0]["url"] == reverse("portfolio:use_case_detail", args=["support-summarizer"])


def test_another_teams_requester_finds_only_their_own_use_case(cast, world):
    titles = [h["title"] for g in search(user=cast.requester_b, q="writer summarizer s") for h in g.hits]

    assert "Support summarizer" not in titles


def test_every_word_must_match_and_order_does_not_matter(cast, world):
    def titles(q):
        return [h["title"] for g in search(user=cast.finance, q=q, kind="use_case") for h in g.hits]

    assert titles("summarizer support") == ["Support summarizer"]
    assert titles("summarizer writer") == []


def test_the_model_catalog_is_searchable_by_everyone_signed_in(cast, world, client):
    client.force_login(cast.requester_b, backend="django.contrib.auth.backends.ModelBackend")

    response = client.get(reverse("search:index"), {"q": "gpt mini"})

    assert response.status_code == 200
    assert "GPT-4.1 mini" in response.content.decode()
    assert reverse("portfolio:model_catalog") in response.content.decode()


def test_the_page_groups_results_by_kind_with_a_count_and_a_link_to_all_of_a_kind(cast, client):
    for i in range(11):
        UseCaseFactory(team=cast.team_a, name=f"Ledger helper {i:02d}", key=f"ledger-helper-{i:02d}")
    client.force_login(cast.requester_a, backend="django.contrib.auth.backends.ModelBackend")

    page = client.get(reverse("search:index"), {"q": "ledger"}).content.decode()
    everything = client.get(reverse("search:index"), {"q": "ledger", "kind": "use_case"}).content.decode()

    assert "11 found" in page
    assert page.count("Ledger helper") == 8
    assert "See all 11 use cases" in page
    assert 'href="?q=ledger&amp;kind=use_case"' in page
    assert everything.count("Ledger helper") == 11


def test_the_page_asks_the_database_as_often_for_many_results_as_for_few(cast, world, client):
    client.force_login(cast.owner, backend="django.contrib.auth.backends.ModelBackend")
    url = reverse("search:index")

    with CaptureQueriesContext(connection) as few:
        client.get(url, {"q": "ledger zeta support"})
    for i in range(30):
        UseCaseFactory(team=cast.team_a, name=f"Zeta ledger support {i}", key=f"zeta-ledger-{i}")
    with CaptureQueriesContext(connection) as many:
        response = client.get(url, {"q": "ledger zeta support"})

    assert "30 found" in response.content.decode()
    assert len(many) == len(few)
    assert len(many) <= 12


def test_the_dropdown_is_a_fragment_for_htmx(cast, world, client):
    client.force_login(cast.requester_a, backend="django.contrib.auth.backends.ModelBackend")

    response = client.get(reverse("search:index"), {"q": "summ"}, headers={"HX-Request": "true"})

    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert 'class="search-hit"' in body and "Support summarizer" in body
    assert "All results for" in body


def test_the_header_box_is_on_every_page_for_people_signed_in(cast, client):
    client.force_login(cast.requester_a, backend="django.contrib.auth.backends.ModelBackend")

    body = client.get(reverse("home")).content.decode()

    assert 'id="search-q"' in body
    assert 'action="/search/"' in body
    assert "js/search" in body


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(reverse("search:index"), {"q": "support"})

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# The fallback for databases without full-text search, called directly: the suite runs on PostgreSQL.


def test_the_plain_fallback_finds_the_same_visible_records(cast, world):
    full = search(user=cast.requester_a, q="summ")
    plain = search(user=cast.requester_a, q="summ", vendor="sqlite")
    hidden = search(user=cast.requester_b, q="summ", vendor="sqlite")

    assert [(g.kind, g.total, g.hits) for g in plain] == [(g.kind, g.total, g.hits) for g in full]
    assert [h["title"] for g in hidden for h in g.hits if "Support" in h["title"]] == []


def test_the_fallback_needs_every_term_in_some_field(cast):
    qs = UseCase.objects.all()

    assert list(fallback_match(qs, ("name", "key"), ["support", "summ"])) == [cast.use_case_a]
    assert list(fallback_match(qs, ("name", "key"), ["support", "campaign"])) == []


# What a person can type.


@pytest.mark.parametrize(
    ("q", "message"),
    [
        ("zeta\x00", "Null characters are not allowed."),
        ("z" * 10_000, "Ensure this value has at most 200 characters (it has 10000)."),
        ("z" * 201, "Ensure this value has at most 200 characters (it has 201)."),
    ],
)
def test_a_query_that_cannot_be_searched_is_refused_naming_q(cast, client, q, message):
    client.force_login(cast.requester_a, backend="django.contrib.auth.backends.ModelBackend")

    response = client.get(reverse("search:index"), {"q": q})
    dropdown = client.get(reverse("search:index"), {"q": q}, headers={"HX-Request": "true"})

    assert response.status_code == 400
    assert f"Search: {message}" in response.content.decode()
    assert dropdown.status_code == 400
    assert message in dropdown.content.decode()


def test_a_lone_surrogate_is_refused_by_the_form_naming_q():
    form = SearchForm({"q": "zeta\ud800"})

    assert not form.is_valid()
    assert "surrogate" in form.errors["q"][0]


def test_undecodable_bytes_in_the_query_string_are_searched_as_replacement_characters(cast, client):
    client.force_login(cast.requester_a, backend="django.contrib.auth.backends.ModelBackend")

    response = client.get(reverse("search:index") + "?q=%ED%A0%80zeta%FF")

    assert response.status_code == 200


@pytest.mark.parametrize(
    "q",
    [
        "!!!",
        "&|!:*()<->",
        "support & | ! : * ( ) <-> summ",
        "'; DROP TABLE portfolio_usecase; --",
        "' OR 1=1 --",
        "summ:*",
        "\\",
        "''",
        "___",
        "   ",
        "((((support",
        "support <2> summarizer",
    ],
)
def test_operators_punctuation_and_sql_are_only_text(cast, world, client, q):
    client.force_login(cast.finance, backend="django.contrib.auth.backends.ModelBackend")

    response = client.get(reverse("search:index"), {"q": q})
    api = client.get(reverse("api-search"), {"q": q})

    assert response.status_code == 200
    assert api.status_code == 200
    assert UseCase.objects.filter(key="support-summarizer").exists()


def test_operators_around_words_still_find_them(cast, world):
    groups = search(user=cast.finance, q="!support & summariz:*", kind="use_case")

    titles = [h["title"] for g in groups for h in g.hits]
    assert titles == ["Support summarizer"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"q": "zeta", "kind": "secrets"}, "Kind"),
        ({"q": "zeta", "kind": "use_case", "page": "0"}, "Page"),
        ({"q": "zeta", "kind": "use_case", "page": "-1"}, "Page"),
        ({"q": "zeta", "kind": "use_case", "page": "99999999999999999999"}, "Page"),
        ({"q": "zeta", "kind": "use_case", "page": "one"}, "Page"),
    ],
)
def test_a_bad_kind_or_page_is_refused_naming_it(cast, client, params, field):
    client.force_login(cast.requester_a, backend="django.contrib.auth.backends.ModelBackend")

    response = client.get(reverse("search:index"), params)

    assert response.status_code == 400
    assert f"{field}: " in response.content.decode()


def test_a_page_past_the_last_still_counts_the_matches(cast, world, client):
    client.force_login(cast.finance, backend="django.contrib.auth.backends.ModelBackend")

    groups = search(user=cast.finance, q="summariz", kind="use_case", limit=50, offset=50)

    assert [(g.kind, g.total, g.hits) for g in groups] == [("use_case", 1, [])]


def test_repeated_q_takes_the_last(cast, world, client):
    client.force_login(cast.requester_a, backend="django.contrib.auth.backends.ModelBackend")

    response = client.get(reverse("search:index") + "?q=campaign&q=summ")

    assert response.status_code == 200
    assert "Support summarizer" in response.content.decode()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=st.text(max_size=200).filter(lambda s: "\x00" not in s))
def test_any_text_is_searched_without_an_error(cast, q):
    assert SearchForm({"q": q}).is_valid()
    for group in search(user=cast.requester_a, q=q):
        assert group.total >= len(group.hits)
    # The terms are what the tsquery is made of: letters and digits only.
    assert all(term.isalnum() for term in search_terms(q))


def test_the_match_of_nothing_searchable_is_empty_without_asking_the_database(cast):
    with CaptureQueriesContext(connection) as queries:
        assert list(match(UseCase.objects.all(), ("name",), "&|!")) == []

    assert len(queries) == 0


def test_an_intake_is_found_by_its_reference_by_those_who_may_see_it(cast, world):
    reference = f"INT-{world['intake_a']:04d}"

    def titles(user, q):
        return [h["title"] for g in search(user=user, q=q, kind="intake") for h in g.hits]

    assert titles(cast.requester_a, reference) == [f"{reference} Zeta refund triage"]
    assert titles(cast.requester_a, reference.lower().replace("-", "")) == [f"{reference} Zeta refund triage"]
    assert titles(cast.requester_a, f"INT-{world['intake_a']}") == [f"{reference} Zeta refund triage"]
    assert titles(cast.requester_b, reference) == []
    assert titles(cast.requester_a, "INT-99999999999999999999") == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=st.text(max_size=260))
def test_the_page_answers_any_text_with_results_or_a_400_naming_q(cast, client, q):
    client.force_login(cast.owner, backend="django.contrib.auth.backends.ModelBackend")

    response = client.get(reverse("search:index"), {"q": q})

    refused = "\x00" in q or len(q.strip()) > 200
    assert response.status_code == (400 if refused else 200)
    if refused:
        assert "Search: " in response.content.decode()
