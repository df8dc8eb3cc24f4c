"""Finance hard-caps a team in a real browser; a call of the team's use case past the cap is
refused, and the budget page shows the cap used up and the counters' reconciliation.

Set TEAM_CAP_JOURNEY_SHOTS to a directory to keep a screenshot of each step there.
"""

import os
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from portfolio.tests.factories import AIModelFactory, ProviderFactory
from showback.gateway.caps import gateway_caps_reconcile
from showback.models import Budget, BudgetMode, BudgetScope

from .gateway_helpers import GatewayKeyFactory, bearer, redis_clean  # noqa: F401 (fixture)

# The live server reads what the test writes, so the data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = os.environ.get("TEAM_CAP_JOURNEY_SHOTS")


def _shot(page, name):
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def test_finance_hard_caps_a_team_and_its_use_cases_calls_stop_at_the_cap(
    page,
    log_in,
    cast,
    password,
    redis_clean,  # noqa: F811 (fixture)
):
    openai = ProviderFactory(slug="openai", name="OpenAI")
    AIModelFactory(provider=openai, key="gpt-mini", name="GPT mini")
    key = GatewayKeyFactory(use_case=cast.use_case_a, created_by=cast.owner)

    log_in(cast.finance.username, password)
    page.goto(reverse("showback:budget_create"))
    page.get_by_label("Name", exact=True).fill("Support, hard cap")
    page.get_by_label("Scope", exact=True).select_option("team")
    page.get_by_label("Team", exact=True).select_option("support")
    page.get_by_label("Amount", exact=True).fill("8.00")
    page.get_by_label("Mode", exact=True).select_option("hard_cap")
    _shot(page, "1-form")
    page.get_by_role("button", name="Save").click()

    budget = Budget.objects.get(name="Support, hard cap")
    assert (budget.scope, budget.team, budget.mode) == (BudgetScope.TEAM, cast.team_a, BudgetMode.HARD_CAP)
    expect(page.get_by_role("heading", name="Support, hard cap")).to_be_visible()

    client = bearer(key.raw)
    allowed = client.post(
        "/api/v1/authorize/", {"model": "openai/gpt-mini", "estimated_cost": "7.50"}, format="json"
    ).json()
    refused = client.post(
        "/api/v1/authorize/", {"model": "openai/gpt-mini", "estimated_cost": "1.00"}, format="json"
    ).json()
    assert allowed["decision"] != "deny"
    assert (refused["decision"], refused["reason"]) == ("deny", "budget_exhausted")
    assert refused["remaining_budget"] == {"amount": "0.500000", "currency": "USD"}

    gateway_caps_reconcile()
    page.reload()
    _shot(page, "2-detail")
    expect(page.locator("#cap-reconciliation")).to_contain_text("reconciled with the ledger")
    expect(page.locator("#cap-reconciliation")).to_contain_text("no drift found so far")
