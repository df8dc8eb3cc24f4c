"""In a real browser: recording last month's value signal refreshes the stage gate on the same page,
with no console error on the value tab, and a sunset asks first, saying what it does."""

import re

import pytest
from playwright.sync_api import expect

from portfolio.choices import Stage
from portfolio.gates import rules as gates
from portfolio.models import UseCase
from portfolio.tests.factories import UseCaseFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def mvp(cast, migration_data):
    return UseCaseFactory(
        key="ticket-triage",
        name="Ticket triage",
        team=cast.team_a,
        business_owner=cast.owner,
        stage=Stage.MVP,
    )


def test_last_months_value_signal_meets_the_gate_item_without_a_reload(page, log_in, cast, mvp, password):
    # Given the owner on the use case's page: the pilot gate asks for last month's value signal,
    # and an earlier try to move is still shown at the top
    log_in("owner", password)
    page.goto(mvp.get_tab_url("gates"))
    item = page.locator("#item-unit_economics_tracked")
    expect(item).to_contain_text("Record last month's value signals")
    page.get_by_role("button", name="Move to Pilot", exact=True).click()
    expect(page.locator("#stage-section .alert")).to_contain_text("cannot move to Pilot")
    page.evaluate("window.__same_page = true")
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))

    # When they record last month's value signal in the value card, on the value tab
    page.get_by_role("tab", name="Value and economics").click()
    card = page.locator("#value-signals")
    card.get_by_label("Month *").fill(gates.recent_month_start().strftime("%Y-%m"))
    card.get_by_label("Outcomes *").fill("900")
    card.get_by_role("button", name="Record value signal").click()

    # Then the old refusal is gone, and back on the gates tab, without a reload, the item is met
    expect(card).to_contain_text("Value signal recorded.")
    expect(page.locator("#stage-alerts .alert")).to_have_count(0)
    # ... and htmx found a target for everything the answer swapped out of band
    assert errors == []
    page.get_by_role("tab", name="Stage and gates").click()
    expect(item).not_to_contain_text("Record last month's value signals")
    expect(item).to_contain_text("Met:")
    expect(page.locator("#stage-section .alert")).to_have_count(0)
    assert page.evaluate("window.__same_page") is True
    page.screenshot(path="var/live-gate-after-signal.png", full_page=True)


def test_sunset_says_what_will_happen_and_needs_the_second_click(
    page, log_in, cast, password, migration_data
):
    use_case = UseCaseFactory(
        key="old-bot", name="Old bot", team=cast.team_a, business_owner=cast.owner, stage=Stage.SCALE
    )
    from portfolio import services

    services.gate_item_attest(
        actor=cast.owner, use_case=use_case, code="sunset_criteria", evidence="Replaced by the new bot."
    )
    log_in("adm", password)
    page.goto(use_case.get_tab_url("gates"))

    page.locator(".sunset-confirm summary").click()
    confirm = page.locator(".sunset-confirm")
    expect(confirm).to_contain_text("Sunset Old bot? What will happen:")
    expect(confirm).to_contain_text("cannot move back to any stage")
    page.screenshot(path="var/sunset-confirm.png", full_page=False)
    assert UseCase.objects.get(pk=use_case.pk).stage == Stage.SCALE

    confirm.get_by_role("button", name=re.compile("^Sunset Old bot")).click()

    expect(page.locator("[aria-live=polite]")).to_contain_text("Moved to Sunset.")
    assert UseCase.objects.get(pk=use_case.pk).stage == Stage.SUNSET
