"""Every import ends: done, failed with a reason, or cancelled; a failed one can be retried, a wrong
one undone, on the page and through the API."""

import datetime
import os
import signal
import subprocess
import sys
import threading
import time
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from aifinops.celery import app as celery_app
from aifinops.core.models import AuditEvent
from showback.ingest.services import (
    spend_import_cancel,
    spend_import_create,
    spend_import_retry,
    spend_import_run,
    spend_import_sweep,
    spend_import_undo,
)
from showback.models import DailySpend, ImportBatch, ImportStatus, SpendRecord

from .focus_files import focus_csv, focus_rows


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


def _billed(content):
    import csv
    import io

    return sum(Decimal(r["BilledCost"]) for r in csv.DictReader(io.StringIO(content.decode())))


def _create(cast, content, name="bill.csv"):
    return spend_import_create(
        actor=cast.finance, uploaded_file=SimpleUploadedFile(name, content), queue=False
    )


def _ledger_total():
    return SpendRecord.objects.aggregate(t=Sum("billed_cost"))["t"] or Decimal("0")


def _rollup_total():
    return DailySpend.objects.aggregate(t=Sum("billed_cost"))["t"] or Decimal("0")


@pytest.mark.django_db
def test_the_sweeper_fails_a_silent_import_and_a_retry_completes(cast, media, settings):
    # Given an import marked running whose worker has been silent past the limit
    content = focus_csv(focus_rows(30))
    batch = _create(cast, content)
    stale = timezone.now() - datetime.timedelta(seconds=settings.AIFINOPS_IMPORT_STALE_SECONDS + 60)
    ImportBatch.objects.filter(pk=batch.pk).update(status="running", started_at=stale, heartbeat_at=stale)

    assert spend_import_sweep() == [batch.pk]

    batch.refresh_from_db()
    assert batch.status == "failed"
    assert "The worker stopped" in batch.error and "Retry" in batch.error
    assert AuditEvent.objects.filter(action="spend_import.fail", object_id=str(batch.pk)).exists()

    # When finance retries it, the worker runs it to the end
    spend_import_retry(batch_id=batch.pk, actor=cast.finance)
    spend_import_run(batch_id=batch.pk)

    batch.refresh_from_db()
    assert batch.status == "succeeded" and batch.rows_imported == 30
    assert _ledger_total() == _billed(content) == _rollup_total()


@pytest.mark.django_db
def test_a_fresh_heartbeat_is_left_alone(cast, media):
    batch = _create(cast, focus_csv(focus_rows(3)))
    ImportBatch.objects.filter(pk=batch.pk).update(status="running", heartbeat_at=timezone.now())

    assert spend_import_sweep() == []


@pytest.mark.django_db
def test_a_queued_import_whose_task_was_lost_is_handed_again_then_failed(
    cast, media, settings, django_capture_on_commit_callbacks
):
    # Given an import queued long ago whose task the broker lost (no worker ever saw it)
    content = focus_csv(focus_rows(12))
    batch = _create(cast, content)
    wait = datetime.timedelta(seconds=settings.AIFINOPS_IMPORT_QUEUED_SECONDS)
    queued_at = timezone.now() - wait - datetime.timedelta(minutes=1)
    ImportBatch.objects.filter(pk=batch.pk).update(created_at=queued_at)
    fresh = _create(cast, focus_csv(focus_rows(3, seed=7)), "fresh.csv")

    # When the sweeper runs without a worker to take the task, it hands the old one over again,
    # audited, and leaves it queued; the fresh one is left alone
    with django_capture_on_commit_callbacks() as dispatched:
        assert spend_import_sweep() == []
    assert len(dispatched) == 1
    assert AuditEvent.objects.filter(action="spend_import.redispatch", object_id=str(batch.pk)).count() == 1
    with django_capture_on_commit_callbacks() as again:
        assert spend_import_sweep(now=timezone.now() + wait / 2) == []
    assert again == []  # handed over once, not at every sweep

    # When it is still queued twice the wait after it was queued, it fails saying what to check
    assert spend_import_sweep(now=queued_at + 2 * wait + datetime.timedelta(seconds=1)) == [batch.pk]
    batch.refresh_from_db()
    assert batch.status == "failed"
    assert "No worker started this import" in batch.error and "make worker" in batch.error
    assert "retry" in batch.error
    assert ImportBatch.objects.get(pk=fresh.pk).status == "queued"
    spend_import_cancel(batch_id=fresh.pk, actor=cast.finance)

    # And a retry is queued afresh: handed over again only after a new wait, and it completes
    spend_import_retry(batch_id=batch.pk, actor=cast.finance)
    with django_capture_on_commit_callbacks() as none_yet:
        spend_import_sweep(now=timezone.now() + wait / 2)
    assert none_yet == []
    with django_capture_on_commit_callbacks(execute=True):
        spend_import_sweep(now=timezone.now() + wait + datetime.timedelta(seconds=1))
    batch.refresh_from_db()
    assert batch.status == "succeeded" and batch.rows_imported == 12


@pytest.mark.django_db
def test_a_queued_import_handed_again_runs_once_however_many_tasks_arrive(
    cast, media, settings, django_capture_on_commit_callbacks
):
    # Given a queued import the sweeper hands over again while its first task was only late
    batch = _create(cast, focus_csv(focus_rows(5)))
    old = timezone.now() - datetime.timedelta(seconds=settings.AIFINOPS_IMPORT_QUEUED_SECONDS + 60)
    ImportBatch.objects.filter(pk=batch.pk).update(created_at=old)
    with django_capture_on_commit_callbacks(execute=True):
        spend_import_sweep()

    # When the late task arrives too, it finds the import done and leaves it as it is
    spend_import_run(batch_id=batch.pk)

    batch.refresh_from_db()
    assert batch.status == "succeeded" and SpendRecord.objects.filter(import_batch=batch).count() == 5
    assert AuditEvent.objects.filter(action="spend_import.complete", object_id=str(batch.pk)).count() == 1


@pytest.mark.django_db
def test_undo_removes_exactly_its_rows_and_rebuilds_the_rollups(cast, media):
    # Given a first file, then a second that repeats 10 of its rows and adds 20 of its own
    first_rows = list(focus_rows(40, seed=1))
    first = _create(cast, focus_csv(first_rows))
    spend_import_run(batch_id=first.pk)
    kept_total = _ledger_total()
    second_rows = first_rows[:10] + list(focus_rows(20, seed=2))
    second = _create(cast, focus_csv(second_rows), "second.csv")
    spend_import_run(batch_id=second.pk)
    second.refresh_from_db()
    assert second.rows_imported == 20 and second.rows_duplicate == 10

    # When the second is undone
    spend_import_undo(batch_id=second.pk, actor=cast.finance)

    # Then exactly its 20 rows are gone, the first file's 40 stay, and the rollups agree
    second.refresh_from_db()
    assert second.status == "undone"
    assert SpendRecord.objects.filter(import_batch=second).count() == 0
    assert SpendRecord.objects.filter(import_batch=first).count() == 40
    assert _ledger_total() == kept_total == _rollup_total()
    event = AuditEvent.objects.get(action="spend_import.undo", object_id=str(second.pk))
    assert event.after["rows_removed"] == 20


@pytest.mark.django_db
def test_undo_retry_and_cancel_refuse_the_wrong_state(cast, media):
    from django.core.exceptions import ValidationError

    batch = _create(cast, focus_csv(focus_rows(3)))
    with pytest.raises(ValidationError, match="only a imported import can be undone"):
        spend_import_undo(batch_id=batch.pk, actor=cast.finance)
    with pytest.raises(ValidationError, match="retried"):
        spend_import_retry(batch_id=batch.pk, actor=cast.finance)

    spend_import_cancel(batch_id=batch.pk, actor=cast.finance)
    spend_import_run(batch_id=batch.pk)

    batch.refresh_from_db()
    assert batch.status == "cancelled" and not SpendRecord.objects.exists()


@pytest.mark.django_db
def test_a_requester_cannot_undo(cast, media):
    from django.core.exceptions import PermissionDenied

    batch = _create(cast, focus_csv(focus_rows(3)))
    spend_import_run(batch_id=batch.pk)

    with pytest.raises(PermissionDenied):
        spend_import_undo(batch_id=batch.pk, actor=cast.requester_a)
    assert SpendRecord.objects.count() == 3


@pytest.mark.django_db
@pytest.mark.usefixtures("queued_tasks_run")
def test_the_page_undoes_with_confirmation_and_the_api_retries(login, cast, media):
    batch = _create(cast, focus_csv(focus_rows(5)))
    spend_import_run(batch_id=batch.pk)
    client = login(cast.finance)
    page = client.get(reverse("showback:import_detail", args=[batch.pk]))
    assert b"Undo the import" in page.content

    # Without the confirmation, nothing happens
    client.post(reverse("showback:import_undo", args=[batch.pk]))
    assert SpendRecord.objects.count() == 5

    client.post(reverse("showback:import_undo", args=[batch.pk]), {"confirm": "yes"})
    assert SpendRecord.objects.count() == 0

    # The API refuses to retry an undone import, with the field named
    response = client.post(reverse("api-spend-import-retry", args=[batch.pk]))
    assert response.status_code == 400
    assert "status" in response.content.decode() and "can be retried" in response.content.decode()


# A lost database connection and a killed worker, on real connections and a real worker.


@pytest.mark.django_db(transaction=True)
def test_a_lost_database_connection_fails_the_import_and_a_retry_completes(cast, media, settings):
    # Given an import that pauses at its first progress report (after 5,000 rows written)
    content = focus_csv(focus_rows(12_000))
    settings.AIFINOPS_BULK_IMPORT = False
    batch = _create(cast, content)
    reached, go = threading.Event(), threading.Event()
    pids = []

    def pause(state):
        if not reached.is_set():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                pids.append(cursor.fetchone()[0])
            reached.set()
            go.wait(30)

    def run():
        try:
            spend_import_run(batch_id=batch.pk, on_progress=pause)
        finally:
            connection.close()

    worker = threading.Thread(target=run)
    worker.start()
    assert reached.wait(120), "the import never reported progress"

    # When its connection is terminated from another one
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pids[0]])
    go.set()
    worker.join(120)

    # Then the import is failed with a reason, and nothing of it was kept
    batch.refresh_from_db()
    assert batch.status == "failed", batch.status
    assert "database connection was lost" in batch.error
    assert not SpendRecord.objects.exists()

    # And a retry imports the whole file
    spend_import_retry(batch_id=batch.pk, actor=cast.finance)
    spend_import_run(batch_id=batch.pk)
    batch.refresh_from_db()
    assert batch.status == "succeeded" and batch.rows_imported == 12_000
    assert _ledger_total() == _billed(content) == _rollup_total()


@pytest.fixture
def start_worker(transactional_db, tmp_path):
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "aifinops.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": django_settings.REDIS_URL,
        "MEDIA_ROOT": str(tmp_path / "media"),
        "IMPORT_HEARTBEAT_SECONDS": "1",
    }
    procs = []

    def start():
        log = (tmp_path / f"worker-{len(procs)}.log").open("w")
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "aifinops", "worker", "--pool=solo", "--concurrency=1",
             "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=django_settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def _wait(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.worker
@pytest.mark.skipif(not django_settings.REDIS_URL, reason="needs REDIS_URL (make test provides it)")
def test_a_worker_killed_mid_import_is_failed_by_the_sweeper_and_a_retry_completes(
    start_worker, cast, settings, tmp_path
):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.AIFINOPS_BULK_IMPORT = False
    settings.CELERY_TASK_ALWAYS_EAGER = False
    celery_app.conf.task_always_eager = False
    try:
        # Given a large import running on a real worker
        content = focus_csv(focus_rows(60_000))
        worker = start_worker()
        batch = spend_import_create(actor=cast.finance, uploaded_file=SimpleUploadedFile("bill.csv", content))
        status = lambda: ImportBatch.objects.get(pk=batch.pk).status  # noqa: E731
        _wait(lambda: status() == ImportStatus.RUNNING, 120, "the import to start")

        # When the worker is killed while it runs
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
        assert status() == ImportStatus.RUNNING

        # Then the sweeper, once the heartbeat is stale, fails it
        settings.AIFINOPS_IMPORT_STALE_SECONDS = 3
        _wait(lambda: spend_import_sweep() == [batch.pk], 30, "the sweeper to fail the import")
        assert status() == ImportStatus.FAILED
        assert not SpendRecord.objects.exists()

        # And with a worker again, a retry completes with the file's totals
        start_worker()
        spend_import_retry(batch_id=batch.pk, actor=cast.finance)
        _wait(lambda: status() in (ImportStatus.SUCCEEDED, ImportStatus.FAILED), 600, "the retry")
        batch.refresh_from_db()
        assert batch.status == ImportStatus.SUCCEEDED, batch.error
        assert batch.rows_imported == 60_000
        assert _ledger_total() == _billed(content) == _rollup_total()
    finally:
        celery_app.conf.task_always_eager = True


# The property: whatever the order of imports, retries, undos and re-imports, the ledger and its
# rollups hold exactly the sum of the files whose import stands.

FILES = {name: focus_csv(focus_rows(8, seed=seed)) for name, seed in (("a", 11), ("b", 12), ("c", 13))}
STEPS = st.lists(
    st.tuples(st.sampled_from(["import", "crash", "retry", "undo"]), st.sampled_from(sorted(FILES))),
    min_size=1,
    max_size=8,
)


class _Rollback(Exception):
    pass


def _crash(cast, name):
    """An import of the file whose worker died: failed by the sweeper before it wrote anything."""
    batch = _create(cast, FILES[name], f"{name}.csv")
    stale = timezone.now() - datetime.timedelta(days=1)
    ImportBatch.objects.filter(pk=batch.pk).update(status="running", started_at=stale, heartbeat_at=stale)
    assert spend_import_sweep() == [batch.pk]
    return batch


@pytest.mark.django_db
@hypothesis_settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=STEPS)
def test_totals_equal_an_independent_sum_whatever_the_sequence(cast, media, steps):
    from django.db import transaction

    try:
        with transaction.atomic():
            latest, owner = {}, dict.fromkeys(FILES)
            for step, name in steps:
                batch = latest.get(name)
                if step == "import":
                    batch = latest[name] = _create(cast, FILES[name], f"{name}.csv")
                    spend_import_run(batch_id=batch.pk)
                    owner[name] = owner[name] or batch.pk
                elif step == "crash":
                    latest[name] = _crash(cast, name)
                elif batch is None:
                    continue
                elif step == "retry" and ImportBatch.objects.get(pk=batch.pk).status == "failed":
                    spend_import_retry(batch_id=batch.pk, actor=cast.finance)
                    spend_import_run(batch_id=batch.pk)
                    owner[name] = owner[name] or batch.pk
                elif step == "undo" and ImportBatch.objects.get(pk=batch.pk).status == "succeeded":
                    spend_import_undo(batch_id=batch.pk, actor=cast.finance)
                    if owner[name] == batch.pk:
                        owner[name] = None
            # The model's sum: each file whose rows some standing import holds, counted once
            expected = sum((_billed(FILES[n]) for n, pk in owner.items() if pk), Decimal("0"))
            assert _ledger_total() == expected == _rollup_total()
            for pk in filter(None, owner.values()):
                assert SpendRecord.objects.filter(import_batch_id=pk).count() == 8
            raise _Rollback
    except _Rollback:
        pass
