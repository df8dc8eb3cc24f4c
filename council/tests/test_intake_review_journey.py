"""An intake that needs review goes through the council, in a real browser: a requester submits a
customer-facing agent that touches personal data; the chair builds the next agenda and finds it
there with its review pack; members vote to quorum; the chair approves it with a condition; the
requester is told and finds the new use case with its funded first milestone and the condition as a
milestone; finance reads the approved spend list and its CSV.

Set COUNCIL_JOURNEY_SHOTS to a directory to keep a screenshot of each step there.
"""

import csv
import io
import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from council.models import Decision, VoteChoice
from council.tests.page_fixtures import board_fixture  # noqa: F401 (fixture)
from intake.models import IntakeRequest, IntakeStatus
from portfolio.choices import ModelTier, Stage
from portfolio.tests.factories import AIModelFactory, ProviderFactory

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = os.environ.get("COUNCIL_JOURNEY_SHOTS")
CONDITION = "A person approves every refund above 20 USD"


def _shot(page, name):
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"intake-{name}.png"), full_page=True)


@pytest.fixture
def catalog(db):
    return AIModelFactory(
        provider=ProviderFactory(slug="openai", name="OpenAI"),
        key="gpt-4.1-mini",
        name="GPT-4.1 mini",
        tier=ModelTier.MID,
        input_price_per_mtok=Decimal("0.40"),
        output_price_per_mtok=Decimal("1.60"),
    )


def _as(page, log_in, user, password):
    page.context.clear_cookies()
    log_in(user.username, password)


def test_an_intake_goes_through_the_council_to_a_funded_use_case(
    page, log_in, cast, board, catalog, password
):
    # Given the requester files a customer-facing agent that touches personal data
    _as(page, log_in, cast.requester_a, password)
    page.goto("/intake/new/")
    page.get_by_label("Use-case name").fill("Refund agent")
    page.get_by_label("Purpose").fill("Answer customers' refund requests and issue small refunds")
    page.get_by_label("Problem it solves").fill("Refund tickets wait two days")
    page.get_by_label("Technical owner").select_option("owner")
    page.get_by_label("Users", exact=True).select_option("external")
    page.get_by_label("Expected number of users").fill("5000")
    page.get_by_label("Touches personal data").check()
    page.get_by_label("Customer impact", exact=True).select_option("customer_facing")
    page.locator("#id_ai_models").select_option(["openai/gpt-4.1-mini"])
    page.get_by_label("Kind of task").select_option("drafting")
    page.get_by_label("Expected monthly cost").fill("2000")
    page.get_by_label("Value metric").fill("Refund tickets closed")
    page.get_by_label("Value per outcome").fill("3")
    page.get_by_label("Outcomes per month").fill("4000")
    page.get_by_label("Success metric").fill("Refund tickets closed within the hour")
    page.get_by_label("Workflow").fill("refunds")
    page.get_by_label("Autonomy").select_option("supervised_agent")
    page.get_by_label("Tool permissions").fill("read orders\nissue refunds under 50 USD")
    page.get_by_label(re.compile("Can act outside the company")).check()
    page.get_by_label("Run frequency").select_option("continuous")
    page.get_by_label("Requested monthly spend cap").fill("2500")
    if page.get_by_label("Cost center").count():
        page.get_by_label("Cost center").fill("CS-100")
    page.get_by_role("button", name="Submit for triage").click()

    # Then triage sends it to review, and the page says it waits for the council's next agenda
    expect(page.locator("#h-triage")).to_contain_text("Review required")
    expect(page.locator("[data-council-review]")).to_contain_text("Waiting for the council")
    intake = IntakeRequest.objects.get()
    assert (intake.status, intake.review_path) == (IntakeStatus.TRIAGED, "review")
    _shot(page, "1-requester-submitted")

    # When the chair builds the next agenda
    _as(page, log_in, cast.chair, password)
    page.goto("/council/")
    page.get_by_role("button", name="Build the next agenda").click()

    # Then the intake is an item of the draft, with why it is there
    agenda = page.locator("table[id^=agenda-]")
    row = agenda.locator(f"[data-intake='{intake.reference}']")
    expect(row).to_contain_text("Refund agent (intake)")
    expect(row).to_contain_text("New intake waiting for the council's review")
    expect(row).to_contain_text("0 of the 3 votes needed")
    meeting_url = page.url
    _shot(page, "2-chair-agenda")

    # And its review pack gives the answers, the triage reasons, expected cost and value, similar use cases
    item_url = row.get_by_role("link", name=re.compile("Refund agent")).get_attribute("href")
    page.goto(item_url)
    expect(page.locator("[data-pack=intake]")).to_contain_text("Customer-facing")
    expect(page.locator("[data-expected-cost]")).to_contain_text("$2,000.00 a month")
    expect(page.locator("[data-expected-value]")).to_contain_text("$12,000.00 a month")
    expect(page.locator("[data-answers]")).to_contain_text("Personal data")
    expect(page.locator("[data-similar]")).to_contain_text("Support summarizer")
    _shot(page, "3-chair-pack")

    # When the chair publishes the agenda and starts the meeting
    page.goto(meeting_url)
    page.get_by_role("button", name="Publish agenda").click()
    expect(page.locator("[data-meeting-state]").first).to_have_text("Published")
    page.get_by_role("button", name="Start meeting").click()
    expect(page.locator("[data-meeting-state]").first).to_have_text("In session")

    # And the requester's page now says which meeting, when and who chairs it
    _as(page, log_in, cast.requester_a, password)
    page.goto(f"/intake/{intake.pk}/")
    review = page.locator("[data-council-review]")
    expect(review).to_contain_text("On the agenda of the monthly operating review")
    expect(review).to_contain_text(cast.chair.get_full_name())
    expect(review).to_contain_text("The council will decide whether to fund its first milestone")
    _shot(page, "4-requester-scheduled")

    # And three members vote to quorum, one with the condition
    for n, member in enumerate([cast.council, *[s.user for s in board.seats[2:]]]):
        _as(page, log_in, member, password)
        page.goto(item_url)
        vote = page.locator("form[action$='/vote/']")
        if n == 0:
            vote.get_by_label("Approve with conditions", exact=True).check()
            vote.get_by_role("textbox", name="Conditions").fill(CONDITION)
        else:
            vote.get_by_label("Approve", exact=True).check()
        vote.get_by_label("Comment").fill("Worth a first milestone.")
        vote.get_by_role("button", name="Cast vote").click()
        expect(page.locator("[id^=voting-]")).to_contain_text("Your vote is recorded.")
        if n == 0:
            _shot(page, "5-member-voted")

    # Then the chair sees the quorum met and approves with the condition
    _as(page, log_in, cast.chair, password)
    page.goto(item_url)
    card = page.locator("[id^=voting-]")
    expect(card.locator("[data-quorum]")).to_contain_text("Quorum met: 3 of the 3 votes needed.")
    decide = card.locator("form[action$='/decide/']")
    decide.get_by_label("Decision", exact=True).select_option(VoteChoice.APPROVE_WITH_CONDITIONS)
    decide.get_by_role("textbox", name="Conditions").fill(CONDITION)
    decide.get_by_label("Note").fill("A first milestone, supervised.")
    decide.get_by_role("button", name="Record decision").click()
    expect(card).to_contain_text("Decision recorded.")
    expect(card.locator("[data-decision]")).to_contain_text("$6,000.00 approved")
    _shot(page, "6-chair-decided")
    decision = Decision.objects.get()
    intake.refresh_from_db()
    use_case = intake.use_case
    assert intake.status == IntakeStatus.ACCEPTED and use_case.stage == Stage.CONCEPT

    # When the requester comes back
    _as(page, log_in, cast.requester_a, password)
    page.goto("/notifications/")
    expect(page.locator("main")).to_contain_text("Refund agent accepted")
    _shot(page, "7-requester-notified")
    page.goto(f"/intake/{intake.pk}/")
    expect(page.locator("[data-council-review]")).to_contain_text(
        "The council decided: Approve with conditions"
    )
    expect(page.locator("[data-council-review]")).to_contain_text("6,000.00 USD")
    _shot(page, "8-requester-decided")

    # Then the new use case has its funded first milestone and the condition as a milestone
    page.get_by_role("link", name="Refund agent").first.click()
    page.get_by_role("tab", name="Value and economics").click()  # where its milestones are
    main = page.locator("main")
    expect(main).to_contain_text(decision.milestone.name)
    expect(main).to_contain_text(f"Council condition: {CONDITION}")
    _shot(page, "9-requester-use-case")

    # And finance reads the approved spend list and its CSV: use case, milestone, period, amount
    _as(page, log_in, cast.finance, password)
    page.goto(meeting_url.rstrip("/") + "/output/")
    approved = page.locator("#approved-spend")
    row = approved.locator(f"[data-use-case='{use_case.key}']")
    expect(row).to_contain_text("Refund agent")
    expect(row.locator("[data-milestone]")).to_contain_text(decision.milestone.name)
    period = f"{decision.period_start:%-d %b %Y} \u2013 {decision.period_end:%-d %b %Y}"
    expect(row.locator("[data-period]")).to_have_text(period)
    expect(row).to_contain_text("$6,000.00")
    expect(row).to_contain_text(CONDITION)
    expect(page.locator("#approved-by-team")).to_contain_text("Support")
    _shot(page, "10-finance-approved-spend")
    response = page.request.get(meeting_url.rstrip("/") + "/approved-spend.csv")
    assert response.status == 200
    rows = list(csv.DictReader(io.StringIO(response.text())))
    assert [
        (r["use_case"], r["milestone"], r["period_start"], r["period_end"], r["amount"])
        for r in rows
        if r["row"] == "approval"
    ] == [
        (
            use_case.key,
            decision.milestone.name,
            decision.period_start.isoformat(),
            decision.period_end.isoformat(),
            "6000.00",
        )
    ]
