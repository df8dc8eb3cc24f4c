"""An integration works through the API and people see its work on the pages, in a real browser:
an HR system invites a person and puts them in a team through Administration's API; a finance
tool imports a commitment file through the commitments API. The admin then finds the person and
the team on Administration's pages, finance the commitment on its page, and both read the new
operations in the API docs.

Set API_JOURNEY_SHOTS to a directory to keep a screenshot of each step there.
"""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from aifinops.core.services import api_token_create
from portfolio.tests.factories import ProviderFactory

# The live server reads what the test writes, so the data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = os.environ.get("API_JOURNEY_SHOTS")
COMMITMENTS = (
    "ContractCommitmentId,ContractId,ContractCommitmentCategory,ContractCommitmentCost,"
    "ContractCommitmentPeriodStart,ContractCommitmentPeriodEnd,BillingCurrency,"
    "ContractCommitmentDescription\n"
    "cc-journey,ea-2026,Spend,120000,2026-01-01T00:00:00Z,2027-01-01T00:00:00Z,USD,Journey committed spend\n"
)


def _shot(page, name):
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def _token(client, user):
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {api_token_create(user=user, name='integration')[1]}"
    return client


def test_what_integrations_write_through_the_api_shows_on_the_pages(
    page, log_in, cast, password, client, migration_data
):
    # Given an HR system with a platform admin's token, when it invites Zoe and adds her to a team
    hr = _token(client, cast.admin)
    invited = hr.post(
        "/api/v1/admin/people/",
        {"username": "zoe", "email": "zoe@example.com", "first_name": "Zoe", "last_name": "Ng"},
        content_type="application/json",
    )
    assert invited.status_code == 201, invited.json()
    assert invited.json()["set_password_link"].startswith("http")
    added = hr.post(
        f"/api/v1/admin/teams/{cast.team_a.slug}/members/",
        {"username": "zoe", "role": "lead"},
        content_type="application/json",
    )
    assert added.status_code == 201, added.json()

    # and a finance tool imports a FOCUS 1.3 commitment file with finance's token
    ProviderFactory(name="Azure OpenAI", slug="azure-openai")
    finance_tool = _token(client, cast.finance)
    imported = finance_tool.post(
        "/api/v1/commitments/import/?provider=azure-openai", COMMITMENTS, content_type="text/csv"
    )
    assert imported.status_code == 201, imported.json()

    # Then the admin finds Zoe on Administration's people page and as the team's lead
    log_in(cast.admin.username, password)
    page.goto("/administration/people/?q=zoe")
    expect(page.get_by_role("link", name="zoe")).to_be_visible()
    _shot(page, "01-people")
    page.goto(f"/administration/teams/{cast.team_a.slug}/")
    expect(page.get_by_role("link", name="Zoe Ng")).to_be_visible()
    expect(page.get_by_label("Role of zoe")).to_have_value("lead")
    _shot(page, "02-team")

    # and the API docs list Administration's operations
    page.goto("/api/docs/")
    people = page.locator(".opblock-summary-path", has_text="/api/v1/admin/people/")
    expect(people.first).to_be_visible()
    _shot(page, "03-docs")

    # and finance sees the imported commitment on the commitments page
    page.context.clear_cookies()
    log_in(cast.finance.username, password)
    page.goto("/showback/commitments/")
    expect(page.get_by_role("link", name="Journey committed spend")).to_be_visible()
    _shot(page, "04-commitments")
