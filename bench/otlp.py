"""OTLP traces benchmark: GenAI spans per second accepted by POST /api/v1/otlp/v1/traces, against
usage events per second accepted by POST /api/v1/usage-events/ with the same records, in the
same run, on gunicorn with the production profile and a real Celery worker (scripts/with-services).

    scripts/with-services .venv/bin/python bench/otlp.py --seconds 10

Each request carries 512 records, the OpenTelemetry SDK's default export batch
(OTEL_BSP_MAX_EXPORT_BATCH_SIZE): 512 usage events (model, tokens, latency; costed from the
catalog) or 512 chat spans with the same model and tokens, as protobuf; then the same 512 chat
spans with 512 HTTP spans beside them (a service's whole trace stream, the others skipped). Every
record is new (fresh request, trace and span ids). Prints the figures, the ratio of spans/s to
events/s, and the machine's load; appends them to bench/results.md.
"""

import argparse
import asyncio
import datetime
import json
import os
import secrets
import signal
import subprocess
import sys
import time
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
from bench.usage import drive as usage_drive  # noqa: E402
from bench.usage import seed  # noqa: E402

BATCH = 512
INPUT, CACHED, OUTPUT = 1200, 200, 300


def usage_body(tag, conn, n, model):
    stamp = datetime.datetime.now(tz=datetime.UTC).isoformat().replace("+00:00", "Z")
    events = [
        {
            "request_id": f"{tag}-{conn}-{n}-{i}",
            "timestamp": stamp,
            "model": model,
            "input_tokens": INPUT - CACHED,
            "cached_tokens": CACHED,
            "output_tokens": OUTPUT,
            "latency_ms": 200 + i,
        }
        for i in range(BATCH)
    ]
    return json.dumps({"events": events}).encode()


def otlp_body(model, *, others):
    """(a function that makes a fresh body, the number of GenAI spans in it)."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import KeyValue

    provider, _, name = model.partition("/")

    def kv(key, value):
        item = KeyValue(key=key)
        if isinstance(value, int):
            item.value.int_value = value
        else:
            item.value.string_value = value
        return item

    def body():
        now = time.time_ns()
        message = ExportTraceServiceRequest()
        resource_spans = message.resource_spans.add()
        resource_spans.resource.attributes.extend([kv("service.name", "bench-bot")])
        spans = resource_spans.scope_spans.add().spans
        for i in range(BATCH):
            trace = secrets.token_bytes(16)
            span = spans.add(
                trace_id=trace, span_id=secrets.token_bytes(8), name=f"chat {name}", kind=3,
                start_time_unix_nano=now - 200_000_000 - i, end_time_unix_nano=now - i,
            )  # fmt: skip
            span.attributes.extend(
                [
                    kv("gen_ai.operation.name", "chat"),
                    kv("gen_ai.provider.name", provider),
                    kv("gen_ai.request.model", name),
                    kv("gen_ai.response.model", name),
                    kv("gen_ai.usage.input_tokens", INPUT),
                    kv("gen_ai.usage.cache_read.input_tokens", CACHED),
                    kv("gen_ai.usage.output_tokens", OUTPUT),
                ]
            )
            if others:
                other = spans.add(
                    trace_id=trace, span_id=secrets.token_bytes(8), name="GET /tickets/{id}", kind=2,
                    start_time_unix_nano=now - 300_000_000, end_time_unix_nano=now,
                )  # fmt: skip
                other.attributes.extend([kv("http.request.method", "GET"), kv("http.route", "/tickets/{id}")])
        return message.SerializeToString()

    return body


async def _connection(port, key, model, kind, tag, conn, stop_at, out):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    make = None if kind == "usage" else otlp_body(model, others=kind == "otlp-mixed")
    n = 0
    while time.perf_counter() < stop_at:
        if kind == "usage":
            body, path, media = usage_body(tag, conn, n, model), b"/api/v1/usage-events/", b"application/json"
        else:
            body, path, media = make(), b"/api/v1/otlp/v1/traces", b"application/x-protobuf"
        request = (
            b"POST " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-Proto: https\r\n"
            b"Authorization: Bearer " + key.encode() + b"\r\nContent-Type: " + media + b"\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )
        n += 1
        started = time.perf_counter()
        writer.write(request)
        try:
            head, answer = await read_response(reader)
        except (asyncio.IncompleteReadError, ConnectionError):
            out["errors"] += 1
            writer.close()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            continue
        out["latencies"].append(time.perf_counter() - started)
        if head[9:12] != b"200":
            out["errors"] += 1
            if len(out["samples"]) < 3:
                out["samples"].append((head + answer)[:300].decode(errors="replace"))
        elif kind == "usage":
            out["stored"] += json.loads(answer)["stored"]
        else:
            from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

            rejected = ExportTraceServiceResponse.FromString(answer).partial_success.rejected_spans
            out["stored"] += BATCH - rejected
            if rejected:
                out["errors"] += 1
                if len(out["samples"]) < 3:
                    out["samples"].append(
                        ExportTraceServiceResponse.FromString(answer).partial_success.error_message
                    )
    writer.close()


def drive(port, key, model, kind, seconds, connections):
    """bench/usage.py's load generator, each connection sending this module's requests."""
    return usage_drive(port, key, model, kind, seconds, connections, connection=_connection)


def measured(port, key, model, kind, seconds, connections, gunicorn):
    cpu_before, server_before = cpu_times(), tree_seconds(gunicorn.pid)
    run = drive(port, key, model, kind, seconds, connections)
    cpu_after, server_after = cpu_times(), tree_seconds(gunicorn.pid)
    capacity = run["wall"] * (os.cpu_count() or 1)
    run["busy"] = busy_pct(cpu_before, cpu_after)
    run["server_pct"] = 100 * (server_after - server_before) / capacity
    run["client_pct"] = 100 * run["cpu"] / capacity
    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-record", action="store_true", help="Do not append to bench/results.md.")
    args = parser.parse_args()

    env = production_env()
    key, _use_case_id, model = seed(env)
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
    runs = {}
    try:
        wait_ready(port)
        for kind in ("usage", "otlp"):  # warm every worker, create the month's partition
            drive(port, key, model, kind, 2, 2)
        load_before = os.getloadavg()
        for kind in ("usage", "otlp", "otlp-mixed"):
            runs[kind] = measured(port, key, model, kind, args.seconds, args.connections, gunicorn)
        load_after = os.getloadavg()
    finally:
        for proc in (gunicorn, worker):
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)

    labels = {
        "usage": f"POST /api/v1/usage-events/, {BATCH} events a batch (JSON)",
        "otlp": f"POST /api/v1/otlp/v1/traces, {BATCH} GenAI spans a request (protobuf)",
        "otlp-mixed": f"POST /api/v1/otlp/v1/traces, {BATCH} GenAI + {BATCH} HTTP spans a request",
    }
    for kind, run in runs.items():
        unit = "events/s" if kind == "usage" else "GenAI spans/s"
        print(
            f"{labels[kind]}: {run['per_s']:,.0f} {unit} accepted ({run['stored']:,} in "
            f"{run['n']:,} requests over {run['wall']:.1f} s), p50 {run['p50']:.0f} ms, "
            f"p99 {run['p99']:.0f} ms, {run['errors']} errors; "
            f"CPUs {run['busy']:.0f} % busy (gunicorn {run['server_pct']:.0f} %, load generator "
            f"{run['client_pct']:.0f} %)"
        )
    base = runs["usage"]["per_s"] or float("nan")
    ratio, mixed = runs["otlp"]["per_s"] / base, runs["otlp-mixed"]["per_s"] / base
    print(
        f"ratio of GenAI spans/s to usage events/s: {ratio:.2f}x; "
        f"with as many other spans beside: {mixed:.2f}x"
    )
    print(
        f"machine: {os.cpu_count()} CPUs, load average {load_before[0]:.2f} before and "
        f"{load_after[0]:.2f} after "
        f"(other work on the machine slows every figure); gunicorn {args.workers} workers x {args.threads} "
        f"threads, {args.connections} connections"
    )
    errors = sum(run["errors"] for run in runs.values())
    samples = [s for run in runs.values() for s in run["samples"]]
    if samples:
        print("sample errors:", samples)
    if not args.no_record:
        today = datetime.datetime.now(tz=datetime.UTC).date()
        line = (
            f"| {today} | {args.seconds} s each | {runs['usage']['per_s']:,.0f} | "
            f"{runs['otlp']['per_s']:,.0f} | "
            f"{ratio:.2f}x | {runs['otlp-mixed']['per_s']:,.0f} ({mixed:.2f}x) | {errors} | "
            f"{load_before[0]:.2f} → {load_after[0]:.2f} | {args.workers}x{args.threads} |"
        )
        results = ROOT / "bench" / "results.md"
        text = results.read_text() if results.exists() else "# Benchmark results\n"
        heading = (
            f"## OTLP traces (POST /api/v1/otlp/v1/traces against /api/v1/usage-events/, {BATCH} a request)"
        )
        if heading not in text:
            text = (
                text.rstrip("\n")
                + f"\n\n{heading}\n\n| date | run | usage events/s | GenAI spans/s | ratio | "
                "with as many other spans | errors | load (1 min avg) | gunicorn |\n"
                "|---|---|---|---|---|---|---|---|---|\n"
            )
        start = text.index(heading)
        end = text.find("\n\n", text.index("|---", start))
        end = len(text.rstrip("\n")) if end < 0 else end
        results.write_text(text[:end] + "\n" + line + text[end:] + ("" if text.endswith("\n") else "\n"))
    sys.exit(0 if not errors else 1)


if __name__ == "__main__":
    main()
