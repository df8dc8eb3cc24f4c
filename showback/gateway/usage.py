"""Usage events: per-call telemetry from gateways and agent runtimes.

A batch is checked whole before anything is written: one bad event rejects the batch (422, with
each problem named by index and field), so a gateway fixes and resends it; resending is safe, as
request ids already stored are counted once. A good batch, in one transaction:

1. claims its request ids on a unique index (UsageRequest, ON CONFLICT DO NOTHING: an id claimed
   before is a duplicate) and stores the new events (in their monthly partition on PostgreSQL);
2. adds them to the gateway's estimated spend: one SpendRecord (source "gateway") per day, use
   case, model and currency, and marks the (use case, day) pairs touched, for the worker to
   rebuild their rollup rows with the importers' own `daily_spend_rebuild` (see `rollups.py`:
   the rebuild takes far longer than the rest of the batch, and one run serves many batches);
3. adds them to the hourly telemetry of their use case;

and once committed settles the matching reservations of the authorization endpoint in Redis.
"""

import datetime
import hashlib
import json
import logging
from collections import defaultdict
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, Q
from django.db.models.functions import TruncHour
from django.utils import timezone

from ..models import PRICED_TOKENS, SpendRecord
from . import counters as ctr
from . import telemetry
from .authorize import GatewayPrincipal
from .caps import reservations_settled
from .models import SUCCESSFUL_OUTCOMES, UsageEvent, UsageHourly, UsageOutcome, UsageRequest, UsageStatus
from .rollups import usage_rollups_enqueue, usage_rollups_mark
from .usage_checks import MAX_BATCH, usage_events_parse

logger = logging.getLogger(__name__)

# pg_advisory_xact_lock(class, id) classes: one lock per use case (held to the commit, it also keeps
# two rebuilds of a use case's rollup rows from interleaving), one for partition DDL, and one that
# every batch holds shared and the reconciliation of a cap shared by use cases (team, function,
# portfolio, customer, tag) exclusive, so no batch lands between its ledger read and correction.
LOCK_USE_CASE, LOCK_PARTITION, LOCK_ALL_USE_CASES = 734001, 734002, 734004


def _lock(*pairs):
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for klass, ident in sorted(pairs):
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [klass, ident])


def _lock_shared_all():
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s, 0)", [LOCK_ALL_USE_CASES])


def usage_partitions_ensure(months):
    """Create the monthly partitions of UsageEvent that `months` (first days) need. PostgreSQL only."""
    if connection.vendor != "postgresql":
        return
    names = {f"showback_usageevent_p{m:%Y_%m}": m for m in months}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM unnest(%s::text[]) AS name WHERE to_regclass(name) IS NULL", [list(names)]
        )
        missing = sorted(row[0] for row in cursor.fetchall())
        if not missing:
            return
        _lock((LOCK_PARTITION, 0))
        for name in missing:
            month = names[name]
            following = (month + datetime.timedelta(days=32)).replace(day=1)
            # Names and bounds formatted from validated dates, not from user text.
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF showback_usageevent FOR VALUES "
                f"FROM ('{month:%Y-%m-%d}T00:00:00+00:00') TO ('{following:%Y-%m-%d}T00:00:00+00:00')"
            )


def _hour(when):
    return when.replace(minute=0, second=0, microsecond=0)


@transaction.atomic
def usage_events_ingest(*, principal, events) -> dict:
    """Store a checked batch (see the module). Returns counts and each event's fate by index.

    Only the additions to the use cases' shared rows (telemetry, gateway spend) and the runs'
    first sighting wait for the use case's lock; the ids are claimed on a unique index and the
    events copied in before it, so concurrent batches of a use case overlap in that part.
    """
    parsed = usage_events_parse(principal=principal, events=events)
    use_case_ids = {e["use_case_obj"].pk for e in parsed}
    _lock_shared_all()
    usage_partitions_ensure({e["occurred_at"].date().replace(day=1) for e in parsed})

    claimed = usage_requests_claim({(e["use_case_obj"].pk, e["request_id"]) for e in parsed})
    key_id = principal.key_id if isinstance(principal, GatewayPrincipal) else None
    fresh, fates = [], []
    for index, event in enumerate(parsed):
        ident = (event["use_case_obj"].pk, event["request_id"])
        if ident not in claimed:
            fates.append({"index": index, "request_id": event["request_id"], "status": "duplicate"})
            continue
        claimed.discard(ident)  # a repeat within the batch is a duplicate too
        fresh.append(event)
        fates.append(
            {
                "index": index,
                "request_id": event["request_id"],
                "status": "stored",
                "cost": str(event["cost"].quantize(Decimal("0.000001"))),
                "currency": event["currency"],
            }
        )
    if fresh:
        received_at = timezone.now()
        _events_insert([_usage_row(e, key_id, received_at) for e in fresh])
        reservations_settled(fresh)
        usage_rollups_mark({(e["use_case_obj"].pk, e["occurred_at"].date()) for e in fresh})
        # From here to the commit, one batch of a use case at a time: its telemetry and spend rows
        # are read, added to and written back, and its runs counted once.
        _lock(*[(LOCK_USE_CASE, pk) for pk in use_case_ids])
        runs_before = _runs_seen(fresh)
        _hourly_add(fresh, runs_before)
        _gateway_spend_add(fresh)
        transaction.on_commit(usage_rollups_enqueue)
        settle = [_settlement(e) for e in fresh]
        transaction.on_commit(lambda: usage_settle(settle))
    totals = defaultdict(Decimal)
    for event in fresh:
        totals[event["currency"]] += event["cost"]
    return {
        "stored": len(fresh),
        "duplicates": len(parsed) - len(fresh),
        "cost": [
            {"amount": str(v.quantize(Decimal("0.000001"))), "currency": k} for k, v in sorted(totals.items())
        ],
        "events": fates,
    }


def usage_requests_claim(pairs) -> set:
    """The (use case id, request id) pairs of `pairs` not stored before: claimed in UsageRequest, in
    the caller's transaction. In a sorted order, so two batches claiming the same ids cannot
    deadlock."""
    pairs = sorted(pairs)
    if not pairs:
        return set()
    if connection.vendor != "postgresql":  # SQLite (make run): one writer at a time anyway
        stored = set(
            UsageRequest.objects.filter(
                use_case_id__in={u for u, _ in pairs}, request_id__in={r for _, r in pairs}
            ).values_list("use_case_id", "request_id")
        )
        fresh = [p for p in pairs if p not in stored]
        UsageRequest.objects.bulk_create([UsageRequest(use_case_id=u, request_id=r) for u, r in fresh])
        return set(fresh)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO showback_usagerequest (use_case_id, request_id) "
            "SELECT u, r FROM unnest(%s::bigint[], %s::text[]) AS t(u, r) ORDER BY u, r "
            "ON CONFLICT DO NOTHING RETURNING use_case_id, request_id",
            [[u for u, _ in pairs], [r for _, r in pairs]],
        )
        return set(cursor.fetchall())


def _events_insert(rows):
    """One bulk write of the new events (dicts of UsageEvent's columns by attribute name): COPY on
    PostgreSQL, bulk_create elsewhere. Rows rather than model instances: building 1,000
    instances took longer than the database spends storing their rows."""
    if connection.vendor != "postgresql":
        UsageEvent.objects.bulk_create([UsageEvent(**row) for row in rows], batch_size=MAX_BATCH)
        return
    from psycopg.types.json import Jsonb

    fields = [f for f in UsageEvent._meta.concrete_fields if not f.primary_key]
    names = [f.attname for f in fields]
    json_names = {f.attname for f in fields if f.get_internal_type() == "JSONField"}
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    sql = f"COPY {UsageEvent._meta.db_table} ({columns}) FROM STDIN"  # names from the model
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            for name in json_names:
                if row[name] is not None:
                    row[name] = Jsonb(row[name])
            copy.write_row([row[name] for name in names])


def _usage_row(event, key_id, received_at) -> dict:
    model = event["model_obj"]
    return {
        "occurred_at": event["occurred_at"],
        "received_at": received_at,
        "use_case_id": event["use_case_obj"].pk,
        "gateway_key_id": key_id,
        "request_id": event["request_id"],
        "agent_id": event["agent_id"],
        "run_id": event["run_id"],
        "provider_name": event["provider"] or (model.provider.name if model else ""),
        "model_id": model.pk if model else None,
        "model_name": event["model"],
        "input_tokens": event["input_tokens"] or 0,
        "output_tokens": event["output_tokens"] or 0,
        "cached_tokens": event["cached_tokens"] or 0,
        "cache_write_tokens": event["cache_write_tokens"] or 0,
        "reasoning_tokens": event["reasoning_tokens"] or 0,
        "service_tier": event["service_tier"],
        "latency_ms": event["latency_ms"],
        "retries": event["retries"] or 0,
        "tool_calls": event["tool_calls"] or 0,
        "status": event["status"],
        "cache_hit": event["cache_hit"],
        "human_review": event["human_review"],
        "outcome": event["outcome"],
        "cost": event["cost"],
        "currency": event["currency"],
        "cost_computed": event["cost_computed"],
        "customer": event["customer"],
        "tags": event["tags"],
    }


def _run_of(event):
    # A call without a run id is a run (a task) of its own.
    return event["run_id"] or f"\x00{event['request_id']}"


def _runs_seen(fresh) -> set:
    """(use case, hour, run) stored by earlier batches, for the runs of this batch: a run is
    counted once per hour it is active in. One query, however many hours the batch spans; called
    under the use case's lock, so a batch committed meanwhile is seen."""
    groups = defaultdict(set)
    for event in fresh:
        if event["run_id"]:
            groups[(event["use_case_obj"].pk, _hour(event["occurred_at"]))].add(event["run_id"])
    if not groups:
        return set()
    where = Q()
    for (use_case_id, hour), runs in groups.items():
        where |= Q(
            use_case_id=use_case_id,
            occurred_at__gte=hour,
            occurred_at__lt=hour + datetime.timedelta(hours=1),
            run_id__in=runs,
        )
    # The batch's own events are stored already (copied in before the lock): a run was seen before
    # when more of its events are stored in that hour than this batch brings.
    own = defaultdict(int)
    for event in fresh:
        if event["run_id"]:
            own[(event["use_case_obj"].pk, _hour(event["occurred_at"]), event["run_id"])] += 1
    stored = (
        UsageEvent.objects.filter(where)
        .annotate(hour=TruncHour("occurred_at", tzinfo=datetime.UTC))
        .values_list("use_case_id", "hour", "run_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {(u, h, r) for u, h, r, n in stored if n > own.get((u, h, r), 0)}


def _hourly_add(fresh, runs_before):
    groups = defaultdict(list)
    for event in fresh:
        groups[(event["use_case_obj"].pk, _hour(event["occurred_at"]), event["currency"])].append(event)
    existing = {
        (row.use_case_id, row.hour, row.currency): row
        for row in UsageHourly.objects.select_for_update().filter(
            use_case_id__in={k[0] for k in groups}, hour__in={k[1] for k in groups}
        )
    }
    to_create, to_update = [], []
    for (use_case_id, hour, currency), events in groups.items():
        row = existing.get((use_case_id, hour, currency))
        if row is None:
            row = UsageHourly(use_case_id=use_case_id, hour=hour, currency=currency, latency_hist=[])
            to_create.append(row)
        else:
            to_update.append(row)
        hist = [0] * telemetry.SLOTS
        runs = {_run_of(e) for e in events} - {
            r for (u, h, r) in runs_before if u == use_case_id and h == hour
        }
        row.calls += len(events)
        row.errors += sum(e["status"] != UsageStatus.OK for e in events)
        row.retried_calls += sum(bool(e["retries"]) for e in events)
        row.retries += sum(e["retries"] or 0 for e in events)
        row.cache_hits += sum(e["cache_hit"] for e in events)
        row.tool_calls += sum(e["tool_calls"] or 0 for e in events)
        row.runs += len(runs)
        row.tasks += sum(bool(e["outcome"]) for e in events)
        row.successes += sum(e["outcome"] in SUCCESSFUL_OUTCOMES for e in events)
        row.human_reviews += sum(e["human_review"] for e in events)
        row.accepted += sum(e["outcome"] == UsageOutcome.ACCEPTED for e in events)
        tokens = ("input_tokens", "output_tokens", "cached_tokens", "cache_write_tokens", "reasoning_tokens")
        for name in tokens:
            setattr(row, name, getattr(row, name) + sum(e[name] or 0 for e in events))
        row.cost += sum((e["cost"] for e in events), Decimal("0"))
        for event in events:
            if event["latency_ms"] is not None:
                hist[telemetry.bucket(event["latency_ms"])] += 1
                row.latency_count += 1
        row.latency_hist = telemetry.add(row.latency_hist, hist)
    UsageHourly.objects.bulk_create(to_create)
    UsageHourly.objects.bulk_update(
        to_update,
        [
            "calls", "errors", "retried_calls", "retries", "cache_hits", "tool_calls", "runs", "tasks",
            "successes", "human_reviews", "accepted", "input_tokens", "output_tokens", "cached_tokens",
            "cache_write_tokens", "reasoning_tokens", "cost", "latency_count", "latency_hist",
        ],
    )  # fmt: skip


def _gateway_spend_add(fresh) -> set:
    """Add the batch to the gateway's SpendRecords (one per day, use case, model and currency).
    Returns the days touched."""
    groups = defaultdict(list)
    for event in fresh:
        model = event["model_obj"]
        ident = model.ref if model else (event["model"] or "-")
        day = event["occurred_at"].date()
        key = f"{event['use_case_obj'].pk}:{day:%Y-%m-%d}:{ident}:{event['currency']}"
        if event["customer"] or event["tags"]:
            # A record per customer and tag set too, so customer and tag budgets read the spend.
            key += ":" + _customer_and_tags_digest(event)
        groups[key].append(event)
    existing = {
        r.source_row_key: r
        for r in SpendRecord.objects.select_for_update().filter(source="gateway", source_row_key__in=groups)
    }
    to_create, to_update = [], []
    for key, events in groups.items():
        first = events[0]
        cost = sum((e["cost"] for e in events), Decimal("0"))
        tokens_in = sum(e["input_tokens"] or 0 for e in events)
        # The ledger's cached tokens are the prompt cache's reads and writes, as the bills' are.
        tokens_cached = sum((e["cached_tokens"] or 0) + (e["cache_write_tokens"] or 0) for e in events)
        tokens_out = sum(e["output_tokens"] or 0 for e in events)
        record = existing.get(key)
        if record is None:
            use_case, model = first["use_case_obj"], first["model_obj"]
            day = first["occurred_at"].date()
            start = datetime.datetime.combine(day, datetime.time.min, tzinfo=datetime.UTC)
            record = SpendRecord(
                source="gateway",
                source_row_key=key,
                charge_period_start=start,
                charge_period_end=start + datetime.timedelta(days=1),
                provider=model.provider if model else None,
                provider_name=model.provider.name if model else first["provider"],
                service_name="AI gateway",
                model=model,
                model_name=model.key if model else first["model"],
                unit="tokens",
                currency=first["currency"],
                is_estimated=True,
                is_ai=True,
                tags={**first["tags"], "use_case": use_case.key},
                customer=first["customer"],
                use_case=use_case,
                team_id=use_case.team_id,
                environment=use_case.environment,
                attributed_by="gateway",
            )
            to_create.append(record)
        else:
            to_update.append(record)
        record.effective_cost += cost
        record.list_cost += cost
        record.input_tokens += tokens_in
        record.cached_tokens += tokens_cached
        record.output_tokens += tokens_out
        record.quantity += tokens_in + tokens_cached + tokens_out
        record.requests += len(events)
        priced = [e for e in events if e["cost_computed"]]
        if priced:
            # The record holds usage the price book costed: a price change re-costs it (from the
            # events), and the reconciliation names the price.
            counts = record.raw_extras.get(PRICED_TOKENS) or [0, 0, 0, 0]
            for e in priced:
                counts = [
                    a + (b or 0)
                    for a, b in zip(
                        counts,
                        (e["input_tokens"], e["cached_tokens"], e["cache_write_tokens"], e["output_tokens"]),
                        strict=True,
                    )
                ]
            record.raw_extras = {**record.raw_extras, PRICED_TOKENS: counts}
    SpendRecord.objects.bulk_create(to_create)
    SpendRecord.objects.bulk_update(
        to_update,
        [
            "effective_cost",
            "list_cost",
            "input_tokens",
            "cached_tokens",
            "output_tokens",
            "quantity",
            "requests",
            "raw_extras",
        ],
    )
    return {e["occurred_at"].date() for e in fresh}


def _customer_and_tags_digest(event) -> str:
    # A digest keeps source_row_key within its 200 characters whatever the customer and tags.
    raw = json.dumps([event["customer"], sorted(event["tags"].items())], ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()[:24]


def _settlement(event):
    use_case = event["use_case_obj"]
    return {
        "use_case_id": use_case.pk,
        "reservation": event["reservation_id"] or event["request_id"],
        "run_id": event["run_id"],
        "cost": event["cost"],
        "currency": event["currency"],
        "day": event["occurred_at"].date(),
        "tokens": (event["input_tokens"] or 0)
        + (event["cached_tokens"] or 0)
        + (event["cache_write_tokens"] or 0)
        + (event["output_tokens"] or 0),
        "tool_calls": event["tool_calls"] or 0,
        "customer": event["customer"],
        "tags": event["tags"],
        "model_id": event["model_obj"].pk if event["model_obj"] else None,
        "provider_id": event["model_obj"].provider_id if event["model_obj"] else None,
    }


# Keys per settling script call: a call runs atomically in Redis, so a batch is cut in pieces of
# a few hundred events, each a short pause for the authorizations waiting on Redis.
SETTLE_CHUNK_KEYS = 600


def usage_settle(settlements):
    """Settle stored events in Redis: release each one's reservation, count its cost as spent on
    the caps of its use case (those of its currency whose period holds its day), and bring its
    run's counters to the actual tokens and tool calls. Without Redis the counters are rebuilt
    from the database when next needed."""
    from .policy import cap_amount, cap_applies, policy_get

    c = ctr.counters()
    if c is None or not settlements:
        return 0
    now_ms = int(timezone.now().timestamp() * 1000)
    try:
        policies = {pk: policy_get(pk, c, now_ms=now_ms) for pk in {s["use_case_id"] for s in settlements}}
        pipe = c.client.pipeline(transaction=False)
        keys, args = [], []
        for s in settlements:
            policy = policies.get(s["use_case_id"])
            cap_keys, costs = [], []
            for cap in policy["caps"] if policy else []:
                if not cap["start"] <= s["day"].isoformat() <= cap["end"]:
                    continue
                # Released on every cap holding it; counted, in the cap's currency, where it applies.
                cost = 0
                if cap_applies(
                    cap,
                    customer=s["customer"],
                    tags=s["tags"],
                    model_id=s.get("model_id"),
                    provider_id=s.get("provider_id"),
                ):
                    cost = ctr.to_micro(cap_amount(s["cost"], s["currency"], cap, s["day"]))
                cap_keys += ctr.cap_keys(cap)
                costs.append(cost)
            keys += [
                ctr.reservation_key(s["use_case_id"], s["reservation"]),
                ctr.run_key(s["use_case_id"], s["run_id"]),
                *cap_keys,
            ]
            args += [s["reservation"], s["tokens"], s["tool_calls"], len(costs), *costs]
            if len(keys) >= SETTLE_CHUNK_KEYS:
                c.settle_many_script(keys=keys, args=args, client=pipe)
                keys, args = [], []
        if keys:
            c.settle_many_script(keys=keys, args=args, client=pipe)
        c.call(pipe.execute)
    except ctr.Unavailable as exc:
        logger.warning("gateway: could not settle %s usage events in Redis: %s", len(settlements), exc)
        return 0
    return len(settlements)
