"""Usage ingestion that keeps up: the request stores the events and marks their days; the worker
rebuilds the rollups. Nothing lost or counted twice, whatever the batches, and whatever happens to
the worker."""

import datetime
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from decimal import Decimal

import psycopg
import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from aifinops.core.exceptions import Unprocessable
from showback.gateway import rollups
from showback.gateway.authorize import GatewayPrincipal
from showback.gateway.models import UsageRequest, UsageRollupDirty
from showback.gateway.usage import usage_events_ingest
from showback.models import DailySpend, SpendRecord, UsageEvent, UsageHourly

from .gateway_helpers import bearer, event, iso

pytestmark = pytest.mark.django_db

URL = "/api/v1/usage-events/"


def principal(key):
    return GatewayPrincipal(key_id=key.pk, use_case_id=key.use_case_id, agent=key.agent)


def noon(days_ago):
    day = timezone.now().date() - datetime.timedelta(days=days_ago)
    return datetime.datetime.combine(day, datetime.time(12), tzinfo=datetime.UTC)


def daily(use_case):
    return {
        row["date"]: row["cost"]
        for row in DailySpend.objects.filter(use_case=use_case)
        .values("date")
        .annotate(cost=Sum("effective_cost"))
        .order_by()
    }


def test_the_request_stores_and_marks_and_the_worker_rolls_up(cast, gateway_key, redis_clean):
    # Given a batch over two days, posted without running what it queues
    response = bearer(gateway_key.raw).post(
        URL,
        {"events": [event("r1", cost="1.50"), event("r2", cost="0.25", timestamp=iso(noon(1)))]},
        format="json",
    )

    # Then the events are stored and their days marked, but no rollup was built in the request
    assert response.status_code == 200, response.content
    assert UsageEvent.objects.count() == 2
    today, yesterday = timezone.now().date(), noon(1).date()
    assert set(UsageRollupDirty.objects.values_list("use_case_id", "day")) == {
        (cast.use_case_a.pk, today),
        (cast.use_case_a.pk, yesterday),
    }
    assert not DailySpend.objects.exists()
    assert rollups.usage_rollups_lag() is not None

    # When the worker's task runs
    done = rollups.usage_rollups_catch_up()

    # Then the rollups hold the events and the marks are gone
    assert done == {"use_cases": 1, "days": 2}
    assert daily(cast.use_case_a) == {today: Decimal("1.5"), yesterday: Decimal("0.25")}
    assert not UsageRollupDirty.objects.exists()
    assert rollups.usage_rollups_lag() is None


def test_a_batch_queues_one_coalesced_rollup_run(
    cast, gateway_key, redis_clean, django_capture_on_commit_callbacks, monkeypatch
):
    from django.core.cache import cache

    sent = []
    monkeypatch.setattr("showback.gateway.tasks.usage_rollups.apply_async", lambda **kw: sent.append(kw))
    cache.delete(rollups.QUEUED_KEY)
    client = bearer(gateway_key.raw)

    with django_capture_on_commit_callbacks(execute=True):
        for i in range(3):
            client.post(URL, {"events": [event(f"r{i}")]}, format="json")

    # Three batches, one run queued: the run rebuilds every marked day
    assert sent == [{"countdown": rollups.DELAY_S}]
    cache.delete(rollups.QUEUED_KEY)


def test_a_day_marked_again_during_a_rebuild_stays_marked(cast, gateway_key, redis_clean, monkeypatch):
    # Given a marked day
    usage_events_ingest(principal=principal(gateway_key), events=[event("r1", cost="1")])
    rebuild = rollups.daily_spend_rebuild

    def rebuild_while_a_batch_arrives(**kwargs):
        rebuild(**kwargs)
        usage_events_ingest(principal=principal(gateway_key), events=[event("r2", cost="2")])

    # When a batch marks it again while the worker rebuilds it
    monkeypatch.setattr(rollups, "daily_spend_rebuild", rebuild_while_a_batch_arrives)
    rollups.usage_rollups_catch_up()

    # Then the mark stays, and the next run takes the new event in
    assert UsageRollupDirty.objects.get().version == 2
    monkeypatch.setattr(rollups, "daily_spend_rebuild", rebuild)
    rollups.usage_rollups_catch_up()
    assert daily(cast.use_case_a) == {timezone.now().date(): Decimal("3")}
    assert not UsageRollupDirty.objects.exists()


# Events of a small pool of request ids, on two days, some bad: batches resend ids across and
# within batches, and a batch with a bad event is refused whole.
EVENTS = st.fixed_dictionaries(
    {
        "id": st.sampled_from([f"r{i}" for i in range(6)]),
        "cents": st.integers(min_value=0, max_value=500),
        "days_ago": st.sampled_from([1, 2]),
        "bad": st.sampled_from([None, None, None, None, "timestamp", "input_tokens", "run_id"]),
    }
)


def _raw(spec):
    fields = {"cost": str(Decimal(spec["cents"]) / 100), "timestamp": iso(noon(spec["days_ago"]))}
    if spec["bad"] == "timestamp":
        fields["timestamp"] = "2026-02-30T12:00:00Z"
    elif spec["bad"] == "input_tokens":
        fields["input_tokens"] = 2**62
    elif spec["bad"] == "run_id":
        fields["run_id"] = "run\x00"
    return event(spec["id"], **fields)


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(st.lists(EVENTS, min_size=1, max_size=6), min_size=1, max_size=6))
def test_whatever_the_batches_nothing_is_lost_or_counted_twice(cast, gateway_key, redis_clean, batches):
    for model in (UsageEvent, UsageRequest, SpendRecord, DailySpend, UsageHourly, UsageRollupDirty):
        model.objects.all().delete()
    key = principal(gateway_key)
    accepted = {}  # request id -> (cost, day) of the first accepted event with that id

    for specs in batches:
        try:
            usage_events_ingest(principal=key, events=[_raw(s) for s in specs])
        except Unprocessable as refused:
            bad = {i for i, s in enumerate(specs) if s["bad"]}
            assert {d["index"] for d in refused.details} == bad
            continue
        assert not any(s["bad"] for s in specs)
        for s in specs:
            accepted.setdefault(s["id"], (Decimal(s["cents"]) / 100, noon(s["days_ago"]).date()))
        rollups.usage_rollups_catch_up()
    rollups.usage_rollups_catch_up()  # twice: the same rows

    expected = defaultdict(Decimal)
    for cost, day in accepted.values():
        expected[day] += cost
    stored = dict(UsageEvent.objects.values_list("request_id", "cost"))
    assert stored == {rid: cost for rid, (cost, _) in accepted.items()}
    assert daily(cast.use_case_a) == dict(expected)
    assert SpendRecord.objects.filter(source="gateway").aggregate(s=Sum("effective_cost"))["s"] == (
        sum(expected.values()) if expected else None
    )
    assert sum(UsageHourly.objects.values_list("calls", flat=True)) == len(accepted)
    assert not UsageRollupDirty.objects.exists()


def gateway_spend():
    return SpendRecord.objects.filter(source="gateway").aggregate(s=Sum("effective_cost"))["s"]


def test_an_id_resent_with_another_timestamp_is_a_duplicate(cast, gateway_key, redis_clean):
    key = principal(gateway_key)
    usage_events_ingest(principal=key, events=[event("same", cost="0.50", timestamp=iso(noon(1)))])

    again = usage_events_ingest(principal=key, events=[event("same", cost="0.50", timestamp=iso(noon(2)))])

    assert (again["stored"], again["duplicates"]) == (0, 1)
    assert UsageEvent.objects.count() == 1
    assert SpendRecord.objects.filter(source="gateway").aggregate(s=Sum("effective_cost"))["s"] == Decimal(
        "0.5"
    )


@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_of_the_same_ids_store_and_settle_each_once(
    cast, gateway_key, redis_clean, monkeypatch
):
    """Eight threads, each on its own connection, send the same 50 ids at once (in different
    orders): each id is stored once, its cost counted once, and no batch deadlocks."""
    import random
    import threading

    from showback.gateway import usage as usage_module

    key = principal(gateway_key)
    specs = [event(f"c{i}", cost="0.01", run_id=f"run-{i % 5}") for i in range(50)]
    settled, errors, lock = [], [], threading.Lock()
    start = threading.Barrier(8)

    def settle(settlements):
        with lock:
            settled.extend(s["reservation"] for s in settlements)

    def send(seed):
        batch = list(specs)
        random.Random(seed).shuffle(batch)
        try:
            start.wait()
            usage_events_ingest(principal=key, events=batch)
        except Exception as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    monkeypatch.setattr(usage_module, "usage_settle", settle)  # records what each commit settles
    threads = [threading.Thread(target=send, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert UsageEvent.objects.count() == 50
    assert sorted(settled) == sorted(f"c{i}" for i in range(50))
    assert SpendRecord.objects.filter(source="gateway").aggregate(s=Sum("effective_cost"))["s"] == Decimal(
        "0.5"
    )
    hourly = UsageHourly.objects.aggregate(calls=Sum("calls"), runs=Sum("runs"))
    assert (hourly["calls"], hourly["runs"]) == (50, 5)


def _start_worker(log_path):
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "aifinops.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": django_settings.REDIS_URL,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "aifinops", "worker", "--pool=solo", "--concurrency=1",
         "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=django_settings.BASE_DIR,
        env=env,
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
    )  # fmt: skip


def _rollup_waiting_on_the_lock(dsn) -> bool:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query ILIKE 'DELETE FROM \"showback_dailyspend\"%%'"
        ).fetchone()
    return row[0] > 0


@pytest.mark.worker
@pytest.mark.skipif(not django_settings.REDIS_URL, reason="needs REDIS_URL (make test provides it)")
def test_a_worker_killed_mid_rollup_loses_nothing(transactional_db, cast, gateway_key, tmp_path, monkeypatch):
    from aifinops.celery import app as celery_app
    from showback.gateway.tasks import usage_rollups

    db = connection.settings_dict
    dsn = f"postgresql://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    # Given committed events over two days, their days marked (and no run queued yet)
    monkeypatch.setattr("showback.gateway.usage.usage_rollups_enqueue", lambda: None)
    usage_events_ingest(
        principal=principal(gateway_key),
        events=[event(f"r{i}", cost="0.10", timestamp=iso(noon(1 + i % 2))) for i in range(200)],
    )
    assert UsageRollupDirty.objects.count() == 2
    # and another transaction holding the rollup table, so the worker's rebuild waits inside its own
    holder = psycopg.connect(dsn)
    holder.execute("LOCK TABLE showback_dailyspend IN SHARE ROW EXCLUSIVE MODE")
    celery_app.conf.task_always_eager = False
    first = _start_worker(tmp_path / "worker-1.log")
    second = None
    try:
        usage_rollups.delay()
        deadline = time.monotonic() + 60
        while not _rollup_waiting_on_the_lock(dsn):
            assert time.monotonic() < deadline, (tmp_path / "worker-1.log").read_text()[-2000:]
            assert first.poll() is None, "the worker died"
            time.sleep(0.2)

        # When the worker is killed mid-rollup, and the table is free again
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=20)
        holder.rollback()

        # Then its transaction is gone, the marks with it not
        assert UsageRollupDirty.objects.count() == 2
        assert not DailySpend.objects.exists()

        # When a worker starts again and the beat's run comes
        second = _start_worker(tmp_path / "worker-2.log")
        usage_rollups.delay().get(timeout=60)
    finally:
        celery_app.conf.task_always_eager = True
        holder.close()
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=20)

    # Then the rollups caught up: every event counted, once
    assert not UsageRollupDirty.objects.exists()
    assert daily(cast.use_case_a) == {noon(1).date(): Decimal("10.0"), noon(2).date(): Decimal("10.0")}
