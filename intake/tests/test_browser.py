"""A requester registers use cases in a real browser (Chromium, driven by Playwright)."""

import re

import pytest
from playwright.sync_api import expect

from intake.models import IntakeRequest, IntakeStatus
from portfolio.models import UseCase

# The live server reads what the test writes, so the data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


def _fill_common(page):
    page.get_by_label("Use-case name").fill("Macro suggestions for agents")
    page.get_by_label("Purpose").fill("Suggest canned replies for support agents from the ticket text")
    page.get_by_label("Problem it solves").fill("Agents retype the same answers")
    page.get_by_label("Technical owner").select_option("owner")
    page.get_by_label("Expected number of users").fill("40")
    page.locator("#id_ai_models").select_option(["openai/gpt-4.1-mini"])
    page.get_by_label("Kind of task").select_option("drafting")
    page.get_by_label("Value metric").fill("Minutes saved per ticket")
    page.get_by_label("Value per outcome").fill("0.50")
    page.get_by_label("Outcomes per month").fill("20000")
    page.get_by_label("Success metric").fill("Handle time down 10 %")
    page.get_by_label("Workflow").fill("ticket reply")


def test_requester_registers_a_low_risk_use_case_and_it_starts_at_concept(
    page, log_in, cast, catalog, password
):
    log_in("req-a", password)
    page.goto("/intake/new/")
    _fill_common(page)

    # The calculator turns calls and tokens into a monthly cost at catalog prices.
    page.get_by_label("Calls per month").fill("20000")
    page.get_by_label("Input tokens per call").fill("1500")
    page.get_by_label("Output tokens per call").fill("300")
    page.get_by_label("Output tokens per call").press("Tab")
    expect(page.locator("#estimate")).to_contain_text("Estimated $21.60 a month")
    page.get_by_role("button", name="Use as expected monthly cost").click()
    expect(page.get_by_label("Expected monthly cost")).to_have_value("21.60")

    page.get_by_role("button", name="Submit for triage").click()

    expect(page.locator(".alert-success").first).to_contain_text(
        "is low risk: it is now the Concept use case"
    )
    expect(page.locator("#h-triage")).to_contain_text("Low risk")
    expect(page.get_by_text("ai-use-case: macro-suggestions-for-agents")).to_be_visible()
    assert UseCase.objects.get(key="macro-suggestions-for-agents").stage == "concept"


def test_agent_fields_appear_for_an_agent_and_the_tier_and_reasons_show_after_submit(
    page, log_in, cast, catalog, password
):
    log_in("req-a", password)
    page.goto("/intake/new/")
    _fill_common(page)
    page.get_by_label("Expected monthly cost").fill("900")
    expect(page.get_by_label("Tool permissions")).to_have_count(0)

    page.get_by_label("Autonomy").select_option("autonomous_agent")

    expect(page.get_by_label("Tool permissions")).to_be_visible()
    page.get_by_label("Tool permissions").fill("read CRM\nsend email")
    page.get_by_label(re.compile("Can act outside the company")).check()
    page.get_by_label("Run frequency").select_option("hourly")
    # Leaving a field validates it: an external-action agent needs a spend cap.
    page.get_by_label("Requested monthly spend cap").fill("-1")
    page.get_by_label("Requested monthly spend cap").press("Tab")
    expect(page.locator("#wrap-requested_spend_cap")).to_contain_text("The spend cap must be more than zero.")
    page.get_by_label("Requested monthly spend cap").fill("500")

    page.get_by_role("button", name="Submit for triage").click()

    expect(page.locator("#h-triage")).to_contain_text("Critical risk")
    expect(page.locator("section[aria-labelledby=h-triage]")).to_contain_text(
        "Autonomous agent with external actions."
    )
    expect(page.locator(".badge", has_text="review required")).to_be_visible()
    intake = IntakeRequest.objects.get()
    assert intake.status == IntakeStatus.TRIAGED
    assert intake.review_required
