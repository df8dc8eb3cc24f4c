"""A platform admin runs Administration in a real browser: invites a person, gives them a role,
adds them to a team as its lead, then changes a triage rule, reads the preview of the open intakes
it re-triages, and saves.

Each step's page must fit 1366 and 390 px wide screens; set ADMIN_JOURNEY_SHOTS to a directory
to keep a screenshot of each there.
"""

import os
import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from aifinops.core import permissions
from council.tests.factories import IntakeRequestFactory
from intake.models import IntakeRequest, IntakeStatus, TriageRule
from intake.retriage import result_as_stored
from intake.selectors import triage_rule_settings
from intake.triage import IntakeFacts, triage
from portfolio.models import Membership

# The live server reads what the test writes, so the data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = os.environ.get("ADMIN_JOURNEY_SHOTS")


def _shot(page, name):
    """At 1366 and 390 px wide, the page fits the screen (nothing scrolls sideways); with
    ADMIN_JOURNEY_SHOTS set, a screenshot of each is kept."""
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        assert page.evaluate("document.documentElement.scrollWidth") <= width, (
            f"{name} overflows at {width}px"
        )
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(SHOTS) / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})


@pytest.fixture
def open_intake(cast, migration_data):
    """Requester A's intake with personal data, triaged medium risk and waiting for review."""
    intake = IntakeRequestFactory(
        requester=cast.requester_a,
        team=cast.team_a,
        use_case=None,
        status=IntakeStatus.TRIAGED,
        decided_at=None,
        name="Refund assistant",
        personal_data=True,
    )
    stored = result_as_stored(triage(IntakeFacts.of(intake), triage_rule_settings()))
    IntakeRequest.objects.filter(pk=intake.pk).update(**stored)
    return intake


def test_an_admin_invites_a_person_gives_a_role_and_a_team_and_retunes_triage(
    page, log_in, cast, open_intake, password
):
    page.set_viewport_size({"width": 1366, "height": 900})
    log_in(cast.admin.username, password)

    # Given Administration's landing page
    page.goto("/administration/")
    expect(page.get_by_role("heading", name="Administration")).to_be_visible()
    _shot(page, "01-index")

    # When the admin invites Ana
    page.get_by_role("link", name="People", exact=True).first.click()
    page.get_by_role("link", name="Invite a person").click()
    page.get_by_label("Username").fill("ana")
    page.get_by_label("Email").fill("ana@example.com")
    page.get_by_label("First name").fill("Ana")
    page.get_by_label("Last name").fill("Lima")
    page.get_by_role("button", name="Invite").click()

    # Then the page shows her one-time link
    expect(page.get_by_role("heading", name="Ana Lima is invited")).to_be_visible()
    expect(page.get_by_label("Set-password link")).to_have_value(
        re.compile(r"http://.+/accounts/set-password/\w+/[\w-]+/$")
    )
    _shot(page, "02-invited")

    # When the admin makes her a council member, reading what the role may do
    page.get_by_role("link", name="Their roles and teams").click()
    expect(page.get_by_text("votes on agenda items")).to_be_visible()
    page.get_by_label("Council member").check()
    page.get_by_role("button", name="Save roles").click()
    expect(page.get_by_role("alert").or_(page.locator(".alert-success")).first).to_contain_text(
        "Roles of ana saved"
    )
    _shot(page, "03-person")
    ana = get_user_model().objects.get(username="ana")
    assert permissions.roles_of(ana) == {"council_member"}

    # Then the Roles page names her among the council members, under what the role may do
    page.get_by_role("link", name="Roles", exact=True).first.click()
    council_members = page.locator("section", has=page.locator("#role-council_member"))
    expect(council_members).to_contain_text("votes on agenda items")
    expect(council_members).to_contain_text("Ana Lima")
    _shot(page, "035-roles")

    # When she is added to Support as its lead
    page.get_by_role("link", name="Teams").first.click()
    page.get_by_role("link", name="Support").click()
    page.get_by_label("Person").fill("ana")
    page.get_by_label("Role", exact=True).select_option("lead")
    page.get_by_role("button", name="Add").click()
    expect(page.locator("#members")).to_contain_text("Ana Lima")
    _shot(page, "04-team")
    assert Membership.objects.get(user=ana, team=cast.team_a).role == "lead"

    # When the admin makes personal data a high risk and previews
    page.get_by_role("link", name="Triage rules").first.click()
    page.get_by_role("link", name="Edit Personal data").click()
    page.get_by_label("Risk tier it sets").select_option("high")
    page.get_by_role("button", name="Preview").click()

    # Then the preview names the open intake, from Medium to High, and nothing is saved yet
    preview = page.locator("#preview")
    expect(preview).to_contain_text("1 of 1 open intake would change")
    expect(preview).to_contain_text("Refund assistant")
    expect(preview).to_contain_text("High risk")
    expect(preview).to_contain_text("Personal data. Medium → High")
    _shot(page, "05-preview")
    assert TriageRule.objects.get(code="personal_data").tier == "medium"

    # When they save
    page.get_by_role("button", name="Save and re-triage 1 intake").click()

    # Then the rule is saved and the intake re-triaged
    expect(page.locator(".alert-success").first).to_contain_text("1 open intake re-triaged")
    _shot(page, "06-saved")
    open_intake.refresh_from_db()
    assert open_intake.risk_tier == "high"
