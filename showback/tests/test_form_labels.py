"""The dropdowns of showback's forms say what their empty choice means ("No team", "Choose a
provider…"), never Django's "---------"."""

import pytest
from django.urls import reverse

from aifinops.core.testing.html import empty_choice
from showback.tests.budget_factories import BudgetFactory

pytestmark = pytest.mark.django_db


def _page(client, url):
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "---------" not in html
    return html


def test_the_attribution_rule_form_names_what_an_empty_choice_assigns(login, cast):
    # When finance opens the attribution rules page
    html = _page(login(cast.finance), reverse("showback:rule_list"))

    # Then each dropdown's empty choice says what leaving it empty means
    assert empty_choice(html, "match_field") == "Choose what to match…"
    assert empty_choice(html, "use_case") == "No use case"
    assert empty_choice(html, "team") == "No team"
    assert empty_choice(html, "environment") == "No environment"


def test_the_budget_form_names_its_empty_targets_and_who_owns_a_budget_left_without_owner(login, cast):
    client = login(cast.finance)

    # When finance opens a new budget and an existing one
    new = _page(client, reverse("showback:budget_create"))
    edit = _page(client, reverse("showback:budget_edit", args=[BudgetFactory().pk]))

    # Then the targets a scope does not use read "No …", and an empty owner says whose it will be
    assert [empty_choice(new, name) for name in ("function", "team", "use_case", "provider", "model")] == [
        "No business function",
        "No team",
        "No use case",
        "No provider",
        "No model",
    ]
    assert empty_choice(new, "owner") == "You"
    assert empty_choice(edit, "owner") == "Keep the current owner"


def test_the_webhook_and_commitment_forms_ask_to_choose(login, cast):
    client = login(cast.finance)

    webhooks = _page(client, reverse("showback:budget_webhooks"))
    commitments = _page(client, reverse("showback:commitment_list"))

    assert empty_choice(webhooks, "team") == "Choose a team…"
    assert empty_choice(commitments, "provider") == "Choose a provider…"
    assert empty_choice(commitments, "category") == "Choose a category…"


def test_the_forecast_assumption_form_asks_for_a_model(login, cast):
    html = _page(login(cast.finance), reverse("analytics:forecast_portfolio"))

    assert empty_choice(html, "from_model") == "Choose a model…"
    assert empty_choice(html, "target_model") == "Choose a model…"
