"""Writes of the gateway: keys, agent controls, and moving what the endpoint queued in Redis (denials,
last use of keys) into the database. Usage events are written by `usage.py`.

Every change a person makes writes its audit event in the same transaction, and on commit bumps
the policy version in Redis so the next authorization in every process sees it.
"""

import datetime
import json
import logging
from collections import defaultdict
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils import timezone

from aifinops.core import permissions
from aifinops.core.audit import audit_record, snapshot

from . import counters as ctr
from .models import AgentPolicy, AuthorizationDecision, GatewayKey

logger = logging.getLogger(__name__)

KEY_FIELDS = ["use_case", "agent", "name", "prefix", "created_at", "revoked_at", "revoked_by"]
POLICY_FIELDS = [
    "kill_switch",
    "kill_switch_reason",
    "approval_required",
    "approved_at",
    "approved_by",
    "max_steps_per_run",
    "max_tool_calls_per_run",
    "max_tokens_per_run",
    "max_run_seconds",
    "max_calls_per_minute",
    "max_input_tokens_per_call",
    "max_batch_size",
    "tools_restricted",
    "allowed_tools",
    "warn_at_pct",
]
LIMIT_FIELDS = [
    "max_steps_per_run",
    "max_tool_calls_per_run",
    "max_tokens_per_run",
    "max_run_seconds",
    "max_calls_per_minute",
    "max_input_tokens_per_call",
    "max_batch_size",
    "tools_restricted",
    "allowed_tools",
    "warn_at_pct",
    "approval_required",
]


def policy_version_bump(*, use_case_ids=(), catalog=False):
    """After the transaction commits: bump the versions of these use cases' policies (or of every
    policy, for a catalog change) and drop the cached copies, so the next authorization rebuilds.

    Without Redis there is nothing to invalidate; with Redis unreachable the change still holds
    for the processes that fall back to the database, and is logged.
    """
    keys = [ctr.version_key(pk) for pk in use_case_ids if pk]
    if catalog:
        keys.append(ctr.GLOBAL_VERSION_KEY)
    if not keys:
        return

    def bump():
        c = ctr.counters()
        if c is None:
            return
        try:
            c.bump(keys, [f"gw:policy:{pk}" for pk in use_case_ids if pk])
        except ctr.Unavailable as exc:
            logger.error("gateway: could not bump policy versions %s: %s", keys, exc)

    transaction.on_commit(bump)


@transaction.atomic
def gateway_key_create(*, use_case, actor, name: str, agent: str = "") -> tuple[GatewayKey, str]:
    """Create a gateway key for a use case (or one agent of it). Returns the key and its secret,
    which is shown only once."""
    permissions.require(actor, permissions.CREATE_GATEWAY_KEYS, use_case)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Name the key after where it is used, e.g. litellm-prod."})
    key = GatewayKey(use_case=use_case, agent=(agent or "").strip(), name=name, created_by=actor)
    raw = key.set_key()
    key.save()
    audit_record(actor=actor, action="gateway_key.create", obj=key, after=snapshot(key, KEY_FIELDS))
    policy_version_bump(use_case_ids=[use_case.pk])
    return key, raw


@transaction.atomic
def gateway_key_revoke(*, key: GatewayKey, actor) -> GatewayKey:
    """Revoke a key: the next call with it is refused (401)."""
    permissions.require(actor, permissions.REVOKE_GATEWAY_KEYS, key.use_case)
    key = GatewayKey.objects.select_for_update().get(pk=key.pk)
    if key.revoked_at is not None:
        return key
    before = snapshot(key, KEY_FIELDS)
    key.revoked_at = timezone.now()
    key.revoked_by = actor
    key.save(update_fields=["revoked_at", "revoked_by"])
    audit_record(
        actor=actor, action="gateway_key.revoke", obj=key, before=before, after=snapshot(key, KEY_FIELDS)
    )
    policy_version_bump(use_case_ids=[key.use_case_id])
    return key


@transaction.atomic
def agent_policy_create(*, use_case, actor=None) -> AgentPolicy:
    """The use case's AgentPolicy, created with the defaults of its autonomy and external actions
    (controls.agent_defaults) if it has none yet; the audit event keeps the defaults and why."""
    from .controls import agent_defaults

    found = AgentPolicy.objects.filter(use_case=use_case).first()
    if found is not None:
        return found
    defaults = agent_defaults(use_case)
    policy, created = AgentPolicy.objects.get_or_create(use_case=use_case, defaults=defaults.values)
    if created:
        audit_record(
            actor=actor,
            action="agent_policy.create",
            obj=policy,
            after={**snapshot(policy, POLICY_FIELDS), "defaults_because": defaults.reasons},
        )
        policy_version_bump(use_case_ids=[use_case.pk])
    return policy


def _policy_for_update(use_case) -> AgentPolicy:
    agent_policy_create(use_case=use_case)
    return AgentPolicy.objects.select_for_update().get(use_case=use_case)


@transaction.atomic
def agent_policy_update(*, use_case, actor, spend_cap=None, max_output_tokens=False, **limits) -> AgentPolicy:
    """Set a use case's agent limits, monthly spend cap and per-call output-token cap (None: no
    limit; the output cap is the use case's own `max_output_tokens`, left as is unless given)."""
    permissions.require(actor, permissions.SET_AGENT_LIMITS, use_case)
    unknown = set(limits) - set(LIMIT_FIELDS)
    if unknown:
        raise ValueError(f"Not agent limits: {sorted(unknown)}")
    policy = _policy_for_update(use_case)
    before = {**snapshot(policy, POLICY_FIELDS), "agent_spend_cap": str(use_case.agent_spend_cap)}
    for name, value in limits.items():
        setattr(policy, name, value)
    if limits.get("approval_required") is False:
        policy.approved_at, policy.approved_by = None, None
    policy.full_clean(exclude=["use_case"])
    policy.save()
    if spend_cap != use_case.agent_spend_cap:
        if spend_cap is not None and spend_cap < 0:
            raise ValidationError({"spend_cap": "A spend cap cannot be negative."})
        use_case.agent_spend_cap = spend_cap
        use_case.save(update_fields=["agent_spend_cap", "updated_at"])
    before["max_output_tokens"] = use_case.max_output_tokens
    if max_output_tokens is not False and max_output_tokens != use_case.max_output_tokens:
        if max_output_tokens is not None and max_output_tokens < 1:
            raise ValidationError({"max_output_tokens": "Enter at least 1 output token, or leave it empty."})
        use_case.max_output_tokens = max_output_tokens
        use_case.save(update_fields=["max_output_tokens", "updated_at"])
    audit_record(
        actor=actor,
        action="agent_policy.update",
        obj=policy,
        before=before,
        after={
            **snapshot(policy, POLICY_FIELDS),
            "agent_spend_cap": str(use_case.agent_spend_cap),
            "max_output_tokens": use_case.max_output_tokens,
        },
    )
    policy_version_bump(use_case_ids=[use_case.pk])
    return policy


@transaction.atomic
def agent_kill_switch_set(
    *, use_case, actor, on: bool, reason: str = "", confirm: bool = False
) -> AgentPolicy:
    """Turn a use case's kill switch on (every authorization denied from the next call) or off.

    Either way round it needs `confirm`: the caller has shown what it does (the page says which
    keys and agents stop, or start again); without it a ValidationError names `confirm`."""
    permissions.require(actor, permissions.USE_KILL_SWITCH, use_case)
    reason = (reason or "").strip()
    if on and not reason:
        raise ValidationError({"reason": "Say why the agent is stopped: the log keeps it."})
    if not confirm:
        raise ValidationError(
            {
                "confirm": (
                    "Confirm the kill switch: every call of this use case is refused from the next one."
                    if on
                    else "Confirm turning the kill switch off: its calls are authorized again by their "
                    "limits and budgets."
                )
            }
        )
    policy = _policy_for_update(use_case)
    if policy.kill_switch == on:
        return policy
    before = snapshot(policy, POLICY_FIELDS)
    policy.kill_switch = on
    policy.kill_switch_reason = reason[:250]
    policy.kill_switch_at = timezone.now()
    policy.kill_switch_by = actor
    policy.save()
    audit_record(
        actor=actor,
        action="agent.kill_switch_on" if on else "agent.kill_switch_off",
        obj=policy,
        before=before,
        after=snapshot(policy, POLICY_FIELDS),
    )
    policy_version_bump(use_case_ids=[use_case.pk])
    return policy


@transaction.atomic
def agent_approve(*, use_case, actor) -> AgentPolicy:
    """A person approves an agent held at its approval gate: its calls are authorized again."""
    permissions.require(actor, permissions.APPROVE_AGENTS, use_case)
    policy = _policy_for_update(use_case)
    if not policy.approval_required:
        raise ValidationError("This agent has no approval gate: nothing to approve.")
    if policy.approved_at is not None:
        return policy
    before = snapshot(policy, POLICY_FIELDS)
    policy.approved_at = timezone.now()
    policy.approved_by = actor
    policy.save()
    audit_record(
        actor=actor, action="agent.approve", obj=policy, before=before, after=snapshot(policy, POLICY_FIELDS)
    )
    policy_version_bump(use_case_ids=[use_case.pk])
    return policy


# What the endpoint queued: denials and last use of keys.

_db_denials_at: dict[tuple, float] = {}
DB_DENIAL_EVERY_S = 10


def authorization_denial_record(*, use_case_id, key_id, reason, req, estimate, currency, failure_policy):
    """Log a denial straight to the database, when Redis (and its queue) is unavailable: at most
    one row per use case and reason every 10 s per process, so a flood of denials cannot flood
    the database too."""
    import time

    now = time.monotonic()
    slot = (use_case_id, reason)
    if now - _db_denials_at.get(slot, 0) < DB_DENIAL_EVERY_S:
        return None
    _db_denials_at[slot] = now
    with transaction.atomic():
        return AuthorizationDecision.objects.create(
            use_case_id=use_case_id,
            gateway_key_id=key_id,
            reason=reason,
            message=_message(reason),
            agent_id=req.agent_id[:100],
            run_id=req.run_id[:200],
            model_name=req.model[:150],
            estimated_cost=estimate,
            currency=currency,
            failure_policy=failure_policy,
        )


def _message(reason):
    from .authorize import MESSAGES

    return MESSAGES.get(reason, reason)[:300]


FLUSH_BATCH = 5000


def _parse_log(item: str):
    reason, ms, body = item.split("|", 2)
    data = json.loads(body)
    return reason, int(ms), data


def _storable(value, size: int) -> str:
    """Text a caller sent, made storable: NUL dropped, lone surrogates replaced, cut to size."""
    text = str(value or "").replace("\x00", "")
    return text.encode("utf-8", "replace").decode("utf-8")[:size]


def _fold_denial(folded: dict, item: str):
    reason, ms, data = _parse_log(item)
    reason = _storable(reason, 32)
    group = (
        int(data["u"]),
        int(data["k"]) if data.get("k") is not None else None,
        _storable(data.get("a"), 100),
        _storable(data.get("r"), 200),
        _storable(data.get("m"), 150),
        reason,
    )
    when = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC)
    row = folded.get(group)
    if row is not None:
        row.count += 1
        row.created_at = max(row.created_at, when)
        return
    cost = Decimal(str(data.get("c") or "0"))
    if not cost.is_finite() or not 0 <= cost < 10**12:
        raise ArithmeticError(f"estimated cost {cost}")
    folded[group] = AuthorizationDecision(
        created_at=when,
        use_case_id=group[0],
        gateway_key_id=group[1],
        reason=reason,
        message=_message(reason),
        agent_id=group[2],
        run_id=group[3],
        model_name=group[4],
        estimated_cost=cost,
        currency=_storable(data.get("cur") or "USD", 3),
    )


def _denials_insert(rows):
    """All the rows in one INSERT; should the database still refuse one, each row alone, so only
    that one is lost."""
    try:
        with transaction.atomic():
            AuthorizationDecision.objects.bulk_create(rows, batch_size=1000)
        return
    except DatabaseError:
        logger.exception("gateway: the denials' batch insert failed; inserting them one by one")
    for row in rows:
        row.pk = None
        try:
            with transaction.atomic():
                row.save(force_insert=True)
        except DatabaseError:
            logger.exception("gateway: denial not stored: %r", ascii(row.run_id))


def gateway_flush(*, batch=FLUSH_BATCH) -> dict:
    """Write the queued denials (folded per use case, key, run, model and reason) and the last use
    of keys to the database. Safe to run at any time and from several workers: each entry is taken
    off the queue once."""
    c = ctr.counters()
    if c is None:
        return {"denials": 0, "keys": 0}
    items = c.call(c.pop_script, keys=[ctr.LOG_KEY], args=[batch])
    used = c.call(c.take_hash_script, keys=[ctr.LAST_USED_KEY])
    folded = {}
    for item in items or ():
        try:
            _fold_denial(folded, item)
        except (ValueError, TypeError, ArithmeticError, AttributeError, OSError):
            # One entry the endpoint queued that the database cannot take must not cost the others
            # (they are already off the queue): it is logged and left out.
            logger.warning("gateway: unreadable denial %r", ascii(item[:200]))
    last_used = {}
    pairs = list(used or ())
    for key_id, ms in zip(pairs[::2], pairs[1::2], strict=True):
        last_used[int(key_id)] = datetime.datetime.fromtimestamp(int(ms) / 1000, tz=datetime.UTC)
    with transaction.atomic():
        from portfolio.models import UseCase

        live = set(
            UseCase.objects.filter(pk__in={r.use_case_id for r in folded.values()}).values_list(
                "pk", flat=True
            )
        )
        keys = set(
            GatewayKey.objects.filter(
                pk__in={r.gateway_key_id for r in folded.values()} | set(last_used)
            ).values_list("pk", flat=True)
        )
        rows = []
        for row in folded.values():
            if row.use_case_id in live:
                if row.gateway_key_id not in keys:
                    row.gateway_key_id = None
                rows.append(row)
        _denials_insert(rows)
        by_time = defaultdict(list)
        for key_id, when in last_used.items():
            if key_id in keys:
                by_time[when].append(key_id)
        for when, ids in by_time.items():
            GatewayKey.objects.filter(pk__in=ids).exclude(last_used_at__gte=when).update(last_used_at=when)
    return {"denials": len(rows), "keys": len(last_used)}
