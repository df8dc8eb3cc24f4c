"""The policy of a use case as the authorization endpoint needs it, built from the database once
per change and cached: in each process, and in Redis for the other processes.

A policy is plain data (JSON-safe): the use case, its active gateway keys, its agent policy, the
catalog's models with what the use case may use, and its caps (hard-cap budgets and the agent
spend cap) in their current period. It carries the versions it was built at; the authorization
script compares them with Redis on every call, so a change (a kill switch, a revoked key, a new
budget) is seen by the next authorization in every process.
"""

import contextlib
import datetime
import json
import logging
from decimal import Decimal

from django.db.models import F, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from portfolio.catalog import is_above_recommendation
from portfolio.models import AIModel, UseCase
from portfolio.pricing import price_pick

from ..budgets.selectors import CALL_CAP_SCOPES, CAPPING_SCOPES, CATALOG_CAP_SCOPES, period_bounds
from ..fx import rate_for, rates_into
from ..models import Budget, BudgetMode, BudgetScope, CustomerDailySpend, DailySpend, SpendRecord
from . import counters as ctr
from .controls import agent_policy_unsaved
from .models import AgentPolicy, GatewayKey, GatewayReservation, UsageRollupDirty

logger = logging.getLogger(__name__)

LOCAL_MAX = 10_000
_local_policies: dict[int, dict] = {}
_local_keys: dict[str, dict] = {}

POLICY_KEY = "gw:policy:{}"
KEY_RECORD = "gw:key:{}"


def _end_of_day_ms(now) -> int:
    tomorrow = datetime.datetime.combine(
        now.date() + datetime.timedelta(days=1), datetime.time.min, tzinfo=datetime.UTC
    )
    return int(tomorrow.timestamp() * 1000)


def _model_entry(model, *, allowed_ids, task_kind, today):
    # The price in force today (a negotiated one where the company has it): the policy is valid
    # until the end of the day, and a new price bumps the catalog's version.
    price = price_pick(model.prices.all(), on_date=today) or model
    return {
        "id": model.pk,
        "ref": model.ref,
        "name": model.name,
        "provider": model.provider.name,
        "provider_id": model.provider_id,
        "status": model.status,
        "tier": model.tier,
        "in": str(price.input_price_per_mtok),
        "out": str(price.output_price_per_mtok),
        "currency": price.currency,
        "routed": not allowed_ids or model.pk in allowed_ids,
        "above_tier": bool(task_kind) and is_above_recommendation(model, task_kind),
    }


def policy_build(use_case_id: int, *, version: str = "0:0", now=None) -> dict | None:
    """The policy of a use case from the database (None if there is no such use case)."""
    now = now or timezone.now()
    use_case = UseCase.objects.filter(pk=use_case_id).prefetch_related("ai_models").first()
    if use_case is None:
        return None
    agent = AgentPolicy.objects.filter(use_case=use_case).first() or agent_policy_unsaved(use_case)
    keys = dict(
        GatewayKey.objects.filter(use_case=use_case, revoked_at__isnull=True).values_list("pk", "agent")
    )
    allowed_ids = {m.pk for m in use_case.ai_models.all()}
    models, aliases = {}, {}
    for model in AIModel.objects.select_related("provider").prefetch_related("prices").filter(is_active=True):
        models[model.ref] = _model_entry(
            model, allowed_ids=allowed_ids, task_kind=use_case.task_kind, today=now.date()
        )
        aliases.setdefault(model.key, []).append(model.ref)
    for key, refs in aliases.items():
        # A bare model id names a catalog model only when one provider has it.
        if len(refs) == 1 and key not in models:
            models[key] = models[refs[0]]
    today = now.date()
    caps = []
    # A customer, tag, provider or model cap is in every use case's policy: it counts the calls that
    # name that customer, carry that tag, or go to that provider's models or to that model
    # (cap_applies), whichever use case makes them. A team, function or
    # portfolio cap is in the policy of every use case it holds, and counts every call of each.
    budgets = Budget.objects.filter(
        Q(use_case=use_case)
        | Q(scope__in=CALL_CAP_SCOPES + CATALOG_CAP_SCOPES)
        | Q(scope=BudgetScope.TEAM, team_id=use_case.team_id)
        | Q(scope=BudgetScope.FUNCTION, function=use_case.business_function)
        | Q(scope=BudgetScope.PORTFOLIO),
        active=True,
        mode=BudgetMode.HARD_CAP,
        scope__in=CAPPING_SCOPES,
    ).order_by("pk")
    for budget in budgets:
        start, end = period_bounds(budget.period, today)
        caps.append(
            {
                "id": f"b{budget.pk}",
                "budget_id": budget.pk,
                "name": budget.name,
                "limit": ctr.to_micro(budget.amount),
                "currency": budget.currency,
                "start": start.isoformat(),
                "end": end.isoformat(),
                "scope": budget.scope,
                "team": budget.team_id if budget.scope == BudgetScope.TEAM else None,
                "function": budget.function if budget.scope == BudgetScope.FUNCTION else None,
                "customer": budget.customer if budget.scope == BudgetScope.CUSTOMER else None,
                "tag": [budget.tag_key, budget.tag_value] if budget.scope == BudgetScope.TAG else None,
                "provider": budget.provider_id if budget.scope == BudgetScope.PROVIDER else None,
                "model": budget.model_id if budget.scope == BudgetScope.MODEL else None,
            }
        )
    if use_case.agent_spend_cap is not None:
        start, end = period_bounds("monthly", today)
        caps.append(
            {
                "id": f"a{use_case.pk}",
                "budget_id": None,
                "name": "Agent spend cap",
                "limit": ctr.to_micro(use_case.agent_spend_cap),
                "currency": use_case.currency,
                "start": start.isoformat(),
                "end": end.isoformat(),
                "scope": BudgetScope.USE_CASE,
            }
        )
    return {
        "version": version,
        "valid_until": _end_of_day_ms(now),
        "use_case": {
            "id": use_case.pk,
            "key": use_case.key,
            "name": use_case.name,
            "currency": use_case.currency,
        },
        "keys": {str(pk): agent_id for pk, agent_id in keys.items()},
        "kill_switch": agent.kill_switch,
        "kill_switch_reason": agent.kill_switch_reason,
        "approval_required": agent.approval_required,
        "approved": agent.approved,
        "limits": {
            "max_steps_per_run": agent.max_steps_per_run,
            "max_tool_calls_per_run": agent.max_tool_calls_per_run,
            "max_tokens_per_run": agent.max_tokens_per_run,
            "max_run_seconds": agent.max_run_seconds,
            "max_calls_per_minute": agent.max_calls_per_minute,
            "max_input_tokens_per_call": agent.max_input_tokens_per_call,
            "max_output_tokens_per_call": use_case.max_output_tokens,
            "max_batch_size": agent.max_batch_size,
            "tools": list(agent.allowed_tools or []) if agent.tools_restricted else None,
        },
        "warn_at_pct": agent.warn_at_pct,
        "routing": "use_case_models" if allowed_ids else "catalog",
        "models": models,
        "caps": caps,
        # Into each cap's currency, as recorded today: estimates in another currency are converted.
        "rates": rates_into({cap["currency"] for cap in caps}, today),
    }


def _versions(c, use_case_id) -> str:
    uc_ver, global_ver = c.mget([ctr.version_key(use_case_id), ctr.GLOBAL_VERSION_KEY])
    return f"{uc_ver or 0}:{global_ver or 0}"


def policy_get(use_case_id: int, c, *, now_ms: int, refresh=False) -> dict | None:
    """The policy of a use case: from this process, else from Redis, else built and stored;
    built from the database when `refresh` says the copy at hand turned out stale.

    Raises counters.Unavailable when Redis cannot be reached.
    """
    policy = None
    if not refresh:
        found = _local_policies.get(use_case_id)
        if found is not None and found["valid_until"] > now_ms:
            return found
        raw = c.get(POLICY_KEY.format(use_case_id))
        policy = json.loads(raw) if raw else None
    # Found stale (refresh): straight from the database, whatever copy Redis may still hold.
    if policy is None or policy["valid_until"] <= now_ms:
        version = _versions(c, use_case_id)
        policy = policy_build(use_case_id, version=version)
        if policy is None:
            return None
        ttl = max(policy["valid_until"] - now_ms, 1000)
        c.call(
            c.store_policy_script,
            keys=[ctr.version_key(use_case_id), ctr.GLOBAL_VERSION_KEY, POLICY_KEY.format(use_case_id)],
            args=[version, json.dumps(policy), ttl],
        )
    if len(_local_policies) >= LOCAL_MAX:
        _local_policies.clear()
    _local_policies[use_case_id] = policy
    return policy


def policy_forget(use_case_id: int):
    _local_policies.pop(use_case_id, None)


def key_record(key_hash: str, c) -> dict | None:
    """{id, use_case_id, agent} of an unrevoked-at-creation gateway key, by the hash of its secret.

    Whether it is still active is the policy's word (`keys`), which is versioned; this record
    never changes, so it is cached without expiry in the process and for a day in Redis.
    """
    found = _local_keys.get(key_hash)
    if found is not None:
        return found
    raw = None
    if c is not None:
        try:
            raw = c.get(KEY_RECORD.format(key_hash))
        except ctr.Unavailable:
            c = None
    if raw:
        found = json.loads(raw)
    else:
        row = GatewayKey.objects.filter(key_hash=key_hash).values("pk", "use_case_id", "agent").first()
        if row is None:
            return None
        found = {"id": row["pk"], "use_case_id": row["use_case_id"], "agent": row["agent"]}
        if c is not None:
            with contextlib.suppress(ctr.Unavailable):
                c.set(KEY_RECORD.format(key_hash), json.dumps(found), px=24 * 3600 * 1000)
    if len(_local_keys) >= LOCAL_MAX:
        _local_keys.clear()
    _local_keys[key_hash] = found
    return found


def cap_spent(policy: dict, cap: dict) -> Decimal:
    """What the ledger says a cap's scope spent in its period, in the cap's currency (spend in
    other currencies converted at the rate recorded for its day), for the rebuild of a missing
    counter and the reconciliation.

    The days whose rollup is behind the usage events (UsageRollupDirty: the worker has yet to run)
    are read from the spend records the usage request itself writes, the other days from the
    rollup built from them; in one statement, so the worker's rollup committing meanwhile can
    neither drop nor double a day. Usage settled and released in Redis never vanishes from a
    counter rebuilt or reconciled before the worker catches up, whatever the cap's scope.
    """
    start = datetime.date.fromisoformat(cap["start"])
    end = datetime.date.fromisoformat(cap["end"])
    behind = UsageRollupDirty.objects.filter(day__gte=start, day__lte=end).values("day")
    records = (
        SpendRecord.objects.filter(
            _scope_q(policy, cap),
            is_ai=True,
            charge_period_start__gte=_midnight(start),
            charge_period_start__lt=_midnight(end + datetime.timedelta(days=1)),
        )
        .annotate(day=TruncDate("charge_period_start", tzinfo=datetime.UTC))
        .order_by()
    )
    if cap.get("tag") is None:
        # Tag spend has no rollup (the rollups keep no tags): the records are read for every day.
        records = records.filter(day__in=behind)
    records = records.values("day", "currency").annotate(total=Sum("effective_cost"))
    if cap.get("tag") is None:
        rollup = CustomerDailySpend.objects.all() if cap.get("customer") is not None else DailySpend.objects
        if cap.get("customer") is None:
            rollup = rollup.filter(is_ai=True)
        rolled = (
            rollup.filter(_scope_q(policy, cap), date__gte=start, date__lte=end)
            .exclude(date__in=behind)
            .annotate(day=F("date"))
            .order_by()
            .values("day", "currency")
            .annotate(total=Sum("effective_cost"))
        )
        records = rolled.union(records, all=True)
    total, rates = Decimal("0"), {}
    for row in records:
        day, currency, amount = row["day"], row["currency"], row["total"]
        if not amount:
            continue
        if currency != cap["currency"] and (currency, day) not in rates:
            rates[currency, day] = rate_for(currency, cap["currency"], day)
        rate = Decimal(1) if currency == cap["currency"] else rates[currency, day]
        if rate is None:
            logger.error(
                "gateway: no %s>%s rate on %s: %s not counted on cap %s",
                currency,
                cap["currency"],
                day,
                amount,
                cap["id"],
            )
            continue
        total += amount * rate
    return total


def _midnight(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=datetime.UTC)


def _scope_q(policy: dict, cap: dict) -> Q:
    """The spend a cap counts, as a filter that both the spend records and the cap's rollup
    (DailySpend, or CustomerDailySpend for a customer cap) take: they share the field names."""
    scope = cap.get("scope", BudgetScope.USE_CASE)
    if cap.get("customer") is not None:
        return Q(customer=cap["customer"])
    if cap.get("tag") is not None:
        return Q(tags__contains={cap["tag"][0]: cap["tag"][1]})
    if cap.get("model") is not None:
        return Q(model_id=cap["model"])
    if cap.get("provider") is not None:
        return Q(provider_id=cap["provider"])
    if scope == BudgetScope.TEAM:
        return Q(team_id=cap["team"])
    if scope == BudgetScope.FUNCTION:
        return Q(use_case__business_function=cap["function"])
    if scope == BudgetScope.PORTFOLIO:
        return Q()
    return Q(use_case_id=policy["use_case"]["id"])


def cap_reserved(cap: dict, *, now_ms: int) -> list[tuple[str, int, int]]:
    """(reservation id, amount in micro-units, expiry in ms) of the cap's open reservations in the
    database: those written through by the authorization endpoint, not yet settled nor expired."""
    now = datetime.datetime.fromtimestamp(now_ms / 1000, tz=datetime.UTC)
    rows = GatewayReservation.objects.filter(
        cap=cap["id"], period_start=cap["start"], expires_at__gt=now
    ).values_list("reservation_id", "amount_micro", "expires_at")
    return [(rid, amount, int(expires_at.timestamp() * 1000)) for rid, amount, expires_at in rows]


def cap_applies(cap: dict, *, customer: str, tags: dict, model_id=None, provider_id=None) -> bool:
    """Whether a call counts against a cap: a customer cap counts only the calls naming its
    customer, a tag cap only those carrying its tag value, a model cap only the calls to that
    catalog model (`model_id`), a provider cap only those to its models (`provider_id`, the
    provider of the call's catalog model); the use case's caps count every call."""
    if cap.get("customer") is not None and cap["customer"] != customer:
        return False
    if cap.get("model") is not None and cap["model"] != model_id:
        return False
    if cap.get("provider") is not None and cap["provider"] != provider_id:
        return False
    tag = cap.get("tag")
    return tag is None or (tags or {}).get(tag[0]) == tag[1]


def known_model(policy: dict, name: str) -> dict | None:
    """The catalog entry a call names, by its ref (provider/model) or its bare model id."""
    return policy["models"].get(name) if name else None


def cap_amount(amount: Decimal, currency: str, cap: dict, day) -> Decimal:
    """An amount counted against a cap, in the cap's currency: converted at the rate recorded for
    `day`. Without a rate it cannot be counted (logged; the authorization refuses such estimates)."""
    if currency == cap["currency"]:
        return amount
    rate = rate_for(currency, cap["currency"], day)
    if rate is None:
        logger.error(
            "gateway: no %s>%s rate on %s: %s not counted on cap %s",
            currency,
            cap["currency"],
            day,
            amount,
            cap["id"],
        )
        return Decimal("0")
    return amount * rate
