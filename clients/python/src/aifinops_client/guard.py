"""For code that calls a model SDK (the OpenAI SDK, say) directly: authorize, call, report.

    guard = Guard()  # AIFINOPS_URL, AIFINOPS_GATEWAY_KEY
    with guard.call("openai/gpt-4o-mini", run_id=run_id, input_tokens=n, output_tokens=512) as call:
        reply = openai.chat.completions.create(model="gpt-4o-mini", messages=..., max_tokens=512)
        call.record(reply)  # tokens from reply.usage; cost computed by aifinops unless given

    reply = guard.chat_completion(openai_client, model="gpt-4o-mini", messages=..., max_tokens=512,
                                  aifinops_model="openai/gpt-4o-mini", run_id=run_id)

A denial raises `Denied` before the call (its `.status` is 429 or 403, its `.message` aifinops'
words). When the block raises, the usage event says `error` (or `timeout`) and releases the
reservation. Events go through a `UsageBatcher` (background flush).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from .batcher import UsageBatcher
from .client import Client, Denied, Unreachable, new_request_id


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if obj is None:
        return default
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def usage_tokens(usage: Any) -> dict[str, int]:
    """Token figures of an OpenAI-style usage object (chat completions or responses API, or
    LiteLLM's, which adds Anthropic's `cache_creation_input_tokens`). The prompt tokens include the
    cache's reads and writes; the event counts them apart, as each has its own price."""
    prompt = _get(usage, "prompt_tokens")
    if prompt is None:
        prompt = _get(usage, "input_tokens", 0)
    completion = _get(usage, "completion_tokens")
    if completion is None:
        completion = _get(usage, "output_tokens", 0)
    in_details = _get(usage, "prompt_tokens_details") or _get(usage, "input_tokens_details")
    out_details = _get(usage, "completion_tokens_details") or _get(usage, "output_tokens_details")
    cached = int(_get(in_details, "cached_tokens", 0) or 0)
    written = int(
        _get(usage, "cache_creation_input_tokens")
        or _get(in_details, "cache_creation_tokens")
        or _get(in_details, "cache_write_tokens")
        or 0
    )
    reasoning = _get(out_details, "reasoning_tokens", 0) or 0
    prompt, completion = int(prompt or 0), int(completion or 0)
    tokens = {
        "input_tokens": max(prompt - cached - written, 0),
        "cached_tokens": cached,
        "output_tokens": completion,
        "reasoning_tokens": int(reasoning),
    }
    if written:  # only when there are some: a server before cache writes refuses the field
        tokens["cache_write_tokens"] = written
    return tokens


# The provider's service tier names aifinops prices (OpenAI's default/auto are standard, scale is
# priority); any other is left out rather than have the event refused.
SERVICE_TIERS = frozenset({"standard", "batch", "priority", "flex", "default", "auto", "scale"})


def service_tier(response: Any) -> dict[str, str]:
    """{"service_tier": ...} when the response (OpenAI's, or its usage, as Anthropic's) says which
    tier served it, else {}."""
    tier = _get(response, "service_tier") or _get(_get(response, "usage"), "service_tier")
    if isinstance(tier, str) and tier.strip().lower() in SERVICE_TIERS:
        return {"service_tier": tier.strip().lower()}
    return {}


def money(value: Any) -> str:
    """A cost as plain decimal text (never exponent notation), as the usage endpoint reads it."""
    amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    return format(amount.quantize(Decimal("0.000001")), "f")


class Call:
    """One authorized call: its request id, aifinops' answer, and what `record` says it used."""

    def __init__(self, model: str, request_id: str, answer: dict | None, fields: dict):
        self.model = model
        self.request_id = request_id
        self.answer = answer
        self.fields = fields
        self.usage: dict[str, Any] = {}
        self.started = time.monotonic()
        self.started_at = datetime.now(UTC)

    @property
    def decision(self) -> str:
        return (self.answer or {}).get("decision", "unchecked")

    def record(self, response: Any = None, **usage: Any) -> None:
        """Take the tokens from a response's `usage`, and/or give them (and `cost`, `currency`,
        `outcome`, `tool_calls`, `retries`, `cache_hit`, `human_review`) by name."""
        if response is not None:
            self.usage.update(usage_tokens(_get(response, "usage")))
            self.usage.update(service_tier(response))
        self.usage.update({k: v for k, v in usage.items() if v is not None})

    def event(self, status: str) -> dict:
        event = {
            "request_id": self.request_id,
            "timestamp": self.started_at.isoformat(),
            "model": self.model,
            "latency_ms": int((time.monotonic() - self.started) * 1000),
            "status": status,
        }
        for name in ("run_id", "agent_id", "customer", "tags"):
            if self.fields.get(name):
                event[name] = self.fields[name]
        event.update(self.usage)
        if "cost" in event:
            event["cost"] = money(event["cost"])
        elif status != "ok" and not any(self.usage.get(k) for k in ("input_tokens", "output_tokens")):
            event["cost"] = "0"  # nothing was billed: release the reservation
        return event


class Guard:
    """Authorize before a call, report it after. `fail_open`: when aifinops cannot be reached, call
    the model anyway (and still report it); the default refuses (`Unreachable` is raised)."""

    def __init__(
        self,
        client: Client | None = None,
        batcher: UsageBatcher | None = None,
        *,
        agent_id: str = "",
        fail_open: bool | None = None,
    ):
        self.client = client or Client()
        self.batcher = batcher or UsageBatcher(self.client)
        self.agent_id = agent_id
        if fail_open is None:
            fail_open = os.environ.get("AIFINOPS_FAIL_OPEN", "") in ("1", "true", "yes")
        self.fail_open = fail_open

    def authorize(self, model: str, *, request_id: str | None = None, **fields: Any) -> Call:
        """Authorize one call; returns its `Call`, or raises `Denied` (or `Unreachable`)."""
        fields.setdefault("agent_id", self.agent_id)
        request_id = request_id or new_request_id()
        try:
            answer = self.client.authorize(model=model, request_id=request_id, **fields)
        except Unreachable:
            if not self.fail_open:
                raise
            answer = None
        if answer is not None and answer.get("decision") == "deny":
            raise Denied(answer)
        return Call(model, request_id, answer, fields)

    def report(self, call: Call, status: str = "ok") -> None:
        self.batcher.add(call.event(status))

    @contextlib.contextmanager
    def call(self, model: str, **fields: Any) -> Iterator[Call]:
        call = self.authorize(model, **fields)
        try:
            yield call
        except BaseException as exc:
            self.report(call, "timeout" if "timeout" in type(exc).__name__.lower() else "error")
            raise
        self.report(call, "ok")

    def chat_completion(
        self,
        openai_client: Any,
        *,
        model: str,
        aifinops_model: str | None = None,
        run_id: str = "",
        agent_id: str | None = None,
        input_tokens: int = 0,
        **kwargs: Any,
    ) -> Any:
        """`openai_client.chat.completions.create(model=model, **kwargs)` inside `call`. The
        authorization's output tokens are the call's `max_tokens` (or `max_completion_tokens`)."""
        output = kwargs.get("max_completion_tokens") or kwargs.get("max_tokens") or 0
        with self.call(
            aifinops_model or model,
            run_id=run_id,
            agent_id=agent_id if agent_id is not None else self.agent_id,
            input_tokens=input_tokens,
            output_tokens=output,
        ) as call:
            reply = openai_client.chat.completions.create(model=model, **kwargs)
            call.record(reply)
        return reply
