"""Finance uploads a multi-cloud FOCUS bill in a real browser, reads what it became, follows "See it
in showback" to the file's own period with the clouds named, maps a tag key to teams with a preview,
and sees the spend attributed."""

import re

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import expect

from showback.models import AttributionRule, ImportBatch

from .multicloud import multicloud_csv

# The live server reads what the test writes, so the data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)
SHOTS = django_settings.BASE_DIR / "test-artifacts"


def _shot(page, name):
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"multicloud-{name}.png"), full_page=True)


def test_finance_uploads_a_multicloud_bill_reads_it_finds_it_in_showback_and_maps_its_tags(
    page, log_in, cast, password, settings
):
    # Given finance on the import page, imports running in the web process as under `make run`
    settings.AIFINOPS_IMPORT_IN_THREAD = True
    log_in("fin", password)
    page.goto("/showback/imports/")

    # When they upload a bill of four clouds
    page.get_by_label("Spend file").set_input_files(
        files=[{"name": "multicloud.csv", "mimeType": "text/csv", "buffer": multicloud_csv()}]
    )
    page.get_by_role("button", name="Upload and import").click()

    # Then the summary says what the file became: AI or not, attributed or not, why costs differ
    status = page.locator("#import-status")
    expect(status).to_contain_text("Imported", timeout=30_000)
    summary = page.get_by_test_id("summary-split")
    expect(summary).to_contain_text("AI spend")
    expect(summary).to_contain_text("Not AI spend")
    expect(summary).to_contain_text("Unattributed")
    expect(page.get_by_test_id("summary-charges")).to_contain_text("Credits and refunds")
    expect(page.get_by_test_id("summary-charges")).to_contain_text("Purchases")
    _shot(page, "1-summary")
    batch = ImportBatch.objects.get()

    # When they follow "See it in showback"
    page.get_by_role("link", name="See it in showback").click()

    # Then showback opens the file's own period, its rows, all spend, by the providers it names
    page.wait_for_url(re.compile(rf".*import={batch.pk}.*"))
    assert f"start={batch.period_start.isoformat()}" in page.url
    table = page.get_by_test_id("breakdown-table")
    for name in ("Amazon Web Services", "Microsoft", "Google Cloud", "Oracle"):
        expect(table).to_contain_text(name)
    expect(table).not_to_contain_text("Unknown")
    expect(page.get_by_test_id("active-filters")).to_contain_text(f"#{batch.pk} multicloud.csv")
    _shot(page, "2-showback-by-provider")

    # When they open the file's unattributed spend and map business_unit to teams, with a preview
    page.goto(f"/showback/unattributed/?import={batch.pk}&ai=all")
    expect(page.get_by_test_id("tag-keys")).to_contain_text("carry business_unit")
    _shot(page, "3-unattributed")
    page.get_by_role("link", name="Map business_unit to teams or use cases").click()
    page.get_by_label("Team for retail").select_option("support")
    page.get_by_label("Team for wholesale").select_option("marketing")
    page.get_by_role("button", name="Preview").click()

    # Then each mapped value shows what its rule would attribute before anything is written
    expect(page.get_by_test_id("preview-retail")).to_contain_text("$")
    expect(page.get_by_test_id("preview-wholesale")).to_contain_text("rows")
    assert not AttributionRule.objects.exists()
    retail_preview = page.get_by_test_id("preview-retail").inner_text()
    _shot(page, "4-preview")

    # When they make the rules
    page.get_by_role("button", name="Make the rules and attribute").click()

    # Then the spend is attributed: showback by team for the file names Support and Marketing
    expect(page.get_by_text("2 rules made from the tag “business_unit”")).to_be_visible()
    page.goto(
        f"/showback/?by=team&ai=all&import={batch.pk}"
        f"&start={batch.period_start.isoformat()}&end={batch.period_end.isoformat()}"
    )
    table = page.get_by_test_id("breakdown-table")
    support = table.get_by_role("row").filter(has_text="Support")
    expect(support).to_contain_text(retail_preview.split(" ")[0])
    expect(table).to_contain_text("Marketing")
    _shot(page, "5-showback-by-team")
