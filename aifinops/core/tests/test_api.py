import re

import pytest

from aifinops.core.services import api_token_create
from portfolio.choices import Stage
from portfolio.tests.factories import UseCaseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client, cast):
    _, key = api_token_create(user=cast.finance, name="tests")
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {key}"
    return client


def test_anonymous_api_call_gets_401_with_the_error_body(client):
    response = client.get("/api/v1/use-cases/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    error = response.json()["error"]
    assert error["status"] == 401
    assert error["code"] == "not_authenticated"
    assert "credentials" in error["message"]


def test_not_found_uses_the_same_error_body(api):
    response = api.get("/api/v1/use-cases/no-such-thing/")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_list_is_paginated(api, cast):
    UseCaseFactory.create_batch(5, team=cast.team_a)

    response = api.get("/api/v1/use-cases/?page_size=3")

    body = response.json()
    assert body["count"] == 7
    assert len(body["results"]) == 3
    assert body["next"].endswith("page=2&page_size=3")


def test_list_filters_with_the_page_filterset(api, cast):
    UseCaseFactory(team=cast.team_a, key="in-pilot", stage=Stage.PILOT)

    response = api.get("/api/v1/use-cases/?stage=pilot")

    assert [uc["key"] for uc in response.json()["results"]] == ["in-pilot"]


def test_bad_filter_value_names_the_field(api):
    response = api.get("/api/v1/use-cases/?stage=orbit")

    assert response.status_code == 400
    error = response.json()["error"]
    assert "stage" in error["fields"]
    assert "stage" in error["message"]


@pytest.mark.parametrize("url", ["/api/v1/use-cases/", "/api/v1/optimizations/"])
def test_another_teams_slug_is_refused_as_an_unknown_one(login, cast, url):
    client = login(cast.requester_b)

    foreign = client.get(url, {"team": "support"})
    unknown = client.get(url, {"team": "no-such-team"})
    own = client.get(url, {"team": "marketing"})

    assert (foreign.status_code, foreign.json()) == (unknown.status_code, unknown.json())
    assert foreign.status_code == 400
    assert own.status_code == 200


def test_session_authentication_works_for_the_browser(login, cast):
    response = login(cast.requester_a).get("/api/v1/me/")

    assert response.status_code == 200
    assert response.json()["roles"] == ["requester"]
    assert response.json()["teams"] == [{"team": "support", "role": "member"}]


def test_schema_is_served_to_authenticated_users(api):
    response = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/use-cases/" in schema["paths"]
    assert "tokenAuth" in schema["components"]["securitySchemes"]


def test_docs_work_offline_and_send_anonymous_to_login(client, login, cast):
    anonymous = client.get("/api/docs/")
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/accounts/login/")

    page = login(cast.requester_a).get("/api/docs/")

    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    # Nothing is fetched from another host: every script and stylesheet is served from here.
    assert not re.search(r'(?:src|href)=["\']https?://', html)
