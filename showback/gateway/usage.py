"""Usage events: per-call telemetry from gateways and agent runtimes.

A batch is checked whole before anything is written: one bad event rejects the batch (422, with
each problem named by index and field), so a gateway fixes and resends it; resending is safe, as
request ids already stored are counted once. A good batch, in one transaction:

1. stores the new events (in their monthly partition on PostgreSQL);
2. adds them to the gateway's estimated spend: one SpendRecord (source "gateway") per day, use
   case, model and currency, then rebuilds the DailySpend rollup of the days touched with the
   importers' own `daily_spend_rebuild`, so budgets and pages see gateway spend like any other;
3. adds them to the hourly telemetry of their use case;

and once committed settles the matching reservations of the authorization endpoint in Redis.
"""

import datetime
import logging
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from aifinops.core import permissions
from aifinops.core.exceptions import Unprocessable
from portfolio.models import AIModel, UseCase

from ..models import SpendRecord
from ..services.rollups import daily_spend_rebuild
from . import counters as ctr
from . import telemetry
from .authorize import GatewayPrincipal
from .models import SUCCESSFUL_OUTCOMES, UsageEvent, UsageHourly, UsageOutcome, UsageStatus

logger = logging.getLogger(__name__)

MAX_BATCH = 1000
MILLION = Decimal(1_000_000)
OLDEST = datetime.timedelta(days=730)
NEWEST = datetime.timedelta(minutes=10)
# pg_advisory_xact_lock(class, id) classes: one lock per use case, one for partition DDL, one for
# the daily rollup (two rebuilds of the same day must not interleave).
LOCK_USE_CASE, LOCK_PARTITION, LOCK_ROLLUP = 734001, 734002, 734003

TEXT_FIELDS = {
    "request_id": 200,
    "use_case": 80,
    "agent_id": 100,
    "run_id": 200,
    "reservation_id": 200,
    "provider": 100,
    "model": 150,
}
COUNT_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "reasoning_tokens",
    "latency_ms",
    "retries",
    "tool_calls",
)
KNOWN_FIELDS = {
    *TEXT_FIELDS,
    *COUNT_FIELDS,
    "status",
    "cache_hit",
    "human_review",
    "outcome",
    "timestamp",
    "cost",
    "currency",
}


@dataclass
class Problems:
    items: list

    def add(self, index, field, message):
        self.items.append({"index": index, "field": field, "message": message})


def _count(value, index, name, problems, *, maximum=2**62):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        problems.add(index, name, "Must be a whole number.")
        return None
    if value < 0 or value > maximum:
        problems.add(index, name, f"Must be between 0 and {maximum}.")
        return None
    return value


def _bool(value, index, name, problems):
    if value is None:
        return False
    if not isinstance(value, bool):
        problems.add(index, name, "Must be true or false.")
        return False
    return value


def _event(raw, index, problems, now):
    """One event's fields, checked; problems are added to `problems`."""
    if not isinstance(raw, dict):
        problems.add(index, "", "Each event must be a JSON object.")
        return None
    start = len(problems.items)
    unknown = sorted(set(raw) - KNOWN_FIELDS)
    for name in unknown:
        problems.add(index, name, "Unknown field.")
    event = {}
    for name, size in TEXT_FIELDS.items():
        value = raw.get(name)
        if value is None:
            event[name] = ""
        elif not isinstance(value, str):
            problems.add(index, name, "Must be a string.")
        elif len(value) > size:
            problems.add(index, name, f"At most {size} characters.")
        else:
            event[name] = value.strip()
    if not event.get("request_id") and "request_id" not in {p["field"] for p in problems.items[start:]}:
        problems.add(index, "request_id", "Required: the id of the call, used to count it once.")
    for name in COUNT_FIELDS:
        event[name] = _count(
            raw.get(name), index, name, problems, maximum=32767 if name == "retries" else 2**62
        )
    status = raw.get("status") or UsageStatus.OK
    if status not in UsageStatus.values:
        problems.add(index, "status", f"Must be one of: {', '.join(UsageStatus.values)}.")
    event["status"] = status
    outcome = raw.get("outcome") or ""
    if outcome and outcome not in UsageOutcome.values:
        problems.add(index, "outcome", f"Must be empty or one of: {', '.join(UsageOutcome.values)}.")
    event["outcome"] = outcome
    event["cache_hit"] = _bool(raw.get("cache_hit"), index, "cache_hit", problems)
    event["human_review"] = _bool(raw.get("human_review"), index, "human_review", problems)
    stamp = raw.get("timestamp")
    when = parse_datetime(stamp) if isinstance(stamp, str) else None
    if when is None:
        problems.add(
            index, "timestamp", "Required: an ISO 8601 time with its offset, e.g. 2026-11-24T09:30:00Z."
        )
    elif timezone.is_naive(when):
        problems.add(index, "timestamp", "Give the offset (Z for UTC): a time without one is ambiguous.")
    elif not now - OLDEST <= when <= now + NEWEST:
        problems.add(index, "timestamp", "Must be within the last two years and not in the future.")
    else:
        event["occurred_at"] = when.astimezone(datetime.UTC)
    cost = raw.get("cost")
    event["cost"] = None
    if cost is not None:
        try:
            cost = Decimal(str(cost)) if not isinstance(cost, bool) else None
        except InvalidOperation:
            cost = None
        if cost is None or not cost.is_finite() or cost < 0 or cost >= Decimal("1e13"):
            problems.add(index, "cost", 'Must be a non-negative amount, e.g. "0.0042".')
        else:
            event["cost"] = cost
    currency = raw.get("currency") or ""
    if currency and (not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha()):
        problems.add(index, "currency", "A three-letter currency code, e.g. USD.")
    event["currency"] = currency.upper() if isinstance(currency, str) else ""
    return event if len(problems.items) == start else None


def _catalog(names):
    """{name: AIModel} for the names events give, by ref (provider/model) or bare model id."""
    names = {n for n in names if n}
    if not names:
        return {}
    found = {}
    models = list(AIModel.objects.select_related("provider").filter(ref__in=names))
    bare = names - {m.ref for m in models}
    by_key = defaultdict(list)
    for model in AIModel.objects.select_related("provider").filter(key__in=bare):
        by_key[model.key].append(model)
    for model in models:
        found[model.ref] = model
    for key, candidates in by_key.items():
        if len(candidates) == 1:
            found[key] = candidates[0]
    return found


def _list_price(model, event) -> Decimal:
    cached_price = model.cached_input_price_per_mtok
    if cached_price is None:
        cached_price = model.input_price_per_mtok
    return (
        Decimal(event["input_tokens"] or 0) * model.input_price_per_mtok
        + Decimal(event["cached_tokens"] or 0) * cached_price
        + Decimal(event["output_tokens"] or 0) * model.output_price_per_mtok
    ) / MILLION


def usage_events_parse(*, principal, events) -> list[dict]:
    """The batch checked whole: clean events with their use case and model, or Unprocessable (422)
    naming every problem by index and field. A key acting for another use case or agent is
    PermissionDenied (403)."""
    if not isinstance(events, list) or not events:
        raise Unprocessable(
            'Send {"events": [...]}, with 1 to 1,000 events.',
            [{"index": None, "field": "events", "message": "A non-empty list of events is required."}],
        )
    if len(events) > MAX_BATCH:
        raise Unprocessable(
            f"At most {MAX_BATCH:,} events per batch; this one has {len(events):,}.",
            [
                {
                    "index": None,
                    "field": "events",
                    "message": f"Split the batch: at most {MAX_BATCH:,} events.",
                }
            ],
        )
    now = timezone.now()
    problems = Problems([])
    parsed = [_event(raw, i, problems, now) for i, raw in enumerate(events)]
    gateway = principal if isinstance(principal, GatewayPrincipal) else None
    keys = {e["use_case"] for e in parsed if e and e["use_case"]}
    use_cases = {uc.key: uc for uc in UseCase.objects.filter(key__in=keys)}
    own = None
    if gateway is not None:
        own = UseCase.objects.filter(pk=gateway.use_case_id).first()
        if own is not None:
            use_cases[own.key] = own
    models = _catalog({e["model"] for e in parsed if e})
    for index, event in enumerate(parsed):
        if event is None:
            continue
        if gateway is not None:
            if event["use_case"] and event["use_case"] != own.key:
                raise PermissionDenied(
                    f"Event {index}: this key acts for the use case “{own.key}” only, "
                    f"not “{event['use_case']}”."
                )
            if gateway.agent and event["agent_id"] and event["agent_id"] != gateway.agent:
                raise PermissionDenied(f"Event {index}: this key acts for the agent “{gateway.agent}” only.")
            event["use_case_obj"] = own
            event["agent_id"] = event["agent_id"] or gateway.agent
        else:
            use_case = use_cases.get(event["use_case"])
            if not event["use_case"]:
                problems.add(index, "use_case", "Required with a personal token: the use case's key.")
                continue
            if use_case is None or not permissions.can_view_use_case(principal, use_case):
                problems.add(index, "use_case", f"No use case with the key “{event['use_case']}”.")
                continue
            if not permissions.can_report_usage(principal, use_case):
                raise PermissionDenied(
                    f"Event {index}: only the owners of “{use_case.key}”, finance and platform admins "
                    "report its usage."
                )
            event["use_case_obj"] = use_case
        model = models.get(event["model"])
        event["model_obj"] = model
        if event["cost"] is None:
            if model is None:
                problems.add(
                    index,
                    "cost",
                    "Give the cost: the model is not in the catalog, so it cannot be computed."
                    if event["model"]
                    else "Give the cost, or a catalog model to compute it from.",
                )
                continue
            event["cost"] = _list_price(model, event)
            event["cost_computed"] = True
            event["currency"] = event["currency"] or model.currency
        else:
            event["cost_computed"] = False
            event["currency"] = event["currency"] or (
                model.currency if model else event["use_case_obj"].currency
            )
    if problems.items:
        n = len({p["index"] for p in problems.items})
        raise Unprocessable(
            f"{n} of {len(events)} events are invalid; nothing was stored. Fix them and resend the batch.",
            problems.items,
        )
    return parsed


def _lock(*pairs):
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for klass, ident in sorted(pairs):
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [klass, ident])


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
    """Store a checked batch (see the module). Returns counts and each event's fate by index."""
    parsed = usage_events_parse(principal=principal, events=events)
    use_case_ids = {e["use_case_obj"].pk for e in parsed}
    _lock(*[(LOCK_USE_CASE, pk) for pk in use_case_ids])
    usage_partitions_ensure({e["occurred_at"].date().replace(day=1) for e in parsed})

    request_ids = {e["request_id"] for e in parsed}
    stored = set(
        UsageEvent.objects.filter(use_case_id__in=use_case_ids, request_id__in=request_ids).values_list(
            "use_case_id", "request_id"
        )
    )
    key_id = principal.key_id if isinstance(principal, GatewayPrincipal) else None
    fresh, fates, seen = [], [], set()
    for index, event in enumerate(parsed):
        ident = (event["use_case_obj"].pk, event["request_id"])
        if ident in stored or ident in seen:
            fates.append({"index": index, "request_id": event["request_id"], "status": "duplicate"})
            continue
        seen.add(ident)
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
        runs_before = _runs_seen(fresh)
        UsageEvent.objects.bulk_create([_usage_event(e, key_id) for e in fresh], batch_size=MAX_BATCH)
        _hourly_add(fresh, runs_before)
        days = _gateway_spend_add(fresh)
        _lock((LOCK_ROLLUP, 0))
        daily_spend_rebuild(start=min(days), end=max(days))
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


def _usage_event(event, key_id):
    model = event["model_obj"]
    return UsageEvent(
        occurred_at=event["occurred_at"],
        use_case=event["use_case_obj"],
        gateway_key_id=key_id,
        request_id=event["request_id"],
        agent_id=event["agent_id"],
        run_id=event["run_id"],
        provider_name=event["provider"] or (model.provider.name if model else ""),
        model=model,
        model_name=event["model"],
        input_tokens=event["input_tokens"] or 0,
        output_tokens=event["output_tokens"] or 0,
        cached_tokens=event["cached_tokens"] or 0,
        reasoning_tokens=event["reasoning_tokens"] or 0,
        latency_ms=event["latency_ms"],
        retries=event["retries"] or 0,
        tool_calls=event["tool_calls"] or 0,
        status=event["status"],
        cache_hit=event["cache_hit"],
        human_review=event["human_review"],
        outcome=event["outcome"],
        cost=event["cost"],
        currency=event["currency"],
        cost_computed=event["cost_computed"],
    )


def _run_of(event):
    # A call without a run id is a run (a task) of its own.
    return event["run_id"] or f"\x00{event['request_id']}"


def _runs_seen(fresh) -> set:
    """(use case, hour, run) already stored, for the runs of this batch: a run is counted once per
    hour it is active in."""
    groups = defaultdict(set)
    for event in fresh:
        if event["run_id"]:
            groups[(event["use_case_obj"].pk, _hour(event["occurred_at"]))].add(event["run_id"])
    seen = set()
    for (use_case_id, hour), runs in groups.items():
        for run_id in (
            UsageEvent.objects.filter(
                use_case_id=use_case_id,
                occurred_at__gte=hour,
                occurred_at__lt=hour + datetime.timedelta(hours=1),
                run_id__in=runs,
            )
            .values_list("run_id", flat=True)
            .distinct()
        ):
            seen.add((use_case_id, hour, run_id))
    return seen


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
        for name in ("input_tokens", "output_tokens", "cached_tokens", "reasoning_tokens"):
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
            "reasoning_tokens", "cost", "latency_count", "latency_hist",
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
        tokens_cached = sum(e["cached_tokens"] or 0 for e in events)
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
                tags={"use_case": use_case.key},
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
        ],
    )
    return {e["occurred_at"].date() for e in fresh}


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
        + (event["output_tokens"] or 0),
        "tool_calls": event["tool_calls"] or 0,
    }


def usage_settle(settlements):
    """Settle stored events in Redis: release each one's reservation, count its cost as spent on
    the caps of its use case (those of its currency whose period holds its day), and bring its
    run's counters to the actual tokens and tool calls. Without Redis the counters are rebuilt
    from the database when next needed."""
    from .policy import policy_get

    c = ctr.counters()
    if c is None or not settlements:
        return 0
    now_ms = int(timezone.now().timestamp() * 1000)
    try:
        policies = {pk: policy_get(pk, c, now_ms=now_ms) for pk in {s["use_case_id"] for s in settlements}}
        pipe = c.client.pipeline(transaction=False)
        for s in settlements:
            policy = policies.get(s["use_case_id"])
            caps = [
                f"gw:cap:{cap['id']}:{cap['start'].replace('-', '')}"
                for cap in (policy["caps"] if policy else [])
                if cap["currency"] == s["currency"] and cap["start"] <= s["day"].isoformat() <= cap["end"]
            ]
            c.settle_script(
                keys=[
                    ctr.reservation_key(s["use_case_id"], s["reservation"]),
                    ctr.run_key(s["use_case_id"], s["run_id"]),
                    *caps,
                ],
                args=[ctr.to_micro(s["cost"]), s["tokens"], s["tool_calls"]],
                client=pipe,
            )
        c.call(pipe.execute)
    except ctr.Unavailable as exc:
        logger.warning("gateway: could not settle %s usage events in Redis: %s", len(settlements), exc)
        return 0
    return len(settlements)
