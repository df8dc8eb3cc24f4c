"""What no field can hold, sent to the API and the pages: a 400 naming the limit or the field, never
a 500. The parser refuses it once for every JSON endpoint (aifinops.core.api.parsers)."""

import json

import pytest
from django.urls import reverse

from aifinops.core.api.parsers import MAX_DEPTH, too_deep
from aifinops.core.services import api_token_create
from intake.models import IntakeRequest as Intake
from intake.tests import conftest as intake_fixtures

pytestmark = pytest.mark.django_db

# The intake page's fixtures, for its form.
catalog = intake_fixtures.catalog
intake_data = intake_fixtures.intake_data


@pytest.fixture
def api(client, cast):
    _, key = api_token_create(user=cast.requester_a, name="tests")
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {key}"
    return client


def nested(depth):
    return "[" * depth + "]" * depth


def post_raw(client, url, body):
    return client.post(url, body, content_type="application/json")


@pytest.mark.parametrize("url", ["/api/v1/intakes/", "/api/v1/usage-events/", "/api/v1/authorize/"])
def test_deep_nesting_is_a_400_naming_the_limit_on_any_json_endpoint(api, url):
    # Given a body nested far deeper than Python's recursion limit
    body = '{"name": ' + nested(100_000) + "}"

    # When it is posted
    response = post_raw(api, url, body)

    # Then the parser refuses it with the limit, before any view sees it
    assert response.status_code == 400, response.content[:300]
    error = response.json()["error"]
    assert error["code"] == "parse_error"
    assert f"nested deeper than {MAX_DEPTH} levels" in error["message"]


def test_nesting_within_the_limit_reaches_the_view(api):
    response = post_raw(api, "/api/v1/intakes/", json.dumps({"tags": nested(MAX_DEPTH - 2)}))

    assert response.status_code == 400
    assert "nested deeper" not in response.content.decode()


def test_the_depth_check_ignores_brackets_inside_strings():
    text = json.dumps({"note": "[" * 500, "list": [[1], [2]]})

    assert not too_deep(text)
    assert too_deep(nested(MAX_DEPTH + 1))
    assert not too_deep(nested(MAX_DEPTH))
    assert too_deep("[" * 5000)  # unbalanced, but still too deep for the parser to try


def test_a_lone_surrogate_in_an_intakes_name_is_a_400_naming_the_field(api):
    # Given a JSON body whose name escapes half of a UTF-16 pair
    body = '{"name": "Macro \\ud800 suggestions", "purpose": "Suggest replies"}'

    # When it is posted to the intake API
    response = post_raw(api, "/api/v1/intakes/", body)

    # Then it is refused, naming the field, and nothing is stored
    assert response.status_code == 400, response.content[:300]
    fields = response.json()["error"]["fields"]
    assert list(fields) == ["name"]
    assert "surrogate" in fields["name"][0]
    assert not Intake.objects.exists()


def test_a_surrogate_pair_is_a_character_and_passes(api):
    body = '{"name": "Macro \\ud83d\\ude00 suggestions"}'

    response = post_raw(api, "/api/v1/intakes/", body)

    assert response.status_code == 400  # the intake is incomplete, and says so by field
    assert "name" not in response.json()["error"]["fields"]


def test_nul_and_surrogates_in_nested_values_and_keys_are_named_by_path(api):
    body = '{"tags": {"team": "a\\u0000b", "k\\udc00": "v"}, "name": "ok"}'

    response = post_raw(api, "/api/v1/intakes/", body)

    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert set(fields) == {"tags.team", "tags.k\\udc00"}
    assert "NUL" in fields["tags.team"][0]


def test_the_html_form_reads_an_encoded_surrogate_as_a_replacement_character(login, cast, intake_data):
    # Given the intake page, and a form body whose name holds the UTF-8 bytes of a surrogate
    client = login(cast.requester_a)
    body = "&".join(f"{k}={v}" for k, v in intake_data.items() if not isinstance(v, list))
    body += "&ai_models=openai%2Fgpt-4.1-mini&name=Macro%ED%A0%80"

    # When it is posted
    response = client.post(reverse("intake:create"), body, content_type="application/x-www-form-urlencoded")

    # Then Django decodes the bytes as replacement characters: the form saves a storable name
    assert response.status_code in (200, 302)
    stored = Intake.objects.get()
    assert stored.name.startswith("Macro\ufffd")


def test_the_html_form_names_a_nul_in_a_field(login, cast, intake_data):
    client = login(cast.requester_a)

    response = client.post(reverse("intake:create"), {**intake_data, "name": "Macro\x00"})

    assert response.status_code == 200
    assert "Null characters are not allowed." in response.content.decode()
    assert not Intake.objects.exists()
