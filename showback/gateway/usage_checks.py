"""Checking a batch of usage events: every problem named by index and field, or clean events with
their use case and model. Nothing here writes; `usage.usage_events_ingest` stores what passes."""

import datetime
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from aifinops.core import periods, permissions
from aifinops.core.api.parsers import text_problem
from aifinops.core.exceptions import Unprocessable
from portfolio.choices import PriceTier
from portfolio.models import AIModel, PriceBookEntry, UseCase
from portfolio.pricing import usage_cost

from ..fx import rate_for
from ..selectors import model_month_volumes
from .authorize import GatewayPrincipal
from .models import UsageOutcome, UsageStatus

MAX_BATCH = 1000
OLDEST = datetime.timedelta(days=730)
NEWEST = datetime.timedelta(minutes=10)

TEXT_FIELDS = {
    "request_id": 200,
    "use_case": 80,
    "agent_id": 100,
    "run_id": 200,
    "reservation_id": 200,
    "provider": 100,
    "model": 150,
    "customer": 150,
}
# The largest value each count may take: beyond any real call, and small enough that a day's sum
# of them fits the rollups' columns (bigint; integer for latency and tool calls).
COUNT_FIELDS = {
    "input_tokens": 10**9,
    "output_tokens": 10**9,
    "cached_tokens": 10**9,
    "cache_write_tokens": 10**9,
    "reasoning_tokens": 10**9,
    "latency_ms": 2**31 - 1,
    "retries": 32767,
    "tool_calls": 10**6,
}
STATUSES, OUTCOMES = frozenset(UsageStatus.values), frozenset(UsageOutcome.values)
# The service tier a call ran at, as providers name it: OpenAI's "default" and "auto" (a call
# answered "auto" ran at the project's default) are the standard tier, its "scale" tier the
# priority one. Anything else is refused, not costed at a guess.
SERVICE_TIERS = {
    **{tier: tier for tier in PriceTier.values},
    "default": PriceTier.STANDARD,
    "auto": PriceTier.STANDARD,
    "scale": PriceTier.PRIORITY,
}
SERVICE_TIER_PROBLEM = (
    f"Must be one of: {', '.join(PriceTier.values)} (or OpenAI's default and auto, or scale)."
)
# Per event, for the same reason: a day's sum must fit the rollups' money columns.
MAX_COST = Decimal("1e6")
KNOWN_FIELDS = {
    "tags",
    *TEXT_FIELDS,
    *COUNT_FIELDS,
    "status",
    "cache_hit",
    "human_review",
    "outcome",
    "service_tier",
    "timestamp",
    "cost",
    "currency",
}


@dataclass
class Problems:
    items: list

    def add(self, index, field, message):
        self.items.append({"index": index, "field": field, "message": message})


def _count(value, index, name, problems, *, maximum):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        problems.add(index, name, "Must be a whole number.")
        return None
    if value < 0 or value > maximum:
        problems.add(
            index, name, "Must be a whole number, 0 or more." if value < 0 else f"At most {maximum:,}."
        )
        return None
    return value


def _tags(value, index, problems) -> dict:
    """A flat object of string keys and values (at most 20), as the authorization took them: tag
    caps settle on them."""
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > 20:
        problems.add(index, "tags", "A flat object of at most 20 string keys and values.")
        return {}
    for key, item in value.items():
        for what, text, size in (("key", key, 100), ("value", item, 200)):
            if not isinstance(text, str) or not text or len(text) > size:
                problems.add(index, "tags", f"Each tag {what} is a string of 1 to {size} characters.")
                return {}
            if problem := text_problem(text):
                problems.add(index, "tags", problem)
                return {}
    return value


def _bool(value, index, name, problems):
    if value is None:
        return False
    if not isinstance(value, bool):
        problems.add(index, name, "Must be true or false.")
        return False
    return value


def service_tier_parse(value):
    """The price book's tier of a provider's service tier name (case and spaces aside), or None
    when it names no tier we know. No value is the standard tier."""
    if value is None or value == "":
        return PriceTier.STANDARD
    if not isinstance(value, str):
        return None
    return SERVICE_TIERS.get(value.strip().lower())


def _service_tier(value, index, problems):
    tier = service_tier_parse(value)
    if tier is None:
        problems.add(index, "service_tier", SERVICE_TIER_PROBLEM)
        return PriceTier.STANDARD
    return tier


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
        elif problem := text_problem(value):
            problems.add(index, name, problem)
        else:
            event[name] = value.strip()
    if not event.get("request_id") and "request_id" not in {p["field"] for p in problems.items[start:]}:
        problems.add(index, "request_id", "Required: the id of the call, used to count it once.")
    for name, maximum in COUNT_FIELDS.items():
        event[name] = _count(raw.get(name), index, name, problems, maximum=maximum)
    status = raw.get("status") or UsageStatus.OK
    if status not in STATUSES:
        problems.add(index, "status", f"Must be one of: {', '.join(UsageStatus.values)}.")
    event["status"] = status
    outcome = raw.get("outcome") or ""
    if outcome and outcome not in OUTCOMES:
        problems.add(index, "outcome", f"Must be empty or one of: {', '.join(UsageOutcome.values)}.")
    event["outcome"] = outcome
    event["service_tier"] = _service_tier(raw.get("service_tier"), index, problems)
    event["cache_hit"] = _bool(raw.get("cache_hit"), index, "cache_hit", problems)
    event["human_review"] = _bool(raw.get("human_review"), index, "human_review", problems)
    event["tags"] = _tags(raw.get("tags"), index, problems)
    stamp = raw.get("timestamp")
    try:
        when = parse_datetime(stamp) if isinstance(stamp, str) else None
    except ValueError:  # well formed, but no such time: 2026-02-30, 24:30
        when = None
        problems.add(index, "timestamp", "No such date or time (such as 2026-02-30 or 24:30).")
    if when is None:
        if not (problems.items[start:] and problems.items[-1]["field"] == "timestamp"):
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
        if cost is None or not cost.is_finite() or cost < 0:
            problems.add(index, "cost", 'Must be a non-negative amount, e.g. "0.0042".')
        elif cost >= MAX_COST:
            problems.add(index, "cost", f"Must be less than {MAX_COST:,.0f} for one call.")
        else:
            event["cost"] = cost
    currency = raw.get("currency") or ""
    if currency and (
        not isinstance(currency, str)
        or len(currency) != 3
        or not currency.isascii()
        or not currency.isalpha()
    ):
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
            event["cost_computed"] = True
        else:
            event["cost_computed"] = False
            event["currency"] = event["currency"] or (
                model.currency if model else event["use_case_obj"].currency
            )
    _costs_computed([e for e in parsed if e and e.get("cost_computed")])
    if not problems.items:
        _currencies_counted(parsed, problems)
    if problems.items:
        n = len({p["index"] for p in problems.items})
        raise Unprocessable(
            f"{n} of {len(events)} events are invalid; nothing was stored. Fix them and resend the batch.",
            problems.items,
        )
    return parsed


def _currencies_counted(parsed, problems):
    """Each event in another currency than a hard cap it counts against needs a rate recorded for
    its day into the cap's currency: usage the cap cannot count is refused (by index, `currency`),
    never stored uncounted."""
    from . import counters as ctr
    from .policy import cap_applies, policy_build, policy_get

    caps_of, rates = {}, {}
    c = ctr.counters()
    now_ms = int(timezone.now().timestamp() * 1000)
    for index, event in enumerate(parsed):
        use_case_id = event["use_case_obj"].pk
        if use_case_id not in caps_of:
            policy = None
            if c is not None:
                try:
                    policy = policy_get(use_case_id, c, now_ms=now_ms)
                except ctr.Unavailable:
                    policy = None
            policy = policy or policy_build(use_case_id)
            caps_of[use_case_id] = policy["caps"] if policy else []
        day = event["occurred_at"].date()
        for cap in caps_of[use_case_id]:
            if cap["currency"] == event["currency"] or not cap["start"] <= day.isoformat() <= cap["end"]:
                continue
            model = event["model_obj"]
            if not cap_applies(
                cap,
                customer=event["customer"],
                tags=event["tags"],
                model_id=model.pk if model else None,
                provider_id=model.provider_id if model else None,
            ):
                continue
            pair = (event["currency"], cap["currency"], day)
            if pair not in rates:
                rates[pair] = rate_for(*pair)
            if rates[pair] is None:
                problems.add(
                    index,
                    "currency",
                    f"No exchange rate from {event['currency']} to {cap['currency']} is recorded for "
                    f"{day:%Y-%m-%d}, and the hard cap “{cap['name']}” is in {cap['currency']}: "
                    f"report the cost in {cap['currency']}, or ask finance to record the rate.",
                )
                break


def _costs_computed(events) -> None:
    """Cost the events that bring none with the price book's price in force on their day, in one
    query for the prices of the batch's models (and one for their monthly volumes, only where a
    price has volume tiers: the ledger's month volume, `showback.selectors.model_month_volumes`,
    as recorded before the batch; a price change or an import re-costs at the month's final one)."""
    if not events:
        return
    prices = defaultdict(list)
    for price in PriceBookEntry.objects.filter(model__in={e["model_obj"].pk for e in events}):
        prices[price.model_id].append(price)
    volumes = {}
    tiered = {m for m, rows in prices.items() if any(p.volume_threshold for p in rows)}
    if tiered:
        volumes = model_month_volumes(
            model_ids=tiered,
            months={periods.month_start(e["occurred_at"].date()) for e in events},
        )
    for event in events:
        model, day = event["model_obj"], event["occurred_at"].date()
        costed = usage_cost(
            model,
            on_date=day,
            input_tokens=event["input_tokens"] or 0,
            cache_read_tokens=event["cached_tokens"] or 0,
            cache_write_tokens=event["cache_write_tokens"] or 0,
            output_tokens=event["output_tokens"] or 0,
            tier=event["service_tier"],
            monthly_volume=volumes.get((model.pk, periods.month_start(day)), 0),
            prices=prices[model.pk],
        )
        event["cost"] = costed.amount
        event["currency"] = event["currency"] or costed.currency
