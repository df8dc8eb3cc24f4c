"""The intake API: the same service and the same messages as the form."""

import pytest

from aifinops.core.services import api_token_create
from intake.forms import SUBMIT, IntakeForm
from intake.models import IntakeRequest, IntakeStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client, cast):
    _, key = api_token_create(user=cast.requester_a, name="tests")
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {key}"
    return client


def _json(data):
    """The page's form data as an API client sends it: tags as one object, booleans as booleans."""
    body = {k: v for k, v in data.items() if not k.startswith("tag_")}
    body["tags"] = {k[4:]: v for k, v in data.items() if k.startswith("tag_")}
    return body


def test_create_and_submit_low_risk_gives_a_concept_use_case(api, intake_data):
    response = api.post(
        "/api/v1/intakes/", {**_json(intake_data), "submit": True}, content_type="application/json"
    )

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "accepted"
    assert body["risk_tier"] == "low"
    assert body["review_required"] is False
    assert body["use_case"] == "macro-suggestions"
    assert body["ai_models"] == ["openai/gpt-4.1-mini"]


def test_draft_then_patch_then_submit(api, intake_data):
    created = api.post(
        "/api/v1/intakes/", {"name": "Half done", "team": "support"}, content_type="application/json"
    )
    pk = created.json()["id"]
    assert created.json()["status"] == "draft"

    patched = api.patch(
        f"/api/v1/intakes/{pk}/",
        {**_json(intake_data), "customer_impact": "customer_facing"},
        content_type="application/json",
    )
    submitted = api.post(f"/api/v1/intakes/{pk}/submit/")

    assert patched.status_code == 200
    assert patched.json()["name"] == "Macro suggestions"
    assert submitted.json()["status"] == "triaged"
    assert submitted.json()["triage_reasons"] == [
        {"code": "customer_facing", "text": "Customer-facing: its output reaches customers.", "tier": "high"}
    ]


def test_api_and_form_refuse_a_contradiction_with_the_same_messages(api, cast, intake_data):
    bad = {
        **intake_data,
        "autonomy_level": "autonomous_agent",
        "external_actions": True,
        "run_frequency": "daily",
        "tool_permissions": "",
        "requested_spend_cap": "",
    }
    form = IntakeForm({**bad, "external_actions": "on"}, user=cast.requester_a, mode=SUBMIT)
    assert not form.is_valid()

    response = api.post("/api/v1/intakes/", {**_json(bad), "submit": True}, content_type="application/json")

    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert fields["tool_permissions"] == form.errors["tool_permissions"]
    assert fields["requested_spend_cap"] == form.errors["requested_spend_cap"]
    assert not IntakeRequest.objects.exists()


def test_api_names_bad_fields_and_bad_tags(api, intake_data):
    body = {**_json(intake_data), "expected_monthly_cost": "-3", "currency": "XXX", "submit": True}
    body["tags"] = {"function": "astrology", "colour": "blue"}

    response = api.post("/api/v1/intakes/", body, content_type="application/json")

    error = response.json()["error"]
    assert response.status_code == 400
    assert error["fields"]["expected_monthly_cost"] == ["Ensure this value is greater than or equal to 0."]
    assert "currency" in error["fields"]
    assert "“colour” is not a key of the tag schema." in error["fields"]["non_field_errors"]


def test_submitting_a_submitted_intake_is_a_409(api, intake_data):
    pk = api.post(
        "/api/v1/intakes/", {**_json(intake_data), "submit": True}, content_type="application/json"
    ).json()["id"]

    response = api.post(f"/api/v1/intakes/{pk}/submit/")

    assert response.status_code == 409
    assert "cannot be submitted now" in response.json()["error"]["message"]
    assert IntakeRequest.objects.get(pk=pk).status == IntakeStatus.ACCEPTED


def test_intakes_are_in_the_schema(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    assert {"/api/v1/intakes/", "/api/v1/intakes/{id}/submit/", "/api/v1/intakes/{id}/withdraw/"} <= set(
        schema["paths"]
    )
    write = schema["components"]["schemas"]["IntakeWriteRequest"]["properties"]
    assert {"name", "team", "tags", "submit", "requested_spend_cap"} <= set(write)


def test_write_schema_marks_only_name_and_team_required_and_money_as_decimal(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    write = schema["components"]["schemas"]["IntakeWriteRequest"]

    assert sorted(write["required"]) == ["name", "team"]
    assert write["properties"]["expected_monthly_cost"]["type"] == "string"
    assert write["properties"]["expected_monthly_cost"]["format"] == "decimal"
    assert write["properties"]["expected_users"]["type"] == "integer"
