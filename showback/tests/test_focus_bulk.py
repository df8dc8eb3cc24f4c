"""The PostgreSQL bulk path for FOCUS files gives exactly what the row path gives, faster.

Given a file, when it is imported by COPY and set-based SQL, and again (from scratch) row by row,
then every SpendRecord field agrees; files the bulk path cannot take go row by row and are explained.
"""

import csv
import gzip
import io
import logging
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.db.models import Sum

from portfolio.tests.factories import AIModelFactory, ProviderFactory, TeamFactory, UseCaseFactory
from showback.ingest.services import spend_import_create, spend_import_run
from showback.models import AttributionRule, DailySpend, ImportBatch, SpendRecord

from .focus_files import COLUMNS, focus_csv, focus_rows

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the bulk path is PostgreSQL's"),
]
# Public FOCUS samples copied into the repository (data/README.md).
SHARED = Path(__file__).resolve().parent / "data"
REAL_EXPORTS = sorted(p for p in (SHARED / "focus").glob("*.csv") if p.name != "focus_columns_by_version.csv")
ROW_PATH = "goes row by row"
COMPARED = [
    f.attname
    for f in SpendRecord._meta.concrete_fields
    if f.attname not in ("id", "imported_at", "import_batch_id")
]


@pytest.fixture
def catalog():
    bedrock = ProviderFactory(slug="aws-bedrock", name="AWS Bedrock")
    AIModelFactory(provider=bedrock, key="amazon.nova-pro-v1:0")
    team = TeamFactory(slug="support", name="Support")
    UseCaseFactory(team=team, key="support-reply-drafter")
    UseCaseFactory(team=team, key="ticket-triage")
    return team


def _import(content, *, name="bill.csv", mode="all_or_nothing"):
    upload = SimpleUploadedFile(name, content)
    batch = spend_import_create(
        actor=None, uploaded_file=upload, source_format="focus", mode=mode, queue=False
    )
    return spend_import_run(batch_id=batch.pk)


def _records():
    return {r["source_row_key"]: r for r in SpendRecord.objects.values(*COMPARED).order_by("source_row_key")}


def _both_paths(content, settings, caplog):
    """The records of the bulk path, then those of the row path, each imported into an empty table."""
    with caplog.at_level(logging.INFO, logger="showback.ingest.services"):
        bulk_batch = _import(content)
    assert bulk_batch.status == "succeeded", bulk_batch.error
    assert ROW_PATH not in caplog.text, caplog.text
    bulk = _records()
    bulk_rollup = list(DailySpend.objects.values().order_by("date", "use_case_id", "model_id", "id"))
    SpendRecord.objects.all().delete()
    DailySpend.objects.all().delete()

    settings.AIFINOPS_BULK_IMPORT = False
    row_batch = _import(content)
    assert row_batch.status == "succeeded", row_batch.error
    rows = _records()
    row_rollup = list(DailySpend.objects.values().order_by("date", "use_case_id", "model_id", "id"))
    for batch in (bulk_batch, row_batch):
        batch.refresh_from_db()
    return bulk, rows, bulk_batch, row_batch, bulk_rollup, row_rollup


def _strip_ids(rollup):
    # The two imports are two batches; everything else must match.
    return [{k: v for k, v in r.items() if k not in ("id", "import_batch_id")} for r in rollup]


def _mixed_bill():
    """Generated AI token lines, plus what real bills carry: a non-AI row, money written with a sign
    and thousands separators, padded values, a null spelling, a 1K-token unit and a rule-attributed
    GPU instance."""
    rows = list(focus_rows(60, use_cases=("support-reply-drafter", "ticket-triage"), teams=("support",)))
    rows[3] |= {"ServiceCategory": "Compute", "ServiceName": "Amazon EC2", "Tags": '{"Team": " support "}'}
    rows[4] |= {"BilledCost": "$1,234.50", "EffectiveCost": " 1234.5 ", "ListCost": "NULL"}
    rows[5] |= {"ConsumedUnit": "1K Tokens", "ConsumedQuantity": "12.5", "SkuMeter": "output tokens"}
    rows[6] |= {"SubAccountId": "gpu-cluster-7", "ServiceCategory": "Compute", "Tags": ""}
    rows[7] |= {"ChargePeriodStart": "10/05/2026", "ChargePeriodEnd": "2026-10-06 00:00:00 UTC"}
    rows[8] |= {"ChargeClass": "NULL", "ChargeCategory": " Usage ", "InvoiceIssuerName": "      "}
    return rows


def test_the_bulk_path_writes_exactly_what_the_row_path_writes(catalog, settings, caplog):
    AttributionRule.objects.create(
        name="GPU cluster",
        priority=10,
        match_field="sub_account",
        match_value="gpu-cluster-7",
        use_case=UseCaseFactory(team=catalog, key="gpu-inference"),
        team=catalog,
    )
    content = focus_csv(_mixed_bill())

    bulk, rows, bulk_batch, row_batch, bulk_rollup, row_rollup = _both_paths(content, settings, caplog)

    assert len(bulk) == 60
    assert bulk.keys() == rows.keys()
    for key in bulk:
        assert bulk[key] == rows[key], key
    assert _strip_ids(bulk_rollup) == _strip_ids(row_rollup)
    assert bulk_batch.totals == row_batch.totals
    assert (bulk_batch.rows_read, bulk_batch.rows_imported) == (row_batch.rows_read, row_batch.rows_imported)
    assert (bulk_batch.period_start, bulk_batch.period_end) == (row_batch.period_start, row_batch.period_end)
    gpu = next(r for r in bulk.values() if r["sub_account"] == "gpu-cluster-7")
    assert gpu["is_ai"] and gpu["attributed_by"].startswith("rule:")
    assert next(r for r in bulk.values() if r["service_name"] == "Amazon EC2")["is_ai"] is False
    assert any(r["billed_cost"] == Decimal("1234.5") for r in bulk.values())


@pytest.mark.parametrize("path", REAL_EXPORTS, ids=[p.name for p in REAL_EXPORTS])
def test_real_focus_exports_import_the_same_by_both_paths(path, catalog, settings, caplog):
    content = path.read_bytes()

    bulk, rows, bulk_batch, _, _, _ = _both_paths(content, settings, caplog)

    assert bulk.keys() == rows.keys()
    differences = {
        (key, name): (bulk[key][name], rows[key][name])
        for key in bulk
        for name in COMPARED
        if bulk[key][name] != rows[key][name]
    }
    assert not differences
    bills = csv.DictReader(io.StringIO(content.decode("utf-8-sig")))
    # Independently of the importers: "$10,000.00 " is ten thousand dollars.
    expected = sum(Decimal(r["BilledCost"].strip().replace("$", "").replace(",", "")) for r in bills)
    assert SpendRecord.objects.aggregate(t=Sum("billed_cost"))["t"] == expected
    assert bulk_batch.rows_imported == len(bulk)


def test_the_same_file_again_or_an_overlapping_one_adds_only_new_rows(catalog, caplog):
    rows = list(focus_rows(40))
    first = _import(focus_csv(rows[:30]))
    assert first.rows_imported == 30

    again = _import(focus_csv(rows[:30]))
    overlapping = _import(focus_csv(rows[20:]), name="later.csv.gz")

    assert (again.status, again.rows_imported, again.rows_duplicate) == ("succeeded", 0, 30)
    assert (overlapping.rows_imported, overlapping.rows_duplicate) == (10, 10)
    assert SpendRecord.objects.count() == 40
    assert DailySpend.objects.aggregate(n=Sum("record_count"))["n"] == 40
    assert ROW_PATH not in caplog.text


def test_rows_imported_row_by_row_are_duplicates_for_the_bulk_path(catalog, settings):
    content = focus_csv(focus_rows(25))
    settings.AIFINOPS_BULK_IMPORT = False
    assert _import(content).rows_imported == 25

    settings.AIFINOPS_BULK_IMPORT = True
    again = _import(content)

    assert (again.rows_imported, again.rows_duplicate) == (0, 25)


def test_a_gzipped_bill_goes_through_copy(catalog, caplog):
    content = gzip.compress(focus_csv(focus_rows(50)))

    with caplog.at_level(logging.INFO, logger="showback.ingest.services"):
        batch = _import(content, name="bill.csv.gz")

    assert (batch.status, batch.rows_imported) == ("succeeded", 50)
    assert ROW_PATH not in caplog.text


@pytest.mark.parametrize(
    ("change", "line", "column"),
    [
        ({"BilledCost": "twelve"}, 4, "BilledCost"),
        ({"BillingCurrency": "credits"}, 4, "BillingCurrency"),
        ({"ChargePeriodStart": "2026-13-45"}, 4, "ChargePeriodStart"),
        ({"Tags": "{not json"}, 4, "Tags"),
        ({"BilledCost": ""}, 4, "BilledCost"),
    ],
)
def test_a_bad_value_sends_the_file_row_by_row_which_names_the_line_and_column(
    catalog, caplog, change, line, column
):
    rows = list(focus_rows(10))
    rows[2] |= change

    with caplog.at_level(logging.INFO, logger="showback.ingest.services"):
        batch = _import(focus_csv(rows))

    assert batch.status == "failed"
    assert ROW_PATH in caplog.text
    assert [(r["line"], r["column"]) for r in batch.rejects] == [(line, column)]
    assert SpendRecord.objects.count() == 0


def test_valid_rows_only_keeps_the_good_rows_of_a_bad_file(catalog):
    rows = list(focus_rows(10))
    rows[2]["BilledCost"] = "twelve"

    batch = _import(focus_csv(rows), mode="valid_rows")

    assert (batch.status, batch.rows_imported, batch.rows_rejected) == ("succeeded", 9, 1)
    assert SpendRecord.objects.count() == 9


def test_a_ragged_file_goes_row_by_row(catalog, caplog):
    content = focus_csv(focus_rows(5)) + b"1.0,2.0\n"

    with caplog.at_level(logging.INFO, logger="showback.ingest.services"):
        batch = _import(content, mode="valid_rows")

    assert ROW_PATH in caplog.text
    assert batch.status == "succeeded"
    assert batch.rows_imported == 5


def test_a_file_of_only_a_header_imports_nothing(catalog):
    batch = _import((",".join(COLUMNS) + "\n").encode())

    assert (batch.status, batch.rows_read, batch.rows_imported) == ("succeeded", 0, 0)
    assert ImportBatch.objects.get().period_start is None


def test_a_stray_quote_that_postgresql_reads_across_lines_goes_row_by_row(catalog, caplog):
    header = ",".join(COLUMNS).replace("Tags", 'Ta"gs').encode()
    content = header + focus_csv(focus_rows(6))[len(",".join(COLUMNS)) :]

    with caplog.at_level(logging.INFO, logger="showback.ingest.services"):
        batch = _import(content, mode="valid_rows")

    assert ROW_PATH in caplog.text
    assert (batch.status, batch.rows_imported) == ("succeeded", 6)
