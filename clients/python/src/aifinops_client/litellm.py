"""aifinops in a LiteLLM proxy: authorize before each call, report its usage and cost after it.

In the proxy's config.yaml:

    litellm_settings:
      callbacks: aifinops_client.litellm.proxy_handler_instance

with AIFINOPS_URL and AIFINOPS_GATEWAY_KEY in the proxy's environment (and, when the proxy's model
names are not aifinops catalog models, AIFINOPS_MODEL_MAP='{"gpt-mini": "openai/gpt-4o-mini"}').

- `async_pre_call_hook` authorizes the call (its model, the run and agent from the request's
  metadata, its input tokens as LiteLLM counts them and its max output tokens). A denial raises,
  so the proxy answers 429 (budget, rate, run limits) or 403 (kill switch, approval gate, catalog,
  routing) with aifinops' message and never calls the model.
- `async_log_success_event` / `async_log_failure_event` queue the call's usage event (tokens,
  latency, LiteLLM's `response_cost` in USD, status) for the background batcher, which settles the
  reservation and counts the actual cost.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import HTTPException
from litellm.integrations.custom_logger import CustomLogger

from .batcher import UsageBatcher
from .client import AUTHORIZE_PATH, Client, denial_status, new_request_id
from .guard import money, service_tier, usage_tokens

log = logging.getLogger("aifinops_client")

REQUEST_ID = "aifinops_request_id"
MODEL = "aifinops_model"


def _env_bool(name: str) -> bool:
    return os.environ.get(name, "").lower() in ("1", "true", "yes")


class AifinopsLogger(CustomLogger):
    def __init__(
        self,
        url: str | None = None,
        key: str | None = None,
        *,
        model_map: dict[str, str] | None = None,
        fail_open: bool | None = None,
        timeout: float | None = None,
        default_max_tokens: int = 4096,
        batcher: UsageBatcher | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if timeout is None:
            timeout = float(os.environ.get("AIFINOPS_TIMEOUT", "0.5"))
        self.client = Client(url, key, timeout=timeout)
        self.batcher = batcher or UsageBatcher(self.client)
        if model_map is None:
            model_map = json.loads(os.environ.get("AIFINOPS_MODEL_MAP") or "{}")
        self.model_map = model_map
        self.fail_open = _env_bool("AIFINOPS_FAIL_OPEN") if fail_open is None else fail_open
        self.default_max_tokens = default_max_tokens
        self._http: httpx.AsyncClient | None = None

    # Authorization, before the call.

    def _model(self, name: str | None) -> str:
        name = name or ""
        return self.model_map.get(name, name)

    @staticmethod
    def _input_tokens(data: dict) -> int:
        messages = data.get("messages")
        text = data.get("input") if messages is None else None
        if messages is None and text is None:
            text = data.get("prompt")
        try:
            import litellm

            if messages is not None:
                return int(litellm.token_counter(model=data.get("model") or "", messages=messages))
            if isinstance(text, str):
                return int(litellm.token_counter(model=data.get("model") or "", text=text))
        except Exception:  # an estimate only: fall back to a generous count of characters
            log.debug("LiteLLM could not count the tokens; estimating from characters", exc_info=True)
        return len(json.dumps(messages if messages is not None else text or "", default=str)) // 2

    def _http_client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(
                base_url=self.client.url,
                headers=self.client.headers,
                timeout=self.client.timeout,
                limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
            )
        return self._http

    async def _authorize(self, body: dict) -> dict | None:
        """aifinops' answer; None when it could not answer (the fail-open/closed choice applies)."""
        try:
            response = await self._http_client().post(AUTHORIZE_PATH, json=body)
        except httpx.HTTPError as exc:
            log.warning("aifinops unreachable: %s", exc)
            return None
        if response.status_code >= 500 or response.status_code == 429:
            log.warning("aifinops answered %s", response.status_code)
            return None
        try:
            answer = response.json()
        except ValueError:
            return None
        if response.status_code >= 400:
            error = answer.get("error") if isinstance(answer, dict) else None
            message = error.get("message") if isinstance(error, dict) else str(answer)
            fields = error.get("fields") if isinstance(error, dict) else None
            # The request cannot be authorized as sent (an unknown key, a bad field): refuse it.
            raise HTTPException(
                status_code=403 if response.status_code in (401, 403) else 400,
                detail=f"aifinops: {message}" + (f" {fields}" if fields else ""),
            )
        return answer

    async def async_pre_call_hook(self, user_api_key_dict, cache, data: dict, call_type):
        metadata = data.get("metadata")
        if not isinstance(metadata, dict):
            metadata = data["metadata"] = {}
        request_id = str(metadata.get(REQUEST_ID) or data.get("litellm_call_id") or new_request_id())
        model = self._model(data.get("model"))
        output = (
            data.get("max_completion_tokens")
            or data.get("max_tokens")
            or data.get("max_output_tokens")
            or self.default_max_tokens
        )
        body = {
            "model": model,
            "request_id": request_id,
            "input_tokens": self._input_tokens(data),
            "output_tokens": int(output),
        }
        for name in ("run_id", "agent_id", "customer", "tags"):
            if metadata.get(name):
                body[name] = metadata[name]
        answer = await self._authorize(body)
        if answer is None:
            if not self.fail_open:
                raise HTTPException(
                    status_code=503, detail="aifinops could not be reached: the call is refused."
                )
            metadata["aifinops_decision"] = "unchecked"
        elif answer.get("decision") == "deny":
            reason = answer.get("reason", "")
            raise HTTPException(
                status_code=denial_status(reason),
                detail=f"{answer.get('message') or 'Denied by aifinops.'} (aifinops: {reason})",
            )
        else:
            metadata["aifinops_decision"] = answer.get("decision")
        metadata[REQUEST_ID] = request_id
        metadata[MODEL] = model
        return data

    # Usage, after the call.

    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
        self._queue(kwargs, response_obj, start_time, end_time, status="ok")

    async def async_log_failure_event(self, kwargs, response_obj, start_time, end_time):
        exception = kwargs.get("exception")
        status = "timeout" if "timeout" in type(exception).__name__.lower() else "error"
        self._queue(kwargs, response_obj, start_time, end_time, status=status)

    def _queue(self, kwargs, response_obj, start_time, end_time, *, status):
        try:
            event = self.usage_event(kwargs, response_obj, start_time, end_time, status=status)
        except Exception:
            log.exception("aifinops: could not read the call's usage")
            return
        if event is not None:
            self.batcher.add(event)

    def usage_event(self, kwargs, response_obj, start_time, end_time, *, status) -> dict | None:
        """The usage event of one logged call, or None for a call this hook did not authorize."""
        params = kwargs.get("litellm_params") or {}
        metadata = params.get("metadata") or kwargs.get("metadata") or {}
        request_id = metadata.get(REQUEST_ID)
        if not request_id:
            return None  # refused before the model was called, or not a proxy request
        standard = kwargs.get("standard_logging_object") or {}
        usage = getattr(response_obj, "usage", None) if response_obj is not None else None
        if usage is None and isinstance(response_obj, dict):
            usage = response_obj.get("usage")
        tokens = usage_tokens(usage)
        if not usage and standard:
            tokens["input_tokens"] = int(standard.get("prompt_tokens") or 0)
            tokens["output_tokens"] = int(standard.get("completion_tokens") or 0)
        cost = kwargs.get("response_cost")
        if cost is None:
            cost = standard.get("response_cost")
        event = {
            "request_id": str(request_id),
            "timestamp": _utc(start_time).isoformat(),
            "model": metadata.get(MODEL) or self._model(metadata.get("model_group") or kwargs.get("model")),
            "latency_ms": max(int((_utc(end_time) - _utc(start_time)).total_seconds() * 1000), 0),
            "status": status,
            "cache_hit": bool(kwargs.get("cache_hit")),
            **tokens,
            **service_tier(response_obj),
        }
        for name in ("run_id", "agent_id", "customer", "tags"):
            if metadata.get(name):
                event[name] = metadata[name]
        if cost is not None:
            event["cost"] = money(cost)
            event["currency"] = "USD"  # LiteLLM's costs are in US dollars
        elif status != "ok":
            event["cost"] = "0"
            event["currency"] = "USD"
        return event


def _utc(value: Any) -> datetime:
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, tz=UTC)
    if isinstance(value, datetime):
        return value.astimezone(UTC)  # LiteLLM's times are naive local times
    return datetime.now(UTC)


_handler: AifinopsLogger | None = None


def __getattr__(name: str) -> Any:
    # `callbacks: aifinops_client.litellm.proxy_handler_instance` reads this attribute when the
    # proxy loads its config, so importing the module needs no AIFINOPS_URL yet.
    global _handler
    if name == "proxy_handler_instance":
        if _handler is None:
            _handler = AifinopsLogger()
        return _handler
    raise AttributeError(name)
