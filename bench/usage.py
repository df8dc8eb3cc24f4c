"""Usage-ingestion benchmark: gunicorn with the production profile and a real Celery worker on the
PostgreSQL and Redis of scripts/with-services, driven on loopback with batches of 1,000 usage
events for a fixed time.

    scripts/with-services .venv/bin/python bench/usage.py --seconds 20

Baselines measured in the same run: GET /healthz (the HTTP stack alone), and the same 1,000 rows
written by plain multi-row INSERTs into a copy of the events table (the database's own ceiling
for these rows, with no parsing, costing, telemetry or settlement). Then sustained events/s
accepted by POST /api/v1/usage-events/, and the lag from the last accepted batch until the worker
has rebuilt every rollup it marked (checked: the rollup's total equals the events' total). Prints
the figures, the ratios, and the machine's load (other work on the machine slows every figure),
and appends them to bench/results.md.
"""

import argparse
import asyncio
import datetime
import json
import multiprocessing
import os
import secrets
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.authorize import (  # noqa: E402
    busy_pct,
    cpu_times,
    free_port,
    production_env,
    read_response,
    tree_seconds,
    wait_ready,
)

TARGET_EPS, TARGET_LAG_S = 10_000, 60
BATCH = 1000
COST = "0.000420"


def seed(env):
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v0"], cwd=ROOT, env=env, check=True
    )
    os.environ.update(env)
    import django

    django.setup()
    from django.db import connections

    from aifinops.core.tests.factories import UserFactory
    from portfolio.tests.factories import AIModelFactory, ProviderFactory, TeamFactory, UseCaseFactory
    from showback.gateway.services import gateway_key_create

    suffix = secrets.token_hex(3)
    team = TeamFactory(slug=f"bench-{suffix}", name=f"Bench usage {suffix}")
    owner = UserFactory(username=f"bench-owner-{secrets.token_hex(3)}")
    use_case = UseCaseFactory(key=f"bench-{secrets.token_hex(3)}", team=team, business_owner=owner)
    provider = ProviderFactory(slug=f"bench-{suffix}", name=f"Bench {suffix}")
    model = AIModelFactory(provider=provider, key="bench-mini", name="Bench mini")
    _key, raw = gateway_key_create(use_case=use_case, actor=owner, name="bench")
    connections.close_all()
    return raw, use_case.pk, model.ref


def batch_body(tag, conn, n, model):
    stamp = datetime.datetime.now(tz=datetime.UTC).isoformat().replace("+00:00", "Z")
    events = [
        {
            "request_id": f"{tag}-{conn}-{n}-{i}",
            "timestamp": stamp,
            "model": model,
            "run_id": f"run-{conn}-{n}-{i // 10}",
            "input_tokens": 1200,
            "output_tokens": 300,
            "latency_ms": 200 + i,
            "cost": COST,
        }
        for i in range(BATCH)
    ]
    return json.dumps({"events": events}).encode()


async def _connection(port, key, model, kind, tag, conn, stop_at, out):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    n = 0
    while time.perf_counter() < stop_at:
        if kind == "healthz":
            request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-Proto: https\r\n\r\n"
        else:
            body = batch_body(tag, conn, n, model)
            request = (
                b"POST /api/v1/usage-events/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-Proto: https\r\n"
                b"Authorization: Bearer " + key.encode() + b"\r\nContent-Type: application/json\r\n"
                b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
            )
        n += 1
        started = time.perf_counter()
        writer.write(request)
        try:
            head, body = await read_response(reader)
        except (asyncio.IncompleteReadError, ConnectionError):
            out["errors"] += 1
            writer.close()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            continue
        out["latencies"].append(time.perf_counter() - started)
        if head[9:12] != b"200":
            out["errors"] += 1
            if len(out["samples"]) < 3:
                out["samples"].append((head + body)[:300].decode(errors="replace"))
        elif kind == "usage":
            out["stored"] += json.loads(body)["stored"]
        else:
            out["stored"] += 1
    writer.close()


def _drive(port, key, model, kind, seconds, connections, queue, connection):
    tag = secrets.token_hex(4)
    out = {"latencies": [], "errors": 0, "stored": 0, "samples": []}

    async def main():
        stop_at = time.perf_counter() + seconds
        await asyncio.gather(
            *(connection(port, key, model, kind, tag, i, stop_at, out) for i in range(connections))
        )

    started = time.perf_counter()
    asyncio.run(main())
    out["wall"] = time.perf_counter() - started
    out["cpu"] = sum(os.times()[:2])
    queue.put(out)


def drive(port, key, model, kind, seconds, connections, connection=None):
    """Drive `connections` keep-alive connections for `seconds` from a second process, each running
    `connection` (this module's usage-event batches by default; bench/otlp.py passes its own)."""
    queue = multiprocessing.Queue()
    process = multiprocessing.Process(
        target=_drive, args=(port, key, model, kind, seconds, connections, queue, connection or _connection)
    )
    process.start()
    out = queue.get()
    process.join()
    lat = sorted(out.pop("latencies"))
    out["n"] = len(lat)
    out["per_s"] = out["stored"] / out["wall"]
    out["p50"] = lat[len(lat) // 2] * 1000 if lat else float("nan")
    out["p99"] = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000 if lat else float("nan")
    return out


BASELINE_COLUMNS = (
    "occurred_at, received_at, request_id, agent_id, run_id, provider_name, model_name, "
    "input_tokens, output_tokens, cached_tokens, reasoning_tokens, latency_ms, retries, "
    "tool_calls, status, cache_hit, human_review, outcome, cost, currency, cost_computed, "
    "use_case_id"
)


def _insert_baseline(dsn, seconds, queue):
    """Plain multi-row INSERTs of BATCH event rows into a copy of the events table."""
    import psycopg

    now = datetime.datetime.now(tz=datetime.UTC)
    stored = 0
    with psycopg.connect(dsn, autocommit=True) as conn:
        columns = BASELINE_COLUMNS
        row = "(%s, %s, %s, '', %s, 'bench', 'bench-mini', 1200, 300, 0, 0, %s, 0, 0, 'ok', false, false, '', %s, 'USD', false, 1)"  # noqa: E501
        sql = f"INSERT INTO bench_usage_baseline ({columns}) VALUES " + ", ".join([row] * BATCH)  # noqa: S608
        stop_at = time.perf_counter() + seconds
        started = time.perf_counter()
        n = 0
        while time.perf_counter() < stop_at:
            params = []
            tag = f"{os.getpid()}-{n}"
            for i in range(BATCH):
                params += [now, now, f"{tag}-{i}", f"run-{i // 10}", 200 + i, Decimal(COST)]
            with conn.transaction():
                conn.execute(sql, params)
            stored += BATCH
            n += 1
        queue.put((stored, time.perf_counter() - started))


def insert_baseline(dsn, seconds, connections):
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_usage_baseline")
        conn.execute("CREATE TABLE bench_usage_baseline (LIKE showback_usageevent INCLUDING ALL)")
        # Columns the rows below leave out (added since, with no database default) may be null.
        for (name,) in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'bench_usage_baseline' "
            "AND is_nullable = 'NO' AND column_default IS NULL AND is_identity = 'NO' "
            "AND NOT (column_name = ANY(%s))",
            [BASELINE_COLUMNS.split(", ")],
        ).fetchall():
            conn.execute(f'ALTER TABLE bench_usage_baseline ALTER COLUMN "{name}" DROP NOT NULL')
    queue = multiprocessing.Queue()
    procs = [
        multiprocessing.Process(target=_insert_baseline, args=(dsn, seconds, queue))
        for _ in range(connections)
    ]
    for proc in procs:
        proc.start()
    results = [queue.get() for _ in procs]
    for proc in procs:
        proc.join()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE bench_usage_baseline")
    return sum(s for s, _ in results) / max(w for _, w in results)


def rollup_state(dsn, use_case_id):
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        marks = conn.execute("SELECT count(*) FROM showback_usagerollupdirty").fetchone()[0]
        events = conn.execute(
            "SELECT count(*), coalesce(sum(cost), 0) FROM showback_usageevent WHERE use_case_id = %s",
            [use_case_id],
        ).fetchone()
        rolled = conn.execute(
            "SELECT coalesce(sum(effective_cost), 0), coalesce(sum(requests), 0) FROM showback_dailyspend "
            "WHERE use_case_id = %s",
            [use_case_id],
        ).fetchone()
    return marks, events, rolled


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--baseline-seconds", type=int, default=6)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-record", action="store_true", help="Do not append to bench/results.md.")
    args = parser.parse_args()

    env = production_env()
    key, use_case_id, model = seed(env)
    from django.db import connection

    db = connection.settings_dict
    dsn = f"postgresql://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    if db.get("PASSWORD"):
        dsn = f"postgresql://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"

    port = free_port()
    gunicorn = subprocess.Popen(  # noqa: S603 - our own gunicorn, fixed arguments
        [
            str(Path(sys.executable).parent / "gunicorn"), "aifinops.wsgi:application",
            "--bind", f"127.0.0.1:{port}", "--workers", str(args.workers), "--worker-class", "gthread",
            "--threads", str(args.threads), "--keep-alive", "30", "--log-level", "warning",
        ],
        cwd=ROOT, env=env, start_new_session=True,
    )  # fmt: skip
    worker = subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "aifinops", "worker", "--pool=solo",
            "--loglevel=WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat",
        ],
        cwd=ROOT, env=env, start_new_session=True,
    )  # fmt: skip
    try:
        wait_ready(port)
        drive(port, key, model, "usage", 2, 2)  # warm every worker, create the month's partition
        load_before = os.getloadavg()
        health = drive(port, key, model, "healthz", args.baseline_seconds, args.connections)
        inserts = insert_baseline(dsn, args.baseline_seconds, args.connections)
        cpu_before, server_before = cpu_times(), tree_seconds(gunicorn.pid)
        run = drive(port, key, model, "usage", args.seconds, args.connections)
        ended = time.perf_counter()
        cpu_after, server_after = cpu_times(), tree_seconds(gunicorn.pid)
        lag = None
        while time.perf_counter() - ended < 300:
            marks, (n_events, total), (rolled, requests) = rollup_state(dsn, use_case_id)
            if marks == 0 and rolled == total and requests == n_events:
                lag = time.perf_counter() - ended
                break
            time.sleep(0.25)
        load_after = os.getloadavg()
    finally:
        for proc in (gunicorn, worker):
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)

    busy = busy_pct(cpu_before, cpu_after)
    capacity = run["wall"] * (os.cpu_count() or 1)
    server_pct = 100 * (server_after - server_before) / capacity
    client_pct = 100 * run["cpu"] / capacity
    other_pct = max(busy - server_pct - client_pct, 0)
    ok = run["per_s"] >= TARGET_EPS and lag is not None and lag <= TARGET_LAG_S and not run["errors"]
    print(f"baseline GET /healthz: {health['per_s']:,.0f} req/s, p99 {health['p99']:.1f} ms")
    print(
        f"baseline plain INSERT of {BATCH:,}-row batches ({args.connections} connections): "
        f"{inserts:,.0f} rows/s"
    )
    print(
        f"POST /api/v1/usage-events/ in batches of {BATCH:,}: {run['per_s']:,.0f} events/s accepted "
        f"({run['stored']:,} events in {run['n']:,} batches over {run['wall']:.1f} s), batch p50 "
        f"{run['p50']:.0f} ms, p99 {run['p99']:.0f} ms, {run['errors']} errors"
    )
    print(
        f"ratio to the plain INSERT: {run['per_s'] / inserts:.2f}x; rollups caught up "
        + (f"{lag:.1f} s after the last batch" if lag is not None else "NOT within 300 s")
        + f" (rollup total = events total: {lag is not None})"
    )
    print(
        f"machine: {os.cpu_count()} CPUs, load average {load_before[0]:.2f} before and "
        f"{load_after[0]:.2f} after; during the usage run the CPUs were {busy:.0f} % busy: gunicorn "
        f"{server_pct:.0f} %, load generator {client_pct:.0f} %, everything else (PostgreSQL, Redis, "
        f"the Celery worker, other work on the machine) {other_pct:.0f} %; gunicorn {args.workers} "
        f"workers x {args.threads} threads, {args.connections} connections"
    )
    print(
        f"target >= {TARGET_EPS:,} events/s accepted, rollups caught up within {TARGET_LAG_S} s: "
        + ("met" if ok else "NOT met")
    )
    if health["samples"] or run["samples"]:
        print("sample errors:", health["samples"] + run["samples"])
    if not args.no_record:
        today = datetime.datetime.now(tz=datetime.UTC).date()
        line = (
            f"| {today} | {args.seconds} s | {run['per_s']:,.0f} | {run['p50']:.0f} / {run['p99']:.0f} ms | "
            f"{run['errors']} | {f'{lag:.1f} s' if lag is not None else 'not caught up'} | "
            f"{inserts:,.0f} rows/s; /healthz {health['per_s']:,.0f} req/s | {run['per_s'] / inserts:.2f}x | "
            f"{load_before[0]:.2f} → {load_after[0]:.2f}; {busy:.0f} % busy: server {server_pct:.0f} %, "
            f"client {client_pct:.0f} %, rest {other_pct:.0f} % | {args.workers}x{args.threads} |"
        )
        results = ROOT / "bench" / "results.md"
        text = results.read_text() if results.exists() else "# Benchmark results\n"
        heading = "## Usage ingestion (POST /api/v1/usage-events/, batches of 1,000, production profile)"
        if heading not in text:
            text = (
                text.rstrip("\n") + f"\n\n{heading}\n\n| date | run | events/s | batch p50 / p99 | errors | "
                "rollup lag | baseline | ratio | load (1 min avg), CPU use during the run | gunicorn |\n"
                "|---|---|---|---|---|---|---|---|---|---|\n"
            )
        start = text.index(heading)
        end = text.find("\n\n", text.index("|---", start))
        end = len(text.rstrip("\n")) if end < 0 else end
        results.write_text(text[:end] + "\n" + line + text[end:] + ("" if text.endswith("\n") else "\n"))
    sys.exit(0 if not run["errors"] and lag is not None else 1)


if __name__ == "__main__":
    main()
