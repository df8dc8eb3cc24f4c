"""A council meeting from agenda to approved spend list, in a real browser: the chair builds and
publishes the agenda and starts the meeting, three members vote on each item, the chair records
the decisions and closes the meeting, and the approved spend list shows what was approved.

Set COUNCIL_JOURNEY_SHOTS to a directory to keep a screenshot of each step there.
"""

import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from council.models import Decision, FundingStatus, Meeting, MeetingState
from council.tests.factories import FundingRequestFactory
from council.tests.page_fixtures import board_fixture  # noqa: F401 (fixture)
from portfolio.choices import Stage
from portfolio.models import UseCase
from showback.models import Budget

# The live server reads what the test writes, so the data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = os.environ.get("COUNCIL_JOURNEY_SHOTS")


def _shot(page, name):
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


@pytest.fixture
def requests(cast, board, migration_data):
    """Two owners' funding requests for the next milestone: the summarizer asks 9,000 USD for its
    MVP, the campaign writer 4,000 USD for its own."""
    FundingRequestFactory(
        use_case=cast.use_case_a,
        target_stage=Stage.MVP,
        amount=Decimal("9000"),
        requested_by=cast.owner,
        expected_outcomes="Ten support agents use the summaries daily.",
    )
    FundingRequestFactory(
        use_case=cast.use_case_b,
        target_stage=Stage.MVP,
        amount=Decimal("4000"),
        expected_outcomes="Campaign drafts for two markets.",
    )


def _as(page, log_in, user, password):
    page.context.clear_cookies()
    log_in(user.username, password)


def _vote(page, item_url, choice, comment):
    page.goto(item_url)
    card = page.locator("[id^=voting-]")
    card.get_by_label(choice, exact=True).check()
    card.get_by_label("Comment").fill(comment)
    card.get_by_role("button", name="Cast vote").click()
    expect(card).to_contain_text("Your vote is recorded.")


def test_a_meeting_runs_from_agenda_to_approved_spend_list(page, log_in, cast, board, requests, password):
    # Given the chair on the council's home, with no meeting scheduled
    _as(page, log_in, cast.chair, password)
    page.goto("/council/")
    expect(page.locator("#h-next")).to_contain_text("Next meeting")

    # When the chair builds the next agenda
    page.get_by_role("button", name="Build the next agenda").click()

    # Then the draft meeting lists both use cases, with why they are there
    expect(page.locator("[aria-live=polite]")).to_contain_text("Agenda built: 2 new items")
    agenda = page.locator("table[id^=agenda-]")
    expect(agenda).to_contain_text("Support summarizer")
    expect(agenda).to_contain_text("Campaign writer")
    expect(agenda).to_contain_text("Funding requested for the next milestone")
    expect(page.locator("[data-meeting-state]").first).to_have_text("Draft")
    meeting_url = page.url
    _shot(page, "1-agenda-built")

    # When the chair publishes the agenda and starts the meeting
    page.get_by_role("button", name="Publish agenda").click()
    expect(page.locator("[data-meeting-state]").first).to_have_text("Published")
    page.get_by_role("button", name="Start meeting").click()
    expect(page.locator("[data-meeting-state]").first).to_have_text("In session")
    summarizer_url = page.get_by_role("link", name="Support summarizer").get_attribute("href")
    writer_url = page.get_by_role("link", name="Campaign writer").get_attribute("href")
    _shot(page, "2-in-session")

    # And three members vote on each item, each for themselves
    members = [seat.user for seat in board.seats if seat.user != cast.chair][:3]
    for member in members:
        _as(page, log_in, member, password)
        _vote(page, summarizer_url, "Approve", f"{member.username}: worth the MVP.")
        _vote(page, writer_url, "Reject", f"{member.username}: no value signal yet.")
    _shot(page, "3-votes")

    # Then the chair sees the quorum met and the frozen pack, and records the decisions
    _as(page, log_in, cast.chair, password)
    page.goto(summarizer_url)
    card = page.locator("[id^=voting-]")
    expect(card).to_contain_text("Quorum met: 3 of the 3 votes needed.")
    expect(card).to_contain_text("Approve: 3")
    expect(page.get_by_text("Frozen")).to_be_visible()
    expect(page.locator("[data-amount-asked]")).to_have_text("$9,000.00")
    card.get_by_label("Decision", exact=True).select_option("approve")
    card.get_by_label("Note").fill("Funded to the MVP only.")
    card.get_by_role("button", name="Record decision").click()
    expect(card).to_contain_text("Decision recorded.")
    expect(card.locator("[data-decision]")).to_contain_text("$9,000.00 approved")
    _shot(page, "4-decision")

    page.goto(writer_url)
    card = page.locator("[id^=voting-]")
    expect(card).to_contain_text("Reject: 3")
    card.get_by_label("Decision", exact=True).select_option("reject")
    card.get_by_role("button", name="Record decision").click()
    expect(card.locator("[data-decision]")).to_contain_text("Reject")

    # When the chair closes the meeting with a line of minutes
    page.goto(meeting_url)
    page.get_by_label("Minutes").fill("Two funding requests reviewed.")
    page.get_by_role("button", name="Close meeting").click()
    expect(page.locator("[data-meeting-state]").first).to_have_text("Closed")

    # Then the approved spend list shows the approved amount, and only it
    page.get_by_role("link", name=re.compile("Approved spend list")).first.click()
    approved = page.locator("#approved-spend")
    expect(approved.locator("tbody tr")).to_have_count(1)
    expect(approved).to_contain_text("Support summarizer")
    expect(approved).to_contain_text("$9,000.00")
    expect(approved).not_to_contain_text("Campaign writer")
    expect(approved.locator("[data-total]")).to_have_text("$9,000.00")
    expect(page.locator("#h-minutes + .card-body")).to_contain_text("Two funding requests reviewed.")
    _shot(page, "5-approved-spend")

    # And the decisions acted: the request approved, a budget for the milestone, the stage approval
    meeting = Meeting.objects.get(council=board)
    assert meeting.state == MeetingState.CLOSED
    assert Decision.objects.count() == 2
    summarizer = UseCase.objects.get(pk=cast.use_case_a.pk)
    assert summarizer.funding_requests.get().status == FundingStatus.APPROVED
    assert Budget.objects.filter(use_case=summarizer, active=True).exists()
    assert summarizer.stage_approvals.filter(target_stage=Stage.MVP, source="council_decision").exists()
    assert cast.use_case_b.funding_requests.get().status == FundingStatus.REJECTED
