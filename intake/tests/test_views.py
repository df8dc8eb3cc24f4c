"""The intake pages and their htmx fragments, as the browser uses them."""

import pytest
from django.urls import reverse

from aifinops.core.testing.html import empty_choice
from intake.models import IntakeRequest, IntakeStatus
from portfolio.tests.factories import UseCaseFactory

pytestmark = pytest.mark.django_db

AGENT = {
    "autonomy_level": "autonomous_agent",
    "tool_permissions": "read CRM\nsend email",
    "external_actions": "on",
    "run_frequency": "hourly",
    "requested_spend_cap": "800",
}


def test_new_form_starts_with_the_requesters_team_and_function(login, cast, catalog):
    response = login(cast.requester_a).get(reverse("intake:create"))

    assert response.status_code == 200
    form = response.context["form"]
    assert form["team"].value() == "support"
    assert form["business_owner"].value() == "req-a"
    assert b"Register an AI use case" in response.content
    assert b"id_tool_permissions" not in response.content


def test_the_form_says_what_an_empty_choice_means(login, cast, catalog):
    response = login(cast.requester_a).get(reverse("intake:create"))

    html = response.content.decode()
    assert "---------" not in html
    assert '<option value="">—</option>' not in html
    assert empty_choice(html, "task_kind") == "Not sure yet"
    assert empty_choice(html, "tag_function") == "Choose one…"
    assert empty_choice(html, "tag_customer-segment") == "Not set"

    section = login(cast.requester_a).get(
        reverse("intake:agent_section"), {"autonomy_level": "supervised_agent"}
    )
    agent = section.content.decode()
    assert "---------" not in agent
    assert empty_choice(agent, "run_frequency") == "Choose how often it runs…"


def test_save_draft_then_resume_it(login, cast, intake_data):
    client = login(cast.requester_a)

    response = client.post(
        reverse("intake:create"),
        {
            "name": "Half done",
            "team": "support",
            "user_audience": "internal",
            "currency": "USD",
            "data_classification": "internal",
            "customer_impact": "none",
            "autonomy_level": "assistive",
            "environment": "development",
            "save": "",
        },
    )

    intake = IntakeRequest.objects.get()
    assert intake.status == IntakeStatus.DRAFT
    assert response["Location"] == reverse("intake:edit", args=[intake.pk])
    resumed = client.get(response["Location"])
    assert resumed.context["form"]["name"].value() == "Half done"


def test_submit_with_gaps_shows_each_field_message_and_saves_nothing(login, cast, intake_data):
    data = {**intake_data, **AGENT, "requested_spend_cap": "", "tool_permissions": "", "submit": ""}

    response = login(cast.requester_a).post(reverse("intake:create"), data)

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["tool_permissions"] == ["An autonomous agent must list the tools it may use, one per line."]
    assert errors["requested_spend_cap"][0].startswith(
        "An agent that can act outside the company needs a spend cap"
    )
    assert b"Some fields need attention" in response.content
    assert not IntakeRequest.objects.exists()


def test_submit_shows_tier_and_reasons_right_after(login, cast, intake_data):
    client = login(cast.requester_a)

    response = client.post(reverse("intake:create"), {**intake_data, **AGENT, "submit": ""}, follow=True)

    content = response.content.decode()
    assert "Critical risk" in content
    assert "Autonomous agent with external actions." in content
    assert "review required" in content.lower()
    # each reason's tier by its label, never the stored value
    assert '<span class="badge risk-critical">Critical</span>' in content
    assert ">critical<" not in content and ">high<" not in content


def test_low_risk_submit_lands_on_the_accepted_intake_with_tagging_instructions(login, cast, intake_data):
    response = login(cast.requester_a).post(
        reverse("intake:create"), {**intake_data, "submit": ""}, follow=True
    )

    content = response.content.decode()
    assert "is low risk: it is now the Concept use case" in content
    assert "ai-use-case: macro-suggestions" in content


def test_agent_section_appears_only_for_agents(login, cast, catalog):
    client = login(cast.requester_a)

    agent = client.get(reverse("intake:agent_section"), {"autonomy_level": "supervised_agent"})
    assistive = client.get(reverse("intake:agent_section"), {"autonomy_level": "assistive"})

    assert b'name="tool_permissions"' in agent.content
    assert b'name="requested_spend_cap"' in agent.content
    assert b'name="tool_permissions"' not in assistive.content


def test_field_is_validated_as_it_is_left(login, cast, intake_data):
    client = login(cast.requester_a)

    bad = client.post(
        reverse("intake:validate_field"),
        {**intake_data, "outcomes_per_month": "-5", "_field": "outcomes_per_month"},
    )
    good = client.post(reverse("intake:validate_field"), {**intake_data, "_field": "outcomes_per_month"})

    assert b"Ensure this value is greater than or equal to 0." in bad.content
    assert b"invalid-feedback" not in good.content


def test_calculator_estimates_from_catalog_prices(login, cast, catalog):
    response = login(cast.requester_a).post(
        reverse("intake:cost_estimate"),
        {
            "ai_models": ["openai/gpt-4.1-mini"],
            "expected_calls_per_month": "20000",
            "input_tokens_per_call": "1500",
            "output_tokens_per_call": "300",
        },
    )

    # 20,000 x (1,500 x 0.40 + 300 x 1.60) / 1M = 21.60
    assert b"Estimated <strong>$21.60</strong> a month" in response.content


def test_calculator_says_what_is_missing(login, cast, catalog):
    response = login(cast.requester_a).post(
        reverse("intake:cost_estimate"), {"expected_calls_per_month": "10"}
    )

    assert b"a model from the catalog, input tokens per call, output tokens per call" in response.content


def test_similar_use_cases_of_the_team_are_shown_before_submitting(login, cast, catalog):
    UseCaseFactory(
        team=cast.team_a,
        key="ticket-macro",
        name="Ticket macro suggestions",
        purpose="Suggest macros for support tickets",
    )
    UseCaseFactory(team=cast.team_b, key="macro-b", name="Ticket macro suggestions b", purpose="Same")

    response = login(cast.requester_a).post(
        reverse("intake:duplicates"),
        {"team": "support", "name": "Macro suggestions for tickets", "purpose": ""},
    )

    assert b"Possible duplicates" in response.content
    assert b"Ticket macro suggestions</a>" in response.content
    assert b"suggestions b" not in response.content


def test_intake_list_keeps_a_constant_number_of_queries(
    login, cast, intake_data, django_assert_max_num_queries
):
    client = login(cast.admin)
    client.post(reverse("intake:create"), {**intake_data, "save": ""})
    for n in range(8):
        client.post(reverse("intake:create"), {**intake_data, "name": f"Draft {n}", "save": ""})

    with django_assert_max_num_queries(12):
        response = client.get(reverse("intake:index"), {"scope": "all"})

    assert response.context["page"].paginator.count == 9
