"""Finance uploads a FOCUS bill in a real browser, watches its import finish, and finds the spend
on the team's page."""

import csv
import datetime
import io
import re
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings as django_settings
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
    expect(page.get_by_text("“bedrock-today.csv” is uploaded; its import is below.")).to_be_visible()

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


SAMPLE = Path(__file__).resolve().parent / "data" / "focus" / "saas_spend_agreements_a2.csv"
SHOTS = django_settings.BASE_DIR / "test-artifacts"


def _shot(page, name):
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"import-{name}.png"), full_page=True)


def _upload(page, name, content):
    page.goto("/showback/imports/")
    page.get_by_label("Spend file").set_input_files(
        files=[{"name": name, "mimeType": "text/csv", "buffer": content}]
    )
    page.get_by_role("button", name="Upload and import").click()


def test_finance_undoes_a_wrong_file_and_sees_its_spend_gone_from_showback(
    page, log_in, cast, password, held_imports
):
    # Given finance who uploads a public FOCUS sample by mistake, seen waiting with its cancel button
    log_in("fin", password)
    _upload(page, "saas_spend_agreements_a2.csv", SAMPLE.read_bytes())
    status = page.locator("#import-status")
    expect(status).to_contain_text("Queued")
    expect(status).to_contain_text("Waiting for a worker to start it")
    expect(page.get_by_role("button", name="Cancel the import")).to_be_visible()
    _shot(page, "1-queued")
    held_imports.set()
    expect(status).to_contain_text("Imported")
    _shot(page, "2-summary")
    batch = ImportBatch.objects.get()
    total = sum(Decimal(row["BilledCost"]) for row in csv.DictReader(io.StringIO(SAMPLE.read_text())))

    # And its spend is in showback, the file's own period
    page.get_by_role("link", name="See it in showback").click()
    showback_url = page.url
    table = page.get_by_test_id("breakdown-table")
    expect(table).to_contain_text("Acme Co")
    expect(table.locator("tfoot")).to_contain_text(f"${total:,.2f}")
    _shot(page, "3-showback")

    # When they undo it without ticking the confirmation, nothing happens
    page.goto(f"/showback/imports/{batch.pk}/")
    page.get_by_text("Loaded by mistake? Undo this import").click()
    undo = page.get_by_role("button", name="Undo the import")
    confirm = page.get_by_label(re.compile(r"Remove its \d+ rows from showback"))
    expect(confirm).to_be_visible()
    _shot(page, "4-undo-confirmation")
    undo.click()
    assert ImportBatch.objects.get().status == "succeeded"

    # When they tick it and undo
    confirm.check()
    undo.click()

    # Then the import says it is undone, and the file's spend is gone from showback
    expect(status.locator(".badge")).to_have_text("Undone")
    badge_colour = status.locator(".badge").evaluate("badge => getComputedStyle(badge).backgroundColor")
    assert badge_colour not in ("rgba(0, 0, 0, 0)", "transparent")
    expect(page.get_by_role("progressbar")).to_have_count(0)
    expect(status).to_contain_text(f"its {batch.rows_imported} rows were removed")
    expect(page.get_by_text("is undone: its rows are removed")).to_be_visible()
    expect(page.get_by_role("button", name="Undo the import")).to_have_count(0)
    _shot(page, "5-undone")
    page.goto(showback_url)
    expect(page.get_by_test_id("breakdown-table")).to_contain_text("No spend in this period.")
    expect(page.get_by_test_id("breakdown-table")).not_to_contain_text("Acme Co")
    _shot(page, "6-showback-after-undo")


def test_finance_reads_why_a_file_failed_and_can_retry_it(page, log_in, cast, password, held_imports):
    # Given a FOCUS sample with a cost that is not a number on its third row
    held_imports.set()
    lines = SAMPLE.read_text().splitlines(keepends=True)
    lines[3] = lines[3].replace(",120,", ",twelve,", 1)
    log_in("fin", password)

    # When finance uploads it
    _upload(page, "broken.csv", "".join(lines).encode())

    # Then the import failed, saying which row, which column and what to do, with a retry button
    status = page.locator("#import-status")
    expect(status).to_contain_text("Rejected")
    expect(status.get_by_role("alert")).to_contain_text("1 row rejected: nothing was imported")
    rejects = status.get_by_role("table")
    expect(rejects).to_contain_text("BilledCost")
    expect(rejects).to_contain_text("'twelve' is not a number")
    expect(page.get_by_role("button", name="Retry the import")).to_be_visible()
    expect(status).to_contain_text("Fix it and upload the file again")
    expect(status).to_contain_text("its rejected rows will be rejected again")
    _shot(page, "7-failed")


def test_finance_retries_a_rejected_bill_with_its_valid_rows_only(page, log_in, cast, password, held_imports):
    # Given finance whose whole-file upload failed on two bad rows of twelve
    ProviderFactory(slug="aws-bedrock", name="AWS Bedrock")
    rows = list(focus_rows(ROWS, use_cases=("support-summarizer",), teams=("support",)))
    rows[3]["BilledCost"] = "twelve"
    rows[8]["BillingCurrency"] = "XYZ"
    log_in("fin", password)
    held_imports.set()
    _upload(page, "bedrock-two-bad.csv", focus_csv(rows))
    status = page.locator("#import-status")
    expect(status).to_contain_text("2 rows rejected")
    expect(status).to_contain_text("retry it with the valid rows only")
    _shot(page, "4-rejected")

    # When they retry it with the valid rows only
    page.get_by_role("button", name="Retry with the valid rows only").click()

    # Then the ten good rows are imported, and the two rejects are still there to download
    expect(status).to_contain_text("Imported")
    expect(status).to_contain_text("10 new rows imported")
    expect(status).to_contain_text("2 rejected")
    expect(page.get_by_role("link", name="download as CSV")).to_be_visible()
    expect(page.get_by_role("button", name="Retry with the valid rows only")).to_have_count(0)
    _shot(page, "5-valid-rows-retried")
    batch = ImportBatch.objects.get()
    assert (batch.status, batch.mode, batch.rows_imported, batch.rows_rejected) == (
        "succeeded",
        "valid_rows",
        10,
        2,
    )
