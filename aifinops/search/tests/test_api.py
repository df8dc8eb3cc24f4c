"""GET /api/v1/search/: the search page's results as JSON, with the same visibility and the API's
error body naming q."""

import pytest
from django.urls import reverse

from aifinops.core.tests.matrix_world import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(cast):
    return build_world(cast)


def _get(client, user, **params):
    if user is not None:
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client.get(reverse("api-search"), params)


def test_a_team_member_gets_their_use_case_grouped_by_kind(cast, world, client):
    response = _get(client, cast.requester_a, q="summariz")

    body = response.json()
    assert response.status_code == 200
    assert body["q"] == "summariz"
    assert body["results"] == [
        {
            "kind": "use_case",
            "label": "Use cases",
            "total": 1,
            "hits": [
                {
                    "title": "Support summarizer",
                    "context": "Support · Concept · support-summarizer",
                    "url": "/portfolio/use-cases/support-summarizer/",
                }
            ],
        }
    ]


def test_another_teams_requester_gets_nothing_of_team_a(cast, world, client):
    response = _get(client, cast.requester_b, q="zeta support")

    assert response.status_code == 200
    assert response.json()["results"] == []


def test_the_council_item_reaches_the_owner_and_not_the_requester(cast, world, client):
    owner = _get(client, cast.owner, q="support", kind="agenda_item").json()["results"]
    requester = _get(client, cast.requester_a, q="support", kind="agenda_item").json()["results"]

    assert [g["total"] for g in owner] == [2]
    assert requester == []


def test_anonymous_callers_get_401(client):
    assert client.get(reverse("api-search"), {"q": "support"}).status_code == 401


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"q": "zeta\x00"}, "q"),
        ({"q": "z" * 10_000}, "q"),
        ({"q": "zeta", "kind": "secrets"}, "kind"),
        ({"q": "zeta", "page": "-3"}, "page"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(cast, client, params, field):
    response = _get(client, cast.requester_a, **params)

    error = response.json()["error"]
    assert response.status_code == 400
    assert list(error["fields"]) == [field]
    assert field in error["message"]
