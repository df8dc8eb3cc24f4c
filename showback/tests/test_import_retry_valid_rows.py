"""A whole-file import that failed on rejected rows can be retried with its valid rows only, on
the page and through the API: exactly the missing rows go in, the rejects stay downloadable."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Sum
from django.urls import reverse

from aifinops.core.models import AuditEvent
from showback.ingest.services import spend_import_create, spend_import_run
from showback.models import ImportBatch, SpendRecord

from .focus_files import focus_csv, focus_rows

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queued_tasks_run")]


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


def _failed(cast, n=10, bad=(2, 6)):
    rows = list(focus_rows(n))
    for i in bad:
        rows[i]["BilledCost"] = "twelve"
    batch = spend_import_create(
        actor=cast.finance, uploaded_file=SimpleUploadedFile("bill.csv", focus_csv(rows)), queue=False
    )
    spend_import_run(batch_id=batch.pk)
    batch.refresh_from_db()
    assert (batch.status, batch.rows_rejected) == ("failed", len(bad))
    good = sum(Decimal(r["BilledCost"]) for i, r in enumerate(rows) if i not in bad)
    return batch, good


def _ledger():
    return SpendRecord.objects.aggregate(t=Sum("billed_cost"))["t"] or Decimal("0")


def test_the_failed_page_offers_it_and_it_imports_the_valid_rows(login, cast, media):
    batch, good = _failed(cast)
    client = login(cast.finance)
    page = client.get(reverse("showback:import_detail", args=[batch.pk]))
    assert b"Retry with the valid rows only" in page.content
    assert "retry it with the valid rows only" in batch.error

    response = client.post(reverse("showback:import_retry", args=[batch.pk]), {"mode": "valid_rows"})

    assert response.status_code == 302
    batch.refresh_from_db()
    assert (batch.status, batch.mode, batch.rows_imported, batch.rows_rejected) == (
        "succeeded",
        "valid_rows",
        8,
        2,
    )
    assert SpendRecord.objects.filter(import_batch=batch).count() == 8
    assert _ledger() == good
    # The rejects are still there to download
    rejects = client.get(reverse("showback:import_rejects", args=[batch.pk]))
    lines = rejects.content.decode().strip().splitlines()
    assert len(lines) == 3 and all(",BilledCost," in line for line in lines[1:])
    page = client.get(reverse("showback:import_detail", args=[batch.pk]))
    assert b"download as CSV" in page.content and b"Retry with the valid rows only" not in page.content
    event = AuditEvent.objects.get(action="spend_import.retry", object_id=str(batch.pk))
    assert event.actor == cast.finance
    assert (event.before["mode"], event.after["mode"]) == ("all_or_nothing", "valid_rows")

    # A repeated retry is refused and adds nothing
    again = client.post(
        reverse("showback:import_retry", args=[batch.pk]), {"mode": "valid_rows"}, follow=True
    )
    assert "can be retried" in again.content.decode()
    assert SpendRecord.objects.count() == 8 and _ledger() == good


def test_the_api_retries_with_the_valid_rows_only_once(login, cast, media):
    batch, good = _failed(cast, n=12, bad=(0,))
    client = login(cast.finance)
    url = reverse("api-spend-import-retry", args=[batch.pk])

    response = client.post(url, {"mode": "valid_rows"}, content_type="application/json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["mode"] == "valid_rows"
    batch.refresh_from_db()
    assert (batch.status, batch.rows_imported, batch.rows_rejected) == ("succeeded", 11, 1)
    assert _ledger() == good
    assert client.get(batch_rejects := reverse("showback:import_rejects", args=[batch.pk])).status_code == 200
    assert (
        client.get(reverse("api-spend-import-detail", args=[batch.pk])).json()["rejects_url"] == batch_rejects
    )

    for _ in range(2):
        again = client.post(url, {"mode": "valid_rows"}, content_type="application/json")
        assert again.status_code == 400 and "status" in again.json()["error"]["fields"]
    assert SpendRecord.objects.count() == 11 and _ledger() == good
    assert AuditEvent.objects.filter(action="spend_import.retry", object_id=str(batch.pk)).count() == 1


def test_valid_rows_is_refused_for_an_import_without_rejects(login, cast, media):
    batch = spend_import_create(
        actor=cast.finance, uploaded_file=SimpleUploadedFile("b.csv", focus_csv(focus_rows(3))), queue=False
    )
    client = login(cast.finance)
    client.post(reverse("api-spend-import-cancel", args=[batch.pk]))

    response = client.post(
        reverse("api-spend-import-retry", args=[batch.pk]),
        {"mode": "valid_rows"},
        content_type="application/json",
    )

    assert response.status_code == 400 and "mode" in response.json()["error"]["fields"]
    assert ImportBatch.objects.get(pk=batch.pk).status == "cancelled"


@pytest.mark.parametrize(
    "body",
    [
        {"mode": "everything"},
        {"mode": "valid_rows\x00"},
        {"mode": "\ud800"},
        {"mode": {"a": 1}},
        {"mode": ["valid_rows"]},
        {"mode": None},
        {"mode": 7},
        {"mode": ""},
        {"mode": "x" * 100_000},
    ],
)
def test_a_bad_mode_is_a_400_naming_the_field(login, cast, media, body):
    batch, _ = _failed(cast, n=4, bad=(1,))
    client = login(cast.finance)

    response = client.post(
        reverse("api-spend-import-retry", args=[batch.pk]), body, content_type="application/json"
    )

    assert response.status_code == 400, response.content
    assert "mode" in response.json()["error"]["fields"]
    batch.refresh_from_db()
    assert batch.status == "failed" and not SpendRecord.objects.exists()


def test_a_body_that_is_not_an_object_is_a_400(login, cast, media):
    batch, _ = _failed(cast, n=4, bad=(1,))

    response = login(cast.finance).post(
        reverse("api-spend-import-retry", args=[batch.pk]), ["valid_rows"], content_type="application/json"
    )

    assert response.status_code == 400 and "JSON object" in response.content.decode()
    assert ImportBatch.objects.get(pk=batch.pk).status == "failed"


def test_a_requester_cannot_retry(login, cast, media):
    batch, _ = _failed(cast, n=4, bad=(1,))
    client = login(cast.requester_a)

    response = client.post(
        reverse("api-spend-import-retry", args=[batch.pk]),
        {"mode": "valid_rows"},
        content_type="application/json",
    )
    page = client.post(reverse("showback:import_retry", args=[batch.pk]), {"mode": "valid_rows"})

    assert response.status_code == 403 and page.status_code == 403
    assert ImportBatch.objects.get(pk=batch.pk).status == "failed"
