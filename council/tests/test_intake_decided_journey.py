"""In a real browser: the chair accepts, on the intake page, an intake that waits on the council's
agenda. The page warns first; the meeting page then says who took it off, and where.

Set COUNCIL_JOURNEY_SHOTS to a directory to keep a screenshot of each step there.
"""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from council.models import AgendaItemStatus
from council.services import agenda_build, meeting_publish
from council.tests.page_fixtures import board_fixture  # noqa: F401 (fixture)
from council.tests.test_intake_review import high_risk_intake  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = os.environ.get("COUNCIL_JOURNEY_SHOTS")


def _shot(page, name):
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"decided-elsewhere-{name}.png"), full_page=True)


def test_the_chair_accepts_on_the_intake_page_and_the_agenda_follows(
    page,
    log_in,
    cast,
    board,
    high_risk_intake,  # noqa: F811
    password,
):
    item = agenda_build(council=board).meeting.items.get()
    meeting = meeting_publish(actor=cast.chair, meeting=item.meeting)
    log_in(cast.chair.username, password)

    page.goto(f"/intake/{high_risk_intake.pk}/")
    warning = page.locator("[data-on-agenda]")
    expect(warning).to_contain_text("deciding here takes it off")
    expect(warning).to_contain_text(f"{meeting.scheduled_for:%-d %B %Y}")
    _shot(page, "1-intake-warning")

    page.get_by_role("button", name="Accept: register at Concept").click()
    expect(page.get_by_text("Intake accepted")).to_be_visible()
    expect(page.locator("[data-on-agenda]")).to_have_count(0)

    page.goto(f"/council/meetings/{meeting.pk}/")
    note = page.locator(f"#item-row-{item.pk} [data-taken-off]")
    expect(note).to_contain_text(f"Decided on the intake page by {cast.chair.get_full_name()}")
    _shot(page, "2-meeting-taken-off")
    item.refresh_from_db()
    assert item.status == AgendaItemStatus.WITHDRAWN
