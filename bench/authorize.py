"""Authorization benchmark: gunicorn with the production profile on the PostgreSQL and Redis of
scripts/with-services, driven on loopback by an asyncio load generator (keep-alive connections,
a fixed time), first on /healthz as the baseline, then on POST /api/v1/authorize/.

    scripts/with-services .venv/bin/python bench/authorize.py --seconds 20

The use case has a hard-cap budget that runs out during the run, so both allows and denials are
measured; afterwards the allowed estimates are added up and must not pass the cap. Prints
throughput, p50 and p99 latency, errors, the ratio to the baseline and the machine's load (other
work on the machine slows every figure), and appends them to bench/results.md.
"""

import argparse
import asyncio
import datetime
import json
import multiprocessing
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_RPS, TARGET_P99_MS = 1000, 25
ESTIMATE = Decimal("0.001")
MODEL = "openai/bench-mini"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def production_env():
    if not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
        sys.exit("Run it through scripts/with-services: it needs DATABASE_URL and REDIS_URL.")
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="aifinops.settings.production",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    return env


def seed(env, cap):
    """Migrate, then create a use case with a hard cap and a gateway key; returns the key."""
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
    from showback.models import Budget

    team = TeamFactory(slug="bench", name="Bench")
    owner = UserFactory(username=f"bench-owner-{secrets.token_hex(3)}")
    use_case = UseCaseFactory(key=f"bench-{secrets.token_hex(3)}", team=team, business_owner=owner)
    provider = ProviderFactory(slug="openai", name="OpenAI")
    AIModelFactory(provider=provider, key="bench-mini", name="Bench mini")
    Budget.objects.create(
        name="Bench cap", scope="use_case", use_case=use_case, mode="hard_cap", amount=cap, owner=owner
    )
    _key, raw = gateway_key_create(use_case=use_case, actor=owner, name="bench")
    connections.close_all()
    return raw, use_case.pk


def wait_ready(port, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-Proto: https\r\n\r\n")
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not become ready")


# The load generator: N keep-alive connections, each sending one request at a time.


async def read_response(reader):
    """(head, body) of one HTTP/1.1 response on a kept-alive connection, read by its Content-Length.
    Raises asyncio.IncompleteReadError or ConnectionError when the server closes the connection."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    body = await reader.readexactly(length) if length else b""
    return head, body


async def _connection(port, make_request, stop_at, out):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    n = 0
    while True:
        now = time.perf_counter()
        if now >= stop_at:
            break
        writer.write(make_request(n))
        n += 1
        try:
            head, body = await read_response(reader)
        except (asyncio.IncompleteReadError, ConnectionError):
            out["errors"] += 1
            writer.close()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            continue
        elapsed = time.perf_counter() - now
        status = head[9:12]
        out["latencies"].append(elapsed)
        if status != b"200":
            out["errors"] += 1
            if len(out["samples"]) < 3:
                out["samples"].append((head + body)[:300].decode(errors="replace"))
        elif b'"decision":"deny"' in body:
            out["deny"] += 1
        else:
            out["allowed"] += 1
            if b'"decision":"warn"' in body:
                out["warn"] += 1
    writer.close()


def _drive(port, kind, key, seconds, connections, queue):
    tag = secrets.token_hex(4)

    def request(conn):
        def make(n):
            if kind == "healthz":
                return b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-Proto: https\r\n\r\n"
            body = json.dumps(
                {"model": MODEL, "estimated_cost": str(ESTIMATE), "request_id": f"{tag}-{conn}-{n}"}
            ).encode()
            return (
                b"POST /api/v1/authorize/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-Proto: https\r\n"
                b"Authorization: Bearer " + key.encode() + b"\r\nContent-Type: application/json\r\n"
                b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
            )

        return make

    out = {"latencies": [], "errors": 0, "allowed": 0, "warn": 0, "deny": 0, "samples": []}

    async def main():
        stop_at = time.perf_counter() + seconds
        await asyncio.gather(*(_connection(port, request(i), stop_at, out) for i in range(connections)))

    started = time.perf_counter()
    asyncio.run(main())
    out["wall"] = time.perf_counter() - started
    out["cpu"] = sum(os.times()[:2])
    queue.put(out)


def drive(port, kind, key, seconds, connections):
    """Run the load generator in a process of its own; returns its figures."""
    queue = multiprocessing.Queue()
    process = multiprocessing.Process(target=_drive, args=(port, kind, key, seconds, connections, queue))
    process.start()
    out = queue.get()
    process.join()
    lat = sorted(out["latencies"])
    n = len(lat)
    out["n"] = n
    out["rps"] = n / out["wall"]
    out["p50"] = lat[n // 2] * 1000 if n else float("nan")
    out["p99"] = lat[min(n - 1, int(n * 0.99))] * 1000 if n else float("nan")
    del out["latencies"]
    return out


def cpu_times():
    with open("/proc/stat") as handle:
        fields = [int(v) for v in handle.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields), idle


def busy_pct(before, after):
    total, idle = after[0] - before[0], after[1] - before[1]
    return 100 * (1 - idle / total) if total else 0.0


def tree_seconds(pid):
    """CPU seconds (user + system) used so far by a process and its descendants."""
    ticks, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    todo += [int(c) for c in handle.read().split()]
        except OSError:
            continue
    return ticks / os.sysconf("SC_CLK_TCK")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--baseline-seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--cap", default="5", help="The hard cap in USD (each call reserves $0.001).")
    parser.add_argument("--no-record", action="store_true", help="Do not append to bench/results.md.")
    args = parser.parse_args()

    env = production_env()
    cap = Decimal(args.cap)
    key, _use_case_id = seed(env, cap)
    import redis

    r = redis.Redis.from_url(env["REDIS_URL"])
    for name in r.scan_iter("gw:*"):
        r.delete(name)

    port = free_port()
    gunicorn = subprocess.Popen(  # noqa: S603 - our own gunicorn, fixed arguments
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "aifinops.wsgi:application",
            "--bind", f"127.0.0.1:{port}",
            "--workers", str(args.workers),
            "--worker-class", "gthread",
            "--threads", str(args.threads),
            "--keep-alive", "30",
            "--log-level", "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )  # fmt: skip
    try:
        wait_ready(port)
        drive(port, "authorize", key, 2, args.connections)  # warm every worker's caches
        for name in [*r.scan_iter("gw:cap:*"), *r.scan_iter("gw:capz:*"), *r.scan_iter("gw:capa:*")]:
            r.delete(name)  # the warm-up's reservations out of the way: the counter is rebuilt
        # ... from the ledger and the reservations written through, so theirs go too.
        from django.db import connections

        from showback.models import GatewayReservation

        GatewayReservation.objects.all().delete()
        connections.close_all()
        load_before = os.getloadavg()
        base = drive(port, "healthz", key, args.baseline_seconds, args.connections)
        cpu_before, server_before = cpu_times(), tree_seconds(gunicorn.pid)
        run = drive(port, "authorize", key, args.seconds, args.connections)
        cpu_after, server_after = cpu_times(), tree_seconds(gunicorn.pid)
        load_after = os.getloadavg()
    finally:
        os.killpg(gunicorn.pid, signal.SIGTERM)
        gunicorn.wait(timeout=30)

    allowed_spend = ESTIMATE * run["allowed"]
    overspend = allowed_spend > cap
    counter = {
        k.decode(): v.decode() for k, v in r.hgetall(next(iter(r.scan_iter("gw:cap:*")), "none")).items()
    }
    busy = busy_pct(cpu_before, cpu_after)
    # Shares of the machine's two CPUs during the authorize run: gunicorn, the load generator, and
    # everything else (Redis, PostgreSQL, other people's work).
    capacity = run["wall"] * (os.cpu_count() or 1)
    server_pct = 100 * (server_after - server_before) / capacity
    client_pct = 100 * run["cpu"] / capacity
    other_pct = max(busy - server_pct - client_pct, 0)
    ok = run["rps"] >= TARGET_RPS and run["p99"] <= TARGET_P99_MS and not run["errors"] and not overspend
    verdict = "met" if ok else "NOT met"
    print(
        f"baseline GET /healthz: {base['rps']:,.0f} req/s, p50 {base['p50']:.1f} ms, "
        f"p99 {base['p99']:.1f} ms, {base['errors']} errors"
    )
    print(
        f"POST /api/v1/authorize/: {run['rps']:,.0f} req/s, p50 {run['p50']:.1f} ms, "
        f"p99 {run['p99']:.1f} ms, {run['errors']} errors over {run['n']:,} calls "
        f"({run['allowed']:,} allowed of which {run['warn']:,} warn, {run['deny']:,} denied)"
    )
    print(
        f"ratio to baseline: throughput {run['rps'] / base['rps']:.2f}x, "
        f"p99 {run['p99'] / base['p99']:.2f}x; allowed spend ${allowed_spend} of the ${cap} cap "
        f"({'OVERSPENT' if overspend else 'never exceeded'}); cap counter {counter}"
    )
    print(
        f"machine: {os.cpu_count()} CPUs, load average {load_before[0]:.2f} before and "
        f"{load_after[0]:.2f} after; during the authorize run the CPUs were {busy:.0f} % busy: "
        f"gunicorn {server_pct:.0f} %, load generator {client_pct:.0f} %, everything else (Redis, "
        f"PostgreSQL, other work on the machine) {other_pct:.0f} %; gunicorn {args.workers} workers x "
        f"{args.threads} threads (gthread), {args.connections} connections"
    )
    print(f"target >= {TARGET_RPS:,} req/s, p99 <= {TARGET_P99_MS} ms, no errors, no overspend: {verdict}")
    if base["samples"] or run["samples"]:
        print("sample errors:", base["samples"] + run["samples"])

    today = datetime.datetime.now(tz=datetime.UTC).date()
    line = (
        f"| {today} | {args.seconds} s | {run['rps']:,.0f} | {run['p50']:.1f} / {run['p99']:.1f} ms | "
        f"{run['errors']} | {run['allowed']:,} / {run['deny']:,} | ${allowed_spend} of ${cap} | "
        f"{base['rps']:,.0f} req/s, p99 {base['p99']:.1f} ms | {run['rps'] / base['rps']:.2f}x | "
        f"{load_before[0]:.2f} → {load_after[0]:.2f}; {busy:.0f} % busy: server {server_pct:.0f} %, "
        f"client {client_pct:.0f} %, rest {other_pct:.0f} % | {args.workers}x{args.threads} |"
    )
    if args.no_record:
        sys.exit(0 if not overspend and not run["errors"] else 1)
    results = ROOT / "bench" / "results.md"
    text = results.read_text() if results.exists() else "# Benchmark results\n"
    heading = "## Authorization (POST /api/v1/authorize/ vs GET /healthz, production profile, loopback)"
    if heading not in text:
        section = (
            f"{heading}\n\n| date | run | req/s | p50 / p99 | errors | allowed / denied | allowed spend | "
            "baseline /healthz | ratio | load (1 min avg), CPU use during the run | gunicorn |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|\n\n"
        )
        # Before the ingest section, whose benchmark appends its rows at the end of the file.
        at = text.find("## Ingest")
        text = text[:at] + section + text[at:] if at >= 0 else text.rstrip("\n") + "\n\n" + section
    start = text.index(heading)
    end = text.find("\n\n", text.index("|---", start))
    end = len(text.rstrip("\n")) if end < 0 else end
    results.write_text(text[:end] + "\n" + line + text[end:] + ("" if text.endswith("\n") else "\n"))
    sys.exit(0 if not overspend and not run["errors"] else 1)


if __name__ == "__main__":
    main()
