"""The two endpoints of aifinops' call path, on the standard library.

`Client.authorize` asks before a model call (`POST /api/v1/authorize/`); `Client.report` sends
usage events after it (`POST /api/v1/usage-events/`). Errors are split by what the caller should do:
`Unreachable` (network, timeout, 5xx, 429: retry or apply the fail-open/closed choice), `ApiError`
(a 4xx: the request itself is wrong, retrying the same will not help), `Denied` (raised by the
helpers, not by `authorize`, when the decision is deny).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
import uuid
from typing import Any

from . import __version__

AUTHORIZE_PATH = "/api/v1/authorize/"
USAGE_PATH = "/api/v1/usage-events/"

# Denials that a person has to lift (kill switch, approval gate, catalog, routing, tool scope): 403.
# Every other denial (budgets, rates, run limits, counters unavailable) is 429: retry later, or
# end the run gracefully.
POLICY_REASONS = frozenset(
    {
        "kill_switch",
        "approval_required",
        "model_blocked",
        "model_unknown",
        "model_not_routed",
        "tool_not_allowed",
    }
)


class AifinopsError(Exception):
    """Base class of the client's errors."""


class Unreachable(AifinopsError):
    """aifinops could not answer: connection refused, timeout, a 5xx or 429."""


class ApiError(AifinopsError):
    """aifinops refused the request itself (a 4xx): the body says which field."""

    def __init__(self, status: int, body: Any):
        self.status = status
        self.body = body
        error = body.get("error") if isinstance(body, dict) else None
        message = error.get("message") if isinstance(error, dict) else None
        super().__init__(f"aifinops answered {status}: {message or body}")

    @property
    def details(self) -> list[dict]:
        """The per-event problems of a refused usage batch (`index`, `field`, `message`)."""
        error = self.body.get("error") if isinstance(self.body, dict) else None
        details = error.get("details") if isinstance(error, dict) else None
        return details if isinstance(details, list) else []


class Denied(AifinopsError):
    """The authorization's decision was deny; `answer` is aifinops' whole answer."""

    def __init__(self, answer: dict):
        self.answer = answer
        self.reason = answer.get("reason", "")
        self.message = answer.get("message") or "Denied by aifinops."
        super().__init__(f"{self.message} ({self.reason})")

    @property
    def status(self) -> int:
        """The HTTP status a gateway answers its caller with: 403 when a person must act, else 429."""
        return denial_status(self.reason)


def denial_status(reason: str) -> int:
    return 403 if reason in POLICY_REASONS else 429


def new_request_id() -> str:
    return uuid.uuid4().hex


class Client:
    """A small synchronous client. Thread-safe: each call opens its own connection.

    `url` and `key` default to AIFINOPS_URL and AIFINOPS_GATEWAY_KEY. `timeout` bounds an
    authorization (it is in the call path: keep it short); `usage_timeout` a usage batch.
    """

    def __init__(
        self,
        url: str | None = None,
        key: str | None = None,
        *,
        timeout: float = 0.5,
        usage_timeout: float = 10.0,
    ):
        url = url or os.environ.get("AIFINOPS_URL", "")
        key = key or os.environ.get("AIFINOPS_GATEWAY_KEY", "")
        if not url:
            raise ValueError("Give aifinops' URL (url=... or AIFINOPS_URL).")
        if not key:
            raise ValueError("Give a gateway key (key=... or AIFINOPS_GATEWAY_KEY).")
        self.url = url.rstrip("/")
        self.key = key
        self.timeout = timeout
        self.usage_timeout = usage_timeout

    @property
    def headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.key}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": f"aifinops-client/{__version__}",
        }

    def authorize(self, *, model: str, request_id: str | None = None, **fields: Any) -> dict:
        """Ask whether a call may go ahead; returns aifinops' answer (allow, warn or deny).

        Fields are those of the endpoint (run_id, agent_id, input_tokens, output_tokens, tokens,
        tool_calls, estimated_cost, currency...); empty values are left out. A request id is made
        when none is given: send the same one in the call's usage event (`answer["request_id"]`).
        """
        body = {"model": model, "request_id": request_id or new_request_id()}
        body.update({k: v for k, v in fields.items() if v not in (None, "")})
        answer = self._post(AUTHORIZE_PATH, body, self.timeout)
        answer.setdefault("request_id", body["request_id"])
        return answer

    def report(self, events: list[dict]) -> dict:
        """Send a batch of usage events (at most 1,000). Safe to resend: request ids deduplicate."""
        return self._post(USAGE_PATH, {"events": events}, self.usage_timeout)

    def _post(self, path: str, body: dict, timeout: float) -> dict:
        data = json.dumps(body, separators=(",", ":")).encode()
        request = urllib.request.Request(  # noqa: S310 - the configured aifinops URL
            self.url + path, data=data, headers=self.headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                return _json(response.read())
        except urllib.error.HTTPError as exc:
            payload = _json(exc.read())
            if exc.code >= 500 or exc.code == 429:
                raise Unreachable(f"aifinops answered {exc.code}") from exc
            raise ApiError(exc.code, payload) from exc
        except (OSError, ValueError) as exc:  # URLError, timeouts, resets, a body that is not JSON
            raise Unreachable(f"aifinops could not be reached: {exc}") from exc


def _json(raw: bytes) -> dict:
    if not raw:
        return {}
    value = json.loads(raw)
    return value if isinstance(value, dict) else {"value": value}
