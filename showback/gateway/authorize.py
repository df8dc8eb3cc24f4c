"""The authorization decision: may this call of this use case (or agent) go ahead?

Policy checks (kill switch, approval gate, the model's catalog status and the use case's model
list) are read from the cached policy; counters (rate, run limits, caps and reservations) are
checked and changed by one Lua script in Redis. With a warm cache a decision is one Redis round
trip and no database query. Denials are queued in Redis and written to the database in batches
(services.gateway_flush).
"""

import datetime
import json
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, connection
from django.http import Http404

from aifinops.core import permissions
from portfolio.choices import ModelStatus
from portfolio.models import UseCase

from ..fx import is_currency
from . import counters as ctr
from .models import GatewayReservation
from .policy import (
    cap_applies,
    cap_reserved,
    cap_spent,
    known_model,
    policy_build,
    policy_forget,
    policy_get,
)

MILLION = Decimal(1_000_000)

MESSAGES = {
    "ok": "Within the policy and the budgets.",
    "already_reserved": "This request was authorized before; its reservation still holds.",
    "kill_switch": "The kill switch of this use case is on: every call is refused.",
    "approval_required": "This agent waits for a person's approval on its use-case page.",
    "model_unknown": "The model is not in the catalog: use a catalog model id (provider/model).",
    "model_blocked": "The catalog blocks this model.",
    "model_not_routed": "The model is outside this use case's routing policy (its list of models).",
    "rate_limited": "The use case's calls-per-minute limit is reached: retry in the next minute.",
    "run_step_limit": "This run has made as many model calls as one run may.",
    "run_tool_call_limit": "This run would pass its tool-call limit.",
    "run_token_limit": "This run would pass its tokens-per-task limit.",
    "run_duration_limit": "This run has gone on longer than one run may.",
    "output_token_limit": "The call asks for more output tokens than this use case allows per call.",
    "context_token_limit": "The call sends more input (context) tokens than this agent may per call.",
    "tool_not_permitted": "The call names a tool outside this agent's tool permissions.",
    "batch_size_limit": "The batch is larger than this agent's batch-size limit.",
    "budget_exhausted": "A hard cap would be exceeded: not enough budget left for this call.",
    "budget_nearly_used": "Allowed, but a capped budget is nearly used up.",
    "model_restricted": "Allowed, but the catalog restricts this model: it needs review.",
    "model_above_tier": "Allowed, but the model is a bigger tier than this use case's task needs.",
    "counters_unavailable": "The budget counters are unavailable.",
}


class GatewayPrincipal:
    """Who calls with a gateway key: a use case (or one agent of it), not a person."""

    is_authenticated = True
    is_active = True
    is_anonymous = False
    is_superuser = False
    pk = None
    # What aifinops.core.permissions caches per user: a key has no roles and no teams, so any
    # predicate (a page's, an error page's) answers for it without the database.
    _afo_roles = frozenset()
    _afo_team_ids = frozenset()

    def __init__(self, *, key_id: int, use_case_id: int, agent: str):
        self.key_id = key_id
        self.use_case_id = use_case_id
        self.agent = agent

    def __str__(self):
        return f"gateway key {self.key_id}"

    def get_username(self):
        return str(self)


@dataclass
class AuthorizeRequest:
    use_case: str = ""
    agent_id: str = ""
    run_id: str = ""
    request_id: str = ""
    model: str = ""
    estimated_cost: Decimal | None = None
    currency: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    tokens: int | None = None
    tool_calls: int = 0
    customer: str = ""
    tags: dict = field(default_factory=dict)
    tools: list = field(default_factory=list)
    batch_size: int | None = None
    extra: dict = field(default_factory=dict)

    @property
    def total_tokens(self) -> int:
        return self.tokens if self.tokens is not None else self.input_tokens + self.output_tokens


def _use_case_id(principal, req) -> int:
    """The use case the call is for. A gateway key acts for its own use case only; a person's
    token for any use case whose agents they may run."""
    if isinstance(principal, GatewayPrincipal):
        return principal.use_case_id
    use_case = (
        UseCase.objects.filter(key=req.use_case)
        .only("pk", "team_id", "business_owner_id", "technical_owner_id")
        .first()
    )
    if use_case is None or not permissions.can_view_use_case(principal, use_case):
        raise Http404("No such use case.")
    permissions.require(principal, permissions.AUTHORIZE_CALLS, use_case)
    return use_case.pk


class KeyNotActive(Exception):
    """The gateway key is revoked (the API answers 401)."""


def _check_principal(principal, policy, req):
    if req.use_case and req.use_case != policy["use_case"]["key"]:
        raise PermissionDenied(
            f"This key acts for the use case “{policy['use_case']['key']}” only, not “{req.use_case}”."
        )
    if not isinstance(principal, GatewayPrincipal):
        return
    if str(principal.key_id) not in policy["keys"]:
        raise KeyNotActive
    if principal.agent:
        if req.agent_id and req.agent_id != principal.agent:
            raise PermissionDenied(f"This key acts for the agent “{principal.agent}” only.")
        req.agent_id = principal.agent


@dataclass
class Verdict:
    deny: str = ""
    warns: list = field(default_factory=list)
    estimate: Decimal = Decimal("0")
    currency: str = "USD"
    model: dict | None = None
    detail: str = ""


def _static(policy, req) -> Verdict:
    """What the policy alone says, before any counter.

    Raises ValidationError naming `currency` (not an ISO 4217 code) or `estimated_cost` (negative).
    """
    if req.currency and not is_currency(req.currency):
        raise ValidationError(
            {"currency": f"Not an ISO 4217 currency code: {req.currency!r}. Send the code, e.g. USD."}
        )
    if req.estimated_cost is not None and not (req.estimated_cost.is_finite() and req.estimated_cost >= 0):
        raise ValidationError({"estimated_cost": 'A non-negative amount, e.g. "0.0125".'})
    verdict = Verdict(currency=req.currency or policy["use_case"]["currency"])
    model = known_model(policy, req.model)
    verdict.model = model
    if model is not None:
        verdict.currency = req.currency or model["currency"]
        computed = (
            Decimal(req.input_tokens) * Decimal(model["in"])
            + Decimal(req.output_tokens) * Decimal(model["out"])
        ) / MILLION
    else:
        computed = Decimal("0")
    given = req.estimated_cost if req.estimated_cost is not None else Decimal("0")
    # The larger of the caller's estimate and the catalog's: a low guess never slips past a cap.
    verdict.estimate = max(given, computed)
    if policy["kill_switch"]:
        verdict.deny = "kill_switch"
    elif policy["approval_required"] and not policy["approved"]:
        verdict.deny = "approval_required"
    elif model is None:
        verdict.deny = "model_unknown"
    elif model["status"] == ModelStatus.BLOCKED:
        verdict.deny = "model_blocked"
    elif not model["routed"]:
        verdict.deny = "model_not_routed"
    elif _agent_limit(policy["limits"], req, verdict):
        pass
    else:
        if model["status"] == ModelStatus.RESTRICTED:
            verdict.warns.append("model_restricted")
        if model["above_tier"]:
            verdict.warns.append("model_above_tier")
    return verdict


def _agent_limit(limits, req, verdict) -> bool:
    """The per-call agent controls: output and context tokens, tool scope and batch size. Sets the
    verdict's denial (with what passed the limit) and answers whether it did."""
    cap = limits.get("max_output_tokens_per_call")
    if cap is not None and req.output_tokens > cap:
        verdict.deny, verdict.detail = "output_token_limit", f"Asked {req.output_tokens:,}; at most {cap:,}."
        return True
    cap = limits.get("max_input_tokens_per_call")
    if cap is not None and req.input_tokens > cap:
        verdict.deny, verdict.detail = "context_token_limit", f"Sent {req.input_tokens:,}; at most {cap:,}."
        return True
    allowed = limits.get("tools")
    if allowed is not None and req.tools:
        outside = [name for name in req.tools if name not in allowed]
        if outside:
            verdict.deny = "tool_not_permitted"
            verdict.detail = "Not permitted: " + ", ".join(outside[:5]) + "."
            return True
    cap = limits.get("max_batch_size")
    if cap is not None and req.batch_size is not None and req.batch_size > cap:
        verdict.deny, verdict.detail = "batch_size_limit", f"Batch of {req.batch_size:,}; at most {cap:,}."
        return True
    return False


def _limit(value, scale=1) -> int:
    return -1 if value is None else int(value) * scale


def _caps(policy, verdict, caps):
    """`caps` each with the call's estimate in the cap's currency (`amount`, micro) and the rate
    that converted it: a cap's currency is its budget's, and an estimate in another currency is
    converted at the recorded rate (policy["rates"]), never left uncounted.

    Raises ValidationError naming `currency` when no rate from the estimate's currency is recorded.
    """
    converted = []
    for cap in caps:
        if cap["currency"] == verdict.currency:
            rate = "1"
        else:
            rate = policy.get("rates", {}).get(f"{verdict.currency}>{cap['currency']}")
            if rate is None:
                raise ValidationError(
                    {
                        "currency": (
                            f"No exchange rate from {verdict.currency} to {cap['currency']} is recorded, "
                            f"and the hard cap “{cap['name']}” is in {cap['currency']}: send the "
                            f"estimate in {cap['currency']}, or ask finance to record the rate."
                        )
                    }
                )
        amount = ctr.to_micro(verdict.estimate * Decimal(rate))
        converted.append({**cap, "amount": amount, "rate": rate})
    return converted


def _conversions(verdict, caps) -> list:
    """The conversions an answer shows: one per cap in another currency than the estimate's."""
    return [
        {
            "cap": cap["name"],
            "from": verdict.currency,
            "to": cap["currency"],
            "rate": cap["rate"],
            "amount": str(ctr.from_micro(cap["amount"])),
        }
        for cap in caps
        if cap["currency"] != verdict.currency
    ]


def _caps_of_call(policy, verdict, req):
    """The caps of `_caps` that this call counts against: a customer cap only when the call names
    that customer, a tag cap only when it carries that tag value, a model or provider cap only when
    it goes to that model or to that provider's models."""
    applying = [cap for cap in policy["caps"] if _applies(cap, verdict, req)]
    return _caps(policy, verdict, applying)


def _applies(cap, verdict, req) -> bool:
    model = verdict.model or {}
    return cap_applies(
        cap,
        customer=req.customer,
        tags=req.tags,
        model_id=model.get("id"),
        provider_id=model.get("provider_id"),
    )


def _run_script(c, policy, verdict, principal, req, *, caps, reservation_id, now_ms):
    uc_id = policy["use_case"]["id"]
    limits = policy["limits"]
    log_entry = json.dumps(
        {
            "k": getattr(principal, "key_id", None),
            "u": uc_id,
            "a": req.agent_id,
            "r": req.run_id,
            "m": req.model,
            "c": str(verdict.estimate),
            "cur": verdict.currency,
        }
    )
    keys = [
        ctr.version_key(uc_id),
        ctr.GLOBAL_VERSION_KEY,
        ctr.rate_key(uc_id, now_ms // 60_000),
        ctr.LOG_KEY,
        ctr.LAST_USED_KEY,
        ctr.reservation_key(uc_id, reservation_id),
        ctr.run_key(uc_id, req.run_id) or f"gw:run:{uc_id}:",
    ]
    args = [
        policy["version"],
        now_ms,
        verdict.deny,
        log_entry,
        str(principal.key_id) if isinstance(principal, GatewayPrincipal) else "",
        "",
        req.total_tokens,
        req.tool_calls,
        _limit(limits["max_steps_per_run"]),
        _limit(limits["max_tool_calls_per_run"]),
        _limit(limits["max_tokens_per_run"]),
        _limit(limits["max_run_seconds"], 1000),
        _limit(limits["max_calls_per_minute"]),
        settings.AIFINOPS_RESERVATION_TTL_SECONDS * 1000,
        reservation_id,
        "1" if req.run_id else "0",
        ctr.LOG_MAX,
        policy["warn_at_pct"],
        ctr.RUN_TTL_MS,
        len(caps),
    ]
    for cap in caps:
        keys += ctr.cap_keys(cap)
        args += [cap["limit"], cap["amount"]]
    return c.call(c.authorize_script, keys=keys, args=args)


def _seed(c, policy, caps, missing: str, now_ms: int):
    """Rebuild missing cap counters from the database (after a restart, or in a new period): what
    the ledger says was spent, and the open reservations written through (reservation_write)."""
    for index in missing.split(","):
        cap = caps[int(index) - 1]
        spent = cap_spent(policy, cap)
        open_args = []
        for rid, amount, expiry_ms in cap_reserved(cap, now_ms=now_ms):
            open_args += [rid, amount, expiry_ms]
        end = datetime.date.fromisoformat(cap["end"]) + datetime.timedelta(days=8)
        end_ms = int(
            datetime.datetime.combine(end, datetime.time.min, tzinfo=datetime.UTC).timestamp() * 1000
        )
        c.call(
            c.seed_script,
            keys=ctr.cap_keys(cap),
            args=[ctr.to_micro(spent), max(end_ms - now_ms, 60_000), now_ms, *open_args],
        )


def reservation_write(policy, caps, reservation_id: str, *, now_ms: int):
    """Write a reservation Redis just made through to the database (one INSERT, or an UPDATE
    for a reservation that grew), so that counters rebuilt after a Redis loss include it."""
    expires_at = datetime.datetime.fromtimestamp(
        (now_ms + settings.AIFINOPS_RESERVATION_TTL_SECONDS * 1000) / 1000, tz=datetime.UTC
    )
    rows = [
        GatewayReservation(
            use_case_id=policy["use_case"]["id"],
            reservation_id=reservation_id,
            cap=cap["id"],
            period_start=cap["start"],
            amount_micro=cap["amount"],
            expires_at=expires_at,
        )
        for cap in caps
        if cap["amount"] > 0
    ]
    if not rows:
        return
    if connection.vendor != "postgresql":
        GatewayReservation.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["use_case", "reservation_id", "cap"],
            update_fields=["amount_micro", "expires_at", "period_start"],
        )
        return
    # One statement, no ORM: this runs in the call path of every allowed call. Only the model's table
    # name and placeholders are formatted in; every value is a parameter.
    values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(rows))
    params = []
    for row in rows:
        params += [
            row.use_case_id,
            row.reservation_id,
            row.cap,
            row.period_start,
            row.amount_micro,
            row.expires_at,
        ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {GatewayReservation._meta.db_table} "  # noqa: S608
            "(use_case_id, reservation_id, cap, period_start, amount_micro, expires_at) "
            f"VALUES {values} ON CONFLICT (use_case_id, reservation_id, cap) DO UPDATE SET "
            "amount_micro = EXCLUDED.amount_micro, expires_at = EXCLUDED.expires_at, "
            "period_start = EXCLUDED.period_start",
            params,
        )


def _reservation_undo(c, policy, caps, reservation_id):
    """Take back a reservation that could not be written through (the database failed)."""
    keys = [ctr.reservation_key(policy["use_case"]["id"], reservation_id), ""]
    for cap in caps:
        keys += ctr.cap_keys(cap)
    c.call(c.settle_script, keys=keys, args=[reservation_id, 0, 0, *([0] * len(caps))])


def _amount(value: Decimal) -> str:
    # To the micro-unit, rounded up: as the counters hold it.
    return str(ctr.from_micro(ctr.to_micro(value)))


def _money(micro, currency):
    return {"amount": str(ctr.from_micro(micro)), "currency": currency}


def _answer(
    policy,
    verdict,
    req,
    *,
    decision,
    reason,
    remaining,
    reservation,
    run,
    counters_state,
    conversions=(),
    remaining_by_cap=(),
):
    limits = dict(policy["limits"])
    limits["spend_caps"] = [
        {
            "name": cap["name"],
            "amount": str(ctr.from_micro(cap["limit"])),
            "currency": cap["currency"],
            "period_end": cap["end"],
        }
        for cap in policy["caps"]
        # Another customer's, tag's, model's or provider's cap is not this caller's business.
        if _applies(cap, verdict, req)
    ]
    message = MESSAGES.get(reason, reason)
    if verdict.detail and reason == verdict.deny:
        message += " " + verdict.detail
    if reason == "counters_unavailable":
        message += " Redis-down policy: " + settings.AIFINOPS_AUTHORIZE_REDIS_DOWN + "."
    return {
        "decision": decision,
        "reason": reason,
        "message": message,
        "use_case": policy["use_case"]["key"],
        "agent_id": req.agent_id,
        "run_id": req.run_id,
        "model": verdict.model["ref"] if verdict.model else req.model,
        "estimated_cost": {"amount": _amount(verdict.estimate), "currency": verdict.currency},
        "conversions": list(conversions),
        "reservation": reservation,
        "remaining_budget": remaining,
        "remaining_by_cap": list(remaining_by_cap),
        "limits": limits,
        "run": run,
        "policy": {
            "version": policy["version"],
            "routing": policy["routing"],
            "counters": counters_state,
            "redis_down": settings.AIFINOPS_AUTHORIZE_REDIS_DOWN,
        },
    }


def authorize(*, principal, req: AuthorizeRequest, now_ms: int | None = None) -> dict:
    """Decide on one call, reserving its estimated cost when it is allowed.

    Raises PermissionDenied (a key acting for another use case or agent), Http404 and KeyNotActive.
    """
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    use_case_id = _use_case_id(principal, req)
    c = ctr.counters()
    if c is None:
        return _without_counters(principal, req, use_case_id)
    try:
        refresh = False
        for _attempt in range(5):
            policy = policy_get(use_case_id, c, now_ms=now_ms, refresh=refresh)
            if policy is None:
                raise Http404("No such use case.")
            try:
                _check_principal(principal, policy, req)
            except KeyNotActive:
                if refresh:
                    raise
                refresh = True
                continue
            verdict = _static(policy, req)
            caps = [] if verdict.deny else _caps_of_call(policy, verdict, req)
            reservation_id = req.request_id or uuid.uuid4().hex
            result = _run_script(
                c, policy, verdict, principal, req, caps=caps, reservation_id=reservation_id, now_ms=now_ms
            )
            status = result[0]
            if status == "stale":
                policy_forget(use_case_id)
                refresh = True
                continue
            if status == "missing":
                _seed(c, policy, caps, result[1], now_ms)
                continue
            if status in ("allow", "warn") and result[1] != "already_reserved":
                try:
                    reservation_write(policy, caps, reservation_id, now_ms=now_ms)
                except DatabaseError:
                    _reservation_undo(c, policy, caps, reservation_id)
                    raise ctr.Unavailable("The reservation could not be written through.") from None
            return _decided(
                policy, verdict, req, result, caps=caps, reservation_id=reservation_id, now_ms=now_ms
            )
        raise ctr.Unavailable("The policy kept changing while deciding.")
    except ctr.Unavailable:
        return _without_counters(principal, req, use_case_id)


def _decided(policy, verdict, req, result, *, caps, reservation_id, now_ms):
    status, reason = result[0], result[1]
    remaining, by_cap = _remaining(caps, result)
    if status == "deny":
        return _answer(
            policy,
            verdict,
            req,
            decision="deny",
            reason=reason,
            remaining=remaining,
            reservation=None,
            run=None,
            counters_state="redis",
            conversions=_conversions(verdict, caps),
            remaining_by_cap=by_cap,
        )
    run = None
    if req.run_id and len(result) > 3 and reason != "already_reserved":
        run = {
            "steps": int(result[3]),
            "tool_calls": int(result[4]),
            "tokens": int(result[5]),
            "seconds": round(int(result[6]) / 1000, 3),
        }
    ttl_ms = settings.AIFINOPS_RESERVATION_TTL_SECONDS * 1000
    reservation = {
        "id": reservation_id,
        "amount": _amount(verdict.estimate),
        "currency": verdict.currency,
        "expires_at": _iso(now_ms + ttl_ms),
    }
    decision = status
    if status == "warn":
        reason = "budget_nearly_used"
    elif reason != "already_reserved" and verdict.warns:
        decision, reason = "warn", verdict.warns[0]
    return _answer(
        policy,
        verdict,
        req,
        decision=decision,
        reason=reason or "ok",
        remaining=remaining,
        reservation=reservation,
        run=run,
        counters_state="redis",
        conversions=_conversions(verdict, caps),
        remaining_by_cap=by_cap,
    )


def _remaining(caps, result):
    """(the tightest cap's remaining budget, each cap's) as the answer shows them, each in its
    cap's own currency. The tightest is the cap that leaves the least room for spend in the
    call's currency (its remaining divided by the rate that converted the estimate), so caps in
    different currencies are compared as money, not as numbers. A denial by a cap reports that
    cap."""
    if not caps:
        return None, []
    status = result[0]
    if status == "deny":
        if len(result) > 3 and int(result[2]) >= 0:
            cap = caps[int(result[3]) - 1]
            money = _money(int(result[2]), cap["currency"])
            return money, [{"cap": cap["name"], **money}]
        return None, []
    raw = result[7] if len(result) > 7 else ""
    lefts = [int(v) for v in str(raw).split(",") if v != ""]
    if len(lefts) != len(caps):
        # A retry of a reservation made before the answer listed each cap: one cap's is clear.
        if len(caps) == 1 and int(result[2]) >= 0:
            return _money(int(result[2]), caps[0]["currency"]), []
        return None, []
    by_cap = [
        {"cap": cap["name"], **_money(left, cap["currency"])} for cap, left in zip(caps, lefts, strict=True)
    ]
    # Recorded rates are positive (exchange_rate_record refuses others).
    tightest = min(range(len(caps)), key=lambda i: Decimal(lefts[i]) / Decimal(caps[i]["rate"]))
    return _money(lefts[tightest], caps[tightest]["currency"]), by_cap


def _iso(ms: int) -> str:
    return datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC).isoformat().replace("+00:00", "Z")


def _without_counters(principal, req, use_case_id):
    """Redis is down or not configured: the policy checks still apply (from the database), the
    counters cannot, and the configured Redis-down policy decides the rest."""
    from .services import authorization_denial_record

    policy = policy_build(use_case_id)
    if policy is None:
        raise Http404("No such use case.")
    _check_principal(principal, policy, req)
    verdict = _static(policy, req)
    mode = settings.AIFINOPS_AUTHORIZE_REDIS_DOWN
    if verdict.deny:
        decision, reason = "deny", verdict.deny
    elif mode == "open":
        decision, reason = "warn", "counters_unavailable"
    else:
        decision, reason = "deny", "counters_unavailable"
    if decision == "deny":
        authorization_denial_record(
            use_case_id=use_case_id,
            key_id=getattr(principal, "key_id", None),
            reason=reason,
            req=req,
            estimate=verdict.estimate,
            currency=verdict.currency,
            failure_policy=mode,
        )
    return _answer(
        policy,
        verdict,
        req,
        decision=decision,
        reason=reason,
        remaining=None,
        reservation=None,
        run=None,
        counters_state="unavailable",
    )
