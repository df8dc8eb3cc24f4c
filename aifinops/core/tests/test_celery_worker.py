"""A task sent through the real Redis broker to a real Celery worker process."""

import os
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.db import connection

from aifinops.celery import app as celery_app
from aifinops.core.tasks import ping
from aifinops.core.tests.factories import UserFactory

pytestmark = [
    pytest.mark.worker,
    pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL (make test provides it)"),
]


@pytest.fixture
def worker(transactional_db, tmp_path):
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "aifinops.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
    }
    log = (tmp_path / "worker.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "aifinops",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_task_round_trips_through_redis_and_a_real_worker(worker, settings):
    # Given three committed users and a worker on the real broker
    UserFactory.create_batch(3)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    celery_app.conf.task_always_eager = False
    try:
        # When the task is sent, not run in-process
        started = time.monotonic()
        result = ping.delay()
        value = result.get(timeout=60)
    finally:
        celery_app.conf.task_always_eager = True

    # Then another process ran it against the same database
    assert worker.poll() is None, "the worker died"
    assert value["pong"] is True
    assert value["users"] == 3
    assert result.successful()
    assert time.monotonic() - started < 60
