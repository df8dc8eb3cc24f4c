"""Finance opens the dashboard, narrows it with the filters and prints the narrative, in a real
browser."""

import pytest
from playwright.sync_api import expect

from aifinops.dashboard.tests import dashboard_world

# The live server reads what the test writes, so the data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(cast, migration_data):
    return dashboard_world.build(cast)


def test_finance_reads_the_dashboard_filters_it_and_prints_the_narrative(world, log_in, password):
    page = log_in("fin", password)

    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", name="Portfolio dashboard")).to_be_visible()
    headline = page.get_by_test_id("headline")
    expect(headline).to_contain_text("$1,275.00")
    # Every chart with data is drawn by plotly.js from the JSON the server built.
    expect(page.locator(".chart[data-drawn='true']")).to_have_count(11)

    page.get_by_label("Team", exact=True).select_option(label="Ads")
    expect(headline).to_contain_text("$300.00")
    assert "team=marketing" in page.url
    expect(page.locator("#top_cost")).to_contain_text("Ad writer")
    expect(page.locator("#top_cost")).not_to_contain_text("Reply drafter")

    with page.expect_download() as download:
        page.locator("#top_cost").get_by_role("link", name="CSV").click()
    assert download.value.suggested_filename.startswith("aifinops-top-cost-")

    page.get_by_role("link", name="Executive narrative").click()
    expect(page.get_by_role("heading", name="Where governance is slow")).to_be_visible()
    page.emulate_media(media="print")
    expect(page.get_by_role("navigation", name="Main navigation")).to_be_hidden()
    expect(page.get_by_role("button", name="Print for the board pack")).to_be_hidden()
    expect(page.get_by_role("heading", name="What decisions are needed")).to_be_visible()
    assert len(page.pdf(format="A4")) > 10_000
