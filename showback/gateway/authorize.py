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
from django.core.exceptions import PermissionDenied
from django.http import Http404

from aifinops.core import permissions
from portfolio.choices import ModelStatus
from portfolio.models import UseCase

from . import counters as ctr
from .policy import cap_spent, known_model, policy_build, policy_forget, policy_get

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
    if not permissions.can_use_gateway(principal, use_case):
        raise PermissionDenied("Only the use case's owners and platform admins authorize its calls.")
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


def _static(policy, req) -> Verdict:
    """What the policy alone says, before any counter."""
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
    else:
        if model["status"] == ModelStatus.RESTRICTED:
            verdict.warns.append("model_restricted")
        if model["above_tier"]:
            verdict.warns.append("model_above_tier")
    return verdict


def _limit(value, scale=1) -> int:
    return -1 if value is None else int(value) * scale


def _caps(policy, verdict):
    """The caps that count this call: those in the currency of its estimate."""
    return [cap for cap in policy["caps"] if cap["currency"] == verdict.currency]


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
        ctr.to_micro(verdict.estimate),
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
        start = cap["start"].replace("-", "")
        keys += [f"gw:cap:{cap['id']}:{start}", f"gw:capz:{cap['id']}:{start}"]
        args.append(cap["limit"])
    return c.call(c.authorize_script, keys=keys, args=args)


def _seed(c, policy, caps, missing: str, now_ms: int):
    """Rebuild missing cap counters from the database (after a restart, or in a new period)."""
    for index in missing.split(","):
        cap = caps[int(index) - 1]
        spent = cap_spent(policy, cap)
        end = datetime.date.fromisoformat(cap["end"]) + datetime.timedelta(days=8)
        end_ms = int(
            datetime.datetime.combine(end, datetime.time.min, tzinfo=datetime.UTC).timestamp() * 1000
        )
        start = cap["start"].replace("-", "")
        c.call(
            c.seed_script,
            keys=[f"gw:cap:{cap['id']}:{start}", f"gw:capz:{cap['id']}:{start}"],
            args=[ctr.to_micro(spent), max(end_ms - now_ms, 60_000)],
        )


def _amount(value: Decimal) -> str:
    # To the micro-unit, rounded up: as the counters hold it.
    return str(ctr.from_micro(ctr.to_micro(value)))


def _money(micro, currency):
    return {"amount": str(ctr.from_micro(micro)), "currency": currency}


def _answer(policy, verdict, req, *, decision, reason, remaining, reservation, run, counters_state):
    limits = dict(policy["limits"])
    limits["spend_caps"] = [
        {
            "name": cap["name"],
            "amount": str(ctr.from_micro(cap["limit"])),
            "currency": cap["currency"],
            "period_end": cap["end"],
        }
        for cap in policy["caps"]
    ]
    message = MESSAGES.get(reason, reason)
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
        "reservation": reservation,
        "remaining_budget": remaining,
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
            caps = _caps(policy, verdict)
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
            return _decided(
                policy, verdict, req, result, caps=caps, reservation_id=reservation_id, now_ms=now_ms
            )
        raise ctr.Unavailable("The policy kept changing while deciding.")
    except ctr.Unavailable:
        return _without_counters(principal, req, use_case_id)


def _decided(policy, verdict, req, result, *, caps, reservation_id, now_ms):
    status, reason = result[0], result[1]
    currency = caps[0]["currency"] if caps else verdict.currency
    remaining = _money(int(result[2]), currency) if caps and int(result[2]) >= 0 else None
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
        )
    run = None
    if req.run_id and len(result) > 3:
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
    )


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
