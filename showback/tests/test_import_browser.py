"""Finance uploads a FOCUS bill in a real browser, watches its import finish, and finds the spend
on the team's page."""

import datetime
import threading
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from portfolio.tests.factories import ProviderFactory
from showback.ingest import services as imports
from showback.models import ImportBatch

from .focus_files import focus_csv, focus_rows

# The live server reads what the test writes, so the data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)

ROWS = 12
ROW_COST = Decimal("10.2875")  # 12 rows: $123.45


@pytest.fixture
def held_imports(settings, monkeypatch):
    """Imports run in a thread of the web process, as under `make run`, and wait until the test lets
    them go: the page is seen queued first, then its progress bar is watched to the end."""
    settings.AIFINOPS_IMPORT_IN_THREAD = True
    go = threading.Event()
    run = imports._run_in_thread

    def held(batch_id):
        go.wait(timeout=30)
        run(batch_id)

    monkeypatch.setattr(imports, "_run_in_thread", held)
    yield go
    go.set()


def _todays_bill():
    """Support's summarizer on Bedrock today, tagged as real bills are."""
    today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    rows = list(focus_rows(ROWS, use_cases=("support-summarizer",), teams=("support",)))
    for row in rows:
        row.update(
            BilledCost=str(ROW_COST),
            EffectiveCost=str(ROW_COST),
            ListCost=str(ROW_COST),
            ContractedCost=str(ROW_COST),
            ChargePeriodStart=f"{today:%Y-%m-%dT%H:%M:%SZ}",
            ChargePeriodEnd=f"{today + datetime.timedelta(days=1):%Y-%m-%dT%H:%M:%SZ}",
        )
    return focus_csv(rows)


def test_finance_uploads_a_focus_bill_watches_it_import_and_finds_the_spend_on_the_team_page(
    page, log_in, cast, password, held_imports
):
    # Given finance on the import page, and a FOCUS bill of Support's summarizer for today
    ProviderFactory(slug="aws-bedrock", name="AWS Bedrock")
    log_in("fin", password)
    page.goto("/showback/imports/")

    # When they upload it
    page.get_by_label("Spend file").set_input_files(
        files=[{"name": "bedrock-today.csv", "mimeType": "text/csv", "buffer": _todays_bill()}]
    )
    page.get_by_role("button", name="Upload and import").click()

    # Then the import page shows it waiting, its progress bar at 0 %
    status = page.locator("#import-status")
    bar = page.get_by_role("progressbar", name="Import progress")
    expect(status).to_contain_text("Queued")
    expect(bar).to_have_attribute("aria-valuenow", "0")
    expect(page.get_by_text("“bedrock-today.csv” is being imported.")).to_be_visible()

    # When the worker takes it, the page follows it by itself to the end
    held_imports.set()
    expect(bar).to_have_attribute("aria-valuenow", "100")
    expect(status).to_contain_text("Imported")
    expect(status).to_contain_text(f"{ROWS} new rows imported")
    expect(status).to_contain_text("billed $123.45")
    assert ImportBatch.objects.get().status == "succeeded"

    # And the spend is on Support's page, this month
    page.goto("/portfolio/teams/support/")
    this_month = page.locator(".card", has_text="AI spend this month").locator(".metric")
    expect(this_month).to_have_text("$123.45")
