"""Importing spend through the page, the API and the command: given a file, then what finance sees."""

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db.models import Sum
from django.urls import reverse

from aifinops.core.models import AuditEvent
from aifinops.core.services import api_token_create
from portfolio.tests.factories import ProviderFactory, UseCaseFactory
from showback.models import DailySpend, ImportBatch, SpendRecord

from .focus_files import focus_csv, focus_rows

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queued_tasks_run")]


@pytest.fixture
def bedrock(cast):
    ProviderFactory(slug="aws-bedrock", name="AWS Bedrock")
    UseCaseFactory(team=cast.team_a, key="support-reply-drafter", name="Support reply drafter")


def _upload(client, content, name="bill.csv", **extra):
    return client.post(
        reverse("showback:import_list"),
        {"file": SimpleUploadedFile(name, content), "mode": "all_or_nothing", **extra},
        follow=True,
    )


def _billed_sum(content):
    return sum(Decimal(r["BilledCost"]) for r in csv.DictReader(io.StringIO(content.decode())))


def test_finance_uploads_a_focus_file_and_the_totals_match_the_file_to_the_cent(login, cast, bedrock):
    content = focus_csv(focus_rows(240, use_cases=("support-reply-drafter",), teams=("support",)))

    response = _upload(login(cast.finance), content)

    batch = ImportBatch.objects.get()
    assert batch.status == "succeeded", batch.error
    assert batch.source_format == "focus"
    assert batch.rows_imported == 240
    assert b"240 new rows imported" in response.content
    expected = _billed_sum(content)
    cents = Decimal("0.01")
    # Exact, and so also to the cent: no row is rounded on the way in.
    assert SpendRecord.objects.aggregate(t=Sum("billed_cost"))["t"] == expected
    assert DailySpend.objects.aggregate(t=Sum("billed_cost"))["t"] == expected
    assert Decimal(batch.totals["USD"]).quantize(cents) == expected.quantize(cents)
    attributed = SpendRecord.objects.filter(use_case__key="support-reply-drafter", team=cast.team_a)
    assert attributed.count() == 240
    assert AuditEvent.objects.filter(action="spend_import.complete", object_id=str(batch.pk)).exists()


def test_the_spend_shows_on_the_team_and_use_case_pages(login, cast, bedrock):
    today_rows = focus_rows(10, use_cases=("support-reply-drafter",), teams=("support",))
    _upload(login(cast.finance), focus_csv(today_rows))

    page = login(cast.requester_a).get(reverse("portfolio:team_detail", args=["support"]))

    assert page.status_code == 200
    assert DailySpend.objects.filter(team=cast.team_a).exists()


def test_uploading_the_same_file_again_adds_nothing(login, cast, bedrock):
    content = focus_csv(focus_rows(50))
    client = login(cast.finance)
    _upload(client, content)

    response = _upload(client, content)

    second = ImportBatch.objects.order_by("-id").first()
    assert (second.rows_imported, second.rows_duplicate) == (0, 50)
    assert SpendRecord.objects.count() == 50
    assert b"0 new rows imported" in response.content


def test_a_bad_row_rejects_the_whole_file_and_names_line_and_column(login, cast, bedrock):
    rows = list(focus_rows(20))
    rows[6]["BilledCost"] = "twelve"
    client = login(cast.finance)

    response = _upload(client, focus_csv(rows))

    batch = ImportBatch.objects.get()
    assert batch.status == "failed"
    assert SpendRecord.objects.count() == 0
    assert DailySpend.objects.count() == 0
    assert batch.rejects[0]["line"] == 8
    assert batch.rejects[0]["column"] == "BilledCost"
    assert b"nothing was imported" in response.content
    rejects = client.get(reverse("showback:import_rejects", args=[batch.pk]))
    assert b"8,BilledCost," in rejects.content


def test_valid_rows_mode_imports_the_rest_and_reports_the_rejects(login, cast, bedrock):
    rows = list(focus_rows(20))
    rows[3]["BillingCurrency"] = "XYZ"

    _upload(login(cast.finance), focus_csv(rows), mode="valid_rows")

    batch = ImportBatch.objects.get()
    assert batch.status == "succeeded"
    assert (batch.rows_imported, batch.rows_rejected) == (19, 1)
    assert batch.rejects[0]["column"] == "BillingCurrency"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", b"The file is empty"),
        (b"\x00\x01\x02\x03binary\x00", b"binary file"),
        (b"colour,size\nred,3\n", b"could not be recognised"),
    ],
)
def test_files_that_cannot_be_spend_are_refused_with_a_message_and_nothing_is_stored(
    login, cast, content, message
):
    response = _upload(login(cast.finance), content)

    assert response.status_code == 200
    assert message in response.content
    assert not ImportBatch.objects.exists()


def test_a_file_over_the_size_limit_is_refused(login, cast, settings):
    settings.AIFINOPS_IMPORT_MAX_BYTES = 1024 * 1024
    response = _upload(login(cast.finance), b"x" * (1024 * 1024 + 1))

    assert b"the limit is 1 MB" in response.content


def test_only_finance_and_admins_import(login, cast):
    assert login(cast.requester_a).get(reverse("showback:import_list")).status_code == 403
    assert login(cast.admin).get(reverse("showback:import_list")).status_code == 200


def test_api_upload_answers_202_and_the_status_endpoint_follows_it(client, cast, bedrock):
    _, key = api_token_create(user=cast.finance, name="ci")
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {key}"

    response = client.post(
        "/api/v1/spend/imports/", {"file": SimpleUploadedFile("bill.csv", focus_csv(focus_rows(12)))}
    )

    assert response.status_code == 202
    status = client.get(f"/api/v1/spend/imports/{response.json()['id']}/").json()
    assert (status["status"], status["rows_imported"], status["progress"]) == ("succeeded", 12, 100)


def test_api_upload_refuses_a_requester(client, cast):
    _, key = api_token_create(user=cast.requester_a, name="ci")

    response = client.post(
        "/api/v1/spend/imports/",
        {"file": SimpleUploadedFile("bill.csv", focus_csv(focus_rows(2)))},
        HTTP_AUTHORIZATION=f"Token {key}",
    )

    assert response.status_code == 403
    assert not ImportBatch.objects.exists()


def test_command_imports_with_a_summary_line_and_again_adds_nothing(cast, bedrock, tmp_path):
    path = tmp_path / "bill.csv"
    path.write_bytes(focus_csv(focus_rows(30)))
    out = io.StringIO()

    call_command("import_spend", str(path), stdout=out)
    call_command("import_spend", str(path), stdout=out)

    lines = [line for line in out.getvalue().splitlines() if line.startswith("Imported")]
    assert lines[0].startswith("Imported: 30 rows imported, 0 already present, 0 rejected (focus")
    assert lines[1].startswith("Imported: 0 rows imported, 30 already present")


def test_command_reports_a_rejected_file_and_fails(cast, tmp_path):
    rows = list(focus_rows(5))
    rows[1]["ChargePeriodStart"] = "yesterday-ish"
    path = tmp_path / "bill.csv"
    path.write_bytes(focus_csv(rows))

    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_spend", str(path), stdout=io.StringIO(), stderr=io.StringIO())

    assert SpendRecord.objects.count() == 0


def test_usage_only_rows_are_costed_from_the_catalog_and_flagged_estimated(cast, tmp_path):
    from portfolio.tests.factories import AIModelFactory

    anthropic = ProviderFactory(slug="anthropic", name="Anthropic")
    AIModelFactory(
        provider=anthropic,
        key="claude-sonnet-4-20250514",
        input_price_per_mtok=Decimal("3"),
        output_price_per_mtok=Decimal("15"),
        cached_input_price_per_mtok=Decimal("0.30"),
    )
    path = tmp_path / "usage.json"
    path.write_text(
        '{"data": [{"starting_at": "2026-11-01T00:00:00Z", "ending_at": "2026-11-02T00:00:00Z", "results": ['
        '{"uncached_input_tokens": 1000000, "cache_read_input_tokens": 1000000, "cache_creation": '
        '{"ephemeral_5m_input_tokens": 1000000, "ephemeral_1h_input_tokens": 0}, "output_tokens": 1000000, '
        '"model": "claude-sonnet-4-20250514", "workspace_id": "wrk_1"}]}], "has_more": false}'
    )

    call_command("import_spend", str(path), "--format", "anthropic_usage", stdout=io.StringIO())

    records = SpendRecord.objects.all()
    assert all(r.is_estimated for r in records)
    # 1M uncached at $3 + 1M cache read at $0.30 + 1M cache write at the $3 input floor + 1M out at $15
    assert records.aggregate(t=Sum("effective_cost"))["t"] == Decimal("21.30")
    assert records.aggregate(t=Sum("billed_cost"))["t"] == 0


# Public FOCUS samples copied into the repository (data/README.md).
DATA = Path(__file__).resolve().parent / "data"
SHARED_FOCUS = sorted((DATA / "focus").glob("*agreements*.csv")) + sorted(
    (DATA / "focus").glob("virtual_currency_*.csv")
)


def test_the_public_focus_samples_are_in_the_repository():
    assert len(SHARED_FOCUS) == 15, f"the FOCUS samples are missing from {DATA / 'focus'}"


@pytest.mark.parametrize("path", SHARED_FOCUS, ids=lambda p: p.name)
def test_real_focus_exports_import_whole_and_match_their_billed_total_to_the_cent(path):
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    expected = {}
    for row in rows:
        value = (row.get("BilledCost") or "").replace("$", "").replace(",", "").strip()
        if value and value.upper() not in ("NULL", "NONE", "NA", "N/A"):
            currency = row["BillingCurrency"].strip()
            expected[currency] = expected.get(currency, Decimal("0")) + Decimal(value)

    call_command("import_spend", str(path), "--format", "focus", stdout=io.StringIO())

    batch = ImportBatch.objects.get()
    assert batch.status == "succeeded", batch.rejects[:3]
    cents = Decimal("0.01")
    for currency, total in expected.items():
        imported = SpendRecord.objects.filter(currency=currency).aggregate(t=Sum("billed_cost"))["t"]
        assert imported.quantize(cents) == total.quantize(cents)


@pytest.mark.django_db(transaction=True)
def test_without_a_worker_the_import_runs_in_a_thread_and_the_request_returns_at_once(cast, settings):
    import time

    from django.db import transaction

    from showback.ingest.services import spend_import_create

    settings.AIFINOPS_IMPORT_IN_THREAD = True
    ProviderFactory(slug="aws-bedrock", name="AWS Bedrock")
    with transaction.atomic():
        batch = spend_import_create(
            actor=cast.finance, uploaded_file=SimpleUploadedFile("bill.csv", focus_csv(focus_rows(300)))
        )

    deadline = time.monotonic() + 60
    while (
        ImportBatch.objects.get(pk=batch.pk).status in ("queued", "running") and time.monotonic() < deadline
    ):
        time.sleep(0.2)

    batch.refresh_from_db()
    assert (batch.status, batch.rows_imported) == ("succeeded", 300)


def test_an_import_that_crosses_a_budget_threshold_alerts_at_once(login, cast, bedrock):
    from django.utils import timezone

    from showback.models import BudgetAlert, BudgetScope
    from showback.tests.budget_factories import BudgetFactory

    budget = BudgetFactory(scope=BudgetScope.TEAM, team=cast.team_a, amount=Decimal("10"))
    today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    rows = list(focus_rows(1, start=today, use_cases=("support-reply-drafter",), teams=("support",)))
    rows[0] |= {"BilledCost": "9.00", "EffectiveCost": "9.00", "ListCost": "9.00"}

    _upload(login(cast.finance), focus_csv(rows))

    alert = BudgetAlert.objects.get(budget=budget, kind="threshold")
    assert alert.threshold == 80
