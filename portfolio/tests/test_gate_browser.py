"""An owner walks a use case from concept to launch through its gates, in a real browser."""

import datetime
import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from aifinops.core import periods
from aifinops.core.tests.factories import UserFactory
from portfolio.choices import MoveRequestStatus, Stage
from portfolio.gates import rules as gates
from portfolio.models import Milestone, StageApproval, StageMoveRequest, UseCase, ValueSignal
from portfolio.tests.factories import AIModelFactory, UseCaseFactory
from showback.tests.factories import DailySpendFactory

# The live server reads what the test writes, so the data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def use_case(cast, migration_data):
    """A low-risk concept of team A, owned by `owner`, with what intake recorded; the gates are
    left to the browser."""
    use_case = UseCaseFactory(
        key="ticket-triage",
        name="Ticket triage",
        team=cast.team_a,
        business_owner=cast.owner,
        technical_owner=UserFactory(username="tech-owner"),
        cost_center="CC-4100",
        tags={"function": "customer_support", "workflow": "ticket reply"},
        value_metric="Minutes saved per ticket",
        success_metric="Reply accepted without edits in 80 % of tickets",
        expected_monthly_cost=Decimal("1000"),
    )
    use_case.ai_models.add(AIModelFactory())
    ValueSignal.objects.create(
        use_case=use_case, month=gates.recent_month_start(), outcomes=1200, value_per_outcome=Decimal("4")
    )
    Milestone.objects.create(
        use_case=use_case,
        name="Post-launch review",
        target_stage=Stage.LAUNCH,
        due_date=periods.today() + datetime.timedelta(days=60),
    )
    return use_case


def _stage_in_db(use_case):
    return UseCase.objects.get(pk=use_case.pk).stage


def _expect_stage(page, label):
    expect(page.locator("h1 + .stage-badge")).to_have_text(label)
    expect(page.locator('.stage-path [aria-current="step"]')).to_have_text(label)


def _messages(page):
    return page.locator("[aria-live=polite]")


def _attest(page, code, evidence):
    item = page.locator(f"#item-{code}")
    item.locator("summary", has_text="Attest").click()
    item.get_by_label("Evidence (link or note)").fill(evidence)
    item.get_by_role("button", name=re.compile(r"^Attest as")).click()
    # htmx swaps the whole stage section; the item comes back attested.
    expect(page.locator(f"#item-{code}")).to_contain_text("attested by")


def test_owner_completes_the_gates_to_pilot_and_the_chair_approves_and_moves_to_launch(
    page, log_in, cast, use_case, password
):
    # Given the owner on the use case's page, at Concept
    log_in("owner", password)
    page.goto(use_case.get_tab_url("gates"))
    _expect_stage(page, "Concept")
    expect(page.locator("#stage-section")).to_contain_text("Next: MVP.")

    # When they attest the MVP items and set the guardrails in the form
    _attest(page, "cost_value_baselines", "Baseline: 6 minutes a ticket, measured in May.")
    _attest(page, "testing_plan", "https://wiki.example.com/ticket-triage/evals")
    expect(page.locator("#item-token_output_budgets")).to_contain_text("Set the monthly token budget")
    page.locator("#guardrails summary").click()
    page.get_by_label("Monthly token budget").fill("40000000")
    page.get_by_label("Max output tokens per call").fill("800")
    page.get_by_label("Anomaly threshold").fill("50")
    page.get_by_label("Model routing policy").fill("Short replies on the mini model.")
    page.get_by_label("Prompt caching", exact=True).select_option("enabled")
    page.get_by_label("Monthly budget threshold").fill("1500")
    page.get_by_role("button", name="Save guardrail settings").click()
    expect(page.locator("#item-token_output_budgets")).to_contain_text("from data")
    expect(page.locator("#stage-section")).to_contain_text("Its gate is complete.")

    # And move it to MVP
    page.get_by_role("button", name="Move to MVP", exact=True).click()

    # Then it is at MVP
    expect(_messages(page)).to_contain_text("Moved to MVP.")
    _expect_stage(page, "MVP")
    assert _stage_in_db(use_case) == Stage.MVP

    # When they try Pilot before its gate is complete
    page.get_by_role("button", name="Move to Pilot", exact=True).click()

    # Then the stage section names what is missing, and it stays at MVP
    alerts = page.locator("#stage-section .alert")
    expect(alerts).to_contain_text("Ticket triage cannot move to Pilot: 2 gate items not met.")
    expect(alerts).to_contain_text(
        "Cost attribution live: No spend attributed to ticket-triage in the last 14 days: tag it."
    )
    expect(alerts).to_contain_text("Guardrails enforced: Needs a named person's attestation.")
    _expect_stage(page, "MVP")
    assert _stage_in_db(use_case) == Stage.MVP

    # When the spend is tagged (an import brings yesterday's spend) and they attest the guardrails
    DailySpendFactory(
        use_case=use_case, team=use_case.team, date=periods.today() - datetime.timedelta(days=1)
    )
    _attest(page, "guardrails_enforced", "Budgets enforced in the gateway config, PR 412.")
    expect(page.locator("#item-cost_attribution_live")).to_contain_text("from data")
    page.get_by_role("button", name="Move to Pilot", exact=True).click()

    # Then it is at Pilot
    expect(_messages(page)).to_contain_text("Moved to Pilot.")
    _expect_stage(page, "Pilot")
    assert _stage_in_db(use_case) == Stage.PILOT

    # When they complete the launch gate, which needs review: they can only request the move
    for code in ("business_case_validated", "data_classification_review", "security_review", "fallback_plan"):
        _attest(page, code, f"Signed off: https://wiki.example.com/ticket-triage/{code}")
    expect(page.locator("#stage-section")).to_contain_text("Its gate is complete.")
    expect(page.locator("#stage-section")).to_contain_text("not approved yet")
    expect(page.get_by_role("button", name="Move to Launch", exact=True)).to_have_count(0)
    page.get_by_role("button", name="Request move to Launch").click()
    expect(page.locator("#stage-section")).to_contain_text("requested by")
    expect(page.get_by_role("button", name="Request move to Launch")).to_have_count(0)

    # And the chair, told of the request, records the approval and moves it
    page.get_by_role("button", name="Log out").click()
    log_in("chair-c", password)
    expect(page.get_by_role("link", name=re.compile("Notifications"))).to_contain_text("1")
    page.goto(use_case.get_tab_url("gates"))
    expect(page.locator("#stage-section")).to_contain_text("requested by")
    page.get_by_role("button", name="Record approval for Launch").click()
    expect(page.locator("#stage-section")).to_contain_text("approved by")
    page.get_by_role("button", name="Move to Launch", exact=True).click()

    # Then it is at Launch, the approval is used and the request closed
    expect(_messages(page)).to_contain_text("Moved to Launch.")
    _expect_stage(page, "Launch")
    assert _stage_in_db(use_case) == Stage.LAUNCH
    assert StageApproval.objects.get(use_case=use_case).used_at is not None
    assert StageMoveRequest.objects.get(use_case=use_case).status == MoveRequestStatus.DONE
