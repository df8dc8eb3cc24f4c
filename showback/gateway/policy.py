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
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from portfolio.catalog import is_above_recommendation
from portfolio.models import AIModel, UseCase

from ..budgets.selectors import CAPPING_SCOPES, budget_statuses, period_bounds
from ..models import Budget, BudgetMode, DailySpend
from . import counters as ctr
from .models import AgentPolicy, GatewayKey

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


def _model_entry(model, *, allowed_ids, task_kind):
    return {
        "id": model.pk,
        "ref": model.ref,
        "name": model.name,
        "provider": model.provider.name,
        "status": model.status,
        "tier": model.tier,
        "in": str(model.input_price_per_mtok),
        "out": str(model.output_price_per_mtok),
        "currency": model.currency,
        "routed": not allowed_ids or model.pk in allowed_ids,
        "above_tier": bool(task_kind) and is_above_recommendation(model, task_kind),
    }


def policy_build(use_case_id: int, *, version: str = "0:0", now=None) -> dict | None:
    """The policy of a use case from the database (None if there is no such use case)."""
    now = now or timezone.now()
    use_case = UseCase.objects.filter(pk=use_case_id).prefetch_related("ai_models").first()
    if use_case is None:
        return None
    agent = AgentPolicy.objects.filter(use_case=use_case).first() or AgentPolicy(use_case=use_case)
    keys = dict(
        GatewayKey.objects.filter(use_case=use_case, revoked_at__isnull=True).values_list("pk", "agent")
    )
    allowed_ids = {m.pk for m in use_case.ai_models.all()}
    models, aliases = {}, {}
    for model in AIModel.objects.select_related("provider").filter(is_active=True):
        models[model.ref] = _model_entry(model, allowed_ids=allowed_ids, task_kind=use_case.task_kind)
        aliases.setdefault(model.key, []).append(model.ref)
    for key, refs in aliases.items():
        # A bare model id names a catalog model only when one provider has it.
        if len(refs) == 1 and key not in models:
            models[key] = models[refs[0]]
    today = now.date()
    caps = []
    budgets = Budget.objects.filter(
        use_case=use_case, active=True, mode=BudgetMode.HARD_CAP, scope__in=CAPPING_SCOPES
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
        },
        "warn_at_pct": agent.warn_at_pct,
        "routing": "use_case_models" if allowed_ids else "catalog",
        "models": models,
        "caps": caps,
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
    """What the database says a cap's scope spent in its period (AI spend, in the cap's currency):
    the same figure as the budget pages, for the rebuild of a missing counter."""
    if cap["budget_id"] is not None:
        budget = Budget.objects.get(pk=cap["budget_id"])
        return budget_statuses([budget])[budget.pk].actual
    total = DailySpend.objects.filter(
        use_case_id=policy["use_case"]["id"],
        is_ai=True,
        currency=cap["currency"],
        date__gte=cap["start"],
        date__lte=cap["end"],
    ).aggregate(total=Sum("effective_cost"))["total"]
    return total or Decimal("0")


def known_model(policy: dict, name: str) -> dict | None:
    """The catalog entry a call names, by its ref (provider/model) or its bare model id."""
    return policy["models"].get(name) if name else None
