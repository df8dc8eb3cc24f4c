"""The hard caps under production-like load: gunicorn (production profile, 4 workers) on the test
database and a Redis of the test's own, 200 concurrent clients, caps at use-case, team, customer
and tag level, and the Redis killed (SIGKILL, no persistence) and restarted mid-run.

Each client authorizes calls of $0.02 for one of two use cases of one team, for a customer and a
tag picked at random, and reports the usage of half of the calls it is allowed ($0.012, less than
the estimate, so settling frees room). Afterwards every scope's allowed money (the reported cost
of a call whose usage event was stored, else its estimate, which stays reserved) must be within
its cap to the cent. No Celery worker runs: the rollups lag behind the events all along, as they
do when the worker is slow or down, so a counter rebuilt after the restart must read the ledger.
"""

import http.client
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection

from portfolio.tests.factories import UseCaseFactory
from showback.models import UsageEvent

from .budget_factories import BudgetFactory
from .gateway_helpers import GatewayKeyFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(600)]

ROOT = Path(settings.BASE_DIR)
CLIENTS = 200
WORKERS = 4
ESTIMATE = Decimal("0.02")
ACTUAL = Decimal("0.012")
MODEL = "openai/gpt-mini"
CUSTOMERS = ["acme", "acme", "globex", ""]
TAGS = [{"project": "apollo"}, {"project": "apollo"}, {"project": "gemini"}, {}]
CAPS = {  # scope -> USD
    "use_case:a": Decimal("5.00"),
    "use_case:b": Decimal("5.00"),
    "team": Decimal("8.00"),
    "customer:acme": Decimal("3.00"),
    "tag:project=apollo": Decimal("2.50"),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OwnRedis:
    """A redis-server on a free port, without persistence, that the test kills and restarts."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.workdir = workdir
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [
                "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", str(self.workdir), "--save", "", "--appendonly", "no",
                "--daemonize", "no", "--logfile", str(self.workdir / "redis.log"),
            ],
            start_new_session=True,
        )  # fmt: skip
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if client.ping():
                    return
            except redis.RedisError:
                time.sleep(0.05)
        pytest.fail("redis-server did not start")

    def kill(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)


def database_url_of_the_test_db() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def start_gunicorn(redis_url: str, port: int, log_path: Path):
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="aifinops.settings.production",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=database_url_of_the_test_db(),
        REDIS_URL=redis_url,
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    env.pop("GATEWAY_REDIS_URL", None)
    log = open(log_path, "w")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"), "aifinops.wsgi:application",
            "--bind", f"127.0.0.1:{port}", "--workers", str(WORKERS),
            "--worker-class", "gthread", "--threads", "8", "--keep-alive", "30",
            "--timeout", "60", "--log-level", "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited:\n{log_path.read_text()[-3000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz", headers={"X-Forwarded-Proto": "https"})
            if conn.getresponse().status == 200:
                return process, log
        except OSError:
            pass
        time.sleep(0.3)
    pytest.fail(f"gunicorn did not become ready:\n{log_path.read_text()[-3000:]}")


def stop(process, log=None):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    if log:
        log.close()


class Load:
    """CLIENTS threads, each with its own keep-alive connection, until `stop` is set."""

    def __init__(self, port, keys):
        self.port = port
        self.keys = keys  # [(scope name, raw key)]
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.calls = []  # (use case, customer, tag value, request id, decision or status)
        self.reported = set()
        self.allowed_money = defaultdict(Decimal)  # running estimate, to time the Redis kill
        self.errors = 0
        self.reasons = defaultdict(int)

    def post(self, conn, key, path, body):
        payload = json.dumps(body)
        headers = {
            "Authorization": f"Bearer {key}",
            "Content-Type": "application/json",
            "X-Forwarded-Proto": "https",
        }
        conn.request("POST", path, payload, headers)
        response = conn.getresponse()
        return response.status, response.read()

    def client(self, n):
        rng = random.Random(n)
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        i = 0
        while not self.stop.is_set():
            use_case, key = rng.choice(self.keys)
            customer, tags = rng.choice(CUSTOMERS), rng.choice(TAGS)
            request_id = f"c{n}-{i}"
            i += 1
            body = {"model": MODEL, "request_id": request_id, "estimated_cost": str(ESTIMATE)}
            if customer:
                body["customer"] = customer
            if tags:
                body["tags"] = tags
            try:
                status, raw = self.post(conn, key, "/api/v1/authorize/", body)
                answer = json.loads(raw) if status == 200 else {}
                decision = answer.get("decision") if status == 200 else f"http{status}"
                reason = answer.get("reason", "")
            except (OSError, http.client.HTTPException, ValueError):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
                decision, reason = "unanswered", ""
            allowed = decision in ("allow", "warn")
            with self.lock:
                self.calls.append((use_case, customer, tags.get("project", ""), request_id, decision))
                self.reasons[f"{decision}:{reason}"] += 1
                if decision not in ("allow", "warn", "deny"):
                    self.errors += 1
                if allowed:
                    self.allowed_money["team"] += ESTIMATE
            if allowed and rng.random() < 0.5:
                event = {
                    "request_id": request_id,
                    "timestamp": datetime.now(UTC).isoformat(),
                    "model": MODEL,
                    "input_tokens": 100,
                    "output_tokens": 20,
                    "cost": str(ACTUAL),
                    "currency": "USD",
                    "status": "ok",
                }
                if customer:
                    event["customer"] = customer
                if tags:
                    event["tags"] = tags
                try:
                    status, _raw = self.post(conn, key, "/api/v1/usage-events/", {"events": [event]})
                    if status == 200:
                        with self.lock:
                            self.reported.add(request_id)
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
            time.sleep(rng.uniform(0.02, 0.1))
        conn.close()


def test_caps_hold_across_gunicorn_workers_and_a_redis_restart(cast, catalog, migration_data, tmp_path):
    team = cast.team_a
    use_cases = {
        "a": UseCaseFactory(key="mp-a", name="MP a", team=team, business_owner=cast.owner),
        "b": UseCaseFactory(key="mp-b", name="MP b", team=team, business_owner=cast.owner),
    }
    budgets = {}
    for name, uc in use_cases.items():
        budgets[f"use_case:{name}"] = BudgetFactory(
            scope="use_case", use_case=uc, mode="hard_cap", amount=CAPS[f"use_case:{name}"]
        )
    budgets["team"] = BudgetFactory(scope="team", team=team, mode="hard_cap", amount=CAPS["team"])
    budgets["customer:acme"] = BudgetFactory(
        scope="customer", customer="acme", mode="hard_cap", amount=CAPS["customer:acme"]
    )
    budgets["tag:project=apollo"] = BudgetFactory(
        scope="tag", tag_key="project", tag_value="apollo", mode="hard_cap", amount=CAPS["tag:project=apollo"]
    )
    keys = [
        (name, GatewayKeyFactory(use_case=uc, created_by=cast.owner).raw) for name, uc in use_cases.items()
    ]

    own_redis = OwnRedis(tmp_path)
    own_redis.start()
    port = free_port()
    gunicorn, log = start_gunicorn(own_redis.url, port, tmp_path / "gunicorn.log")
    load = Load(port, keys)
    threads = [threading.Thread(target=load.client, args=(n,), daemon=True) for n in range(CLIENTS)]
    timeline = {}
    try:
        started = time.monotonic()
        for t in threads:
            t.start()
        # Kill Redis once about a third of the team cap is allowed (or after 8 s), restart it 2 s later.
        while time.monotonic() - started < 8 and load.allowed_money["team"] < CAPS["team"] / 3:
            time.sleep(0.05)
        timeline["killed_at"] = round(time.monotonic() - started, 1)
        with load.lock:
            timeline["calls_before_kill"] = len(load.calls)
        own_redis.kill()
        time.sleep(2)
        own_redis.start()
        timeline["restarted_at"] = round(time.monotonic() - started, 1)
        time.sleep(12)
    finally:
        load.stop.set()
        for t in threads:
            t.join(timeout=30)
        stop(gunicorn, log)
        own_redis.kill()
    timeline["ended_at"] = round(time.monotonic() - started, 1)

    # What each allowed call may cost: its reported cost once its usage event is stored, else its
    # estimate (which stays reserved). Read the stored events from the database, not the answers.
    stored = dict(
        UsageEvent.objects.filter(use_case__in=use_cases.values()).values_list("request_id", "cost")
    )
    totals = defaultdict(Decimal)
    decisions = defaultdict(int)
    for use_case, customer, project, request_id, decision in load.calls:
        decisions[decision] += 1
        if decision not in ("allow", "warn"):
            continue
        money = stored.get(request_id, ESTIMATE)
        totals[f"use_case:{use_case}"] += money
        totals["team"] += money
        if customer == "acme":
            totals["customer:acme"] += money
        if project == "apollo":
            totals["tag:project=apollo"] += money
    assert not set(stored) - {c[3] for c in load.calls if c[4] in ("allow", "warn")}, (
        "usage stored for a call that was not allowed"
    )

    report = {scope: f"{totals[scope]} of {cap}" for scope, cap in CAPS.items()}
    print(
        f"\n{CLIENTS} clients on gunicorn x{WORKERS}: {len(load.calls)} authorizations "
        f"{dict(load.reasons)}, {len(stored)} usage events stored; timeline {timeline}; allowed {report}"
    )
    assert decisions["allow"] + decisions["warn"] > 0
    assert decisions["deny"] > 0
    for scope, cap in CAPS.items():
        assert totals[scope] <= cap, f"{scope}: {totals[scope]} allowed against a cap of {cap}"
    # The caps were reached, not merely untouched: the team's (the tightest overall) is nearly used.
    assert totals["team"] >= CAPS["team"] / 2, f"the team cap was hardly used: {report}"
