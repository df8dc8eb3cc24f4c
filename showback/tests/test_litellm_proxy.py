"""The real LiteLLM proxy, with the aifinops callback of clients/python, against a served aifinops.

The proxy runs from its own environment (.venv-litellm, made by `make test`; LITELLM_BIN names its
`litellm`), with a model whose `mock_response` answers locally (nothing leaves the machine), no
database and no Redis of its own. aifinops is pytest-django's live server on the test database and
the Redis of `make test`. Concurrent chat completions go through the proxy:

- past the use case's hard cap the proxy answers 429 with aifinops' message, and the model is not
  called; the spend it let through stays within the cap;
- the kill switch, set through the service the use-case page calls, stops the next call (403);
- every call that went through lands as a usage event (telemetry: tokens, latency) and as gateway
  spend on the use case's showback (DailySpend);
- the spend aifinops counted equals the sum of the proxy's own response costs
  (`x-litellm-response-cost`), to the micro-dollar.
"""

import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db.models import Sum

from portfolio.tests.factories import AIModelFactory
from showback.gateway import services
from showback.gateway.services import gateway_flush
from showback.models import AuthorizationDecision, DailySpend, UsageEvent

from .gateway_helpers import GatewayKeyFactory, hard_cap

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(600)]

ROOT = Path(settings.BASE_DIR)
MOCK_REPLY = "The answer is forty-two, as computed by a mock."
# The catalog model the test adds costs $100 / $400 per million tokens (a few cents a call, so a
# cap in cents holds a handful); the proxy prices its model the same, so aifinops' estimate and
# LiteLLM's cost speak of the same money.
PROXY_CONFIG = {
    "model_list": [
        {
            "model_name": "gpt-mini",
            "litellm_params": {
                "model": "openai/gpt-pricey",
                "api_key": "sk-not-used",
                "mock_response": MOCK_REPLY,
            },
            "model_info": {"input_cost_per_token": 0.0001, "output_cost_per_token": 0.0004},
        }
    ],
    "litellm_settings": {"callbacks": "aifinops_client.litellm.proxy_handler_instance"},
}
MAX_TOKENS = 50  # the call's output cap, and so the estimate aifinops reserves


def litellm_bin() -> Path:
    path = Path(os.environ.get("LITELLM_BIN") or ROOT / ".venv-litellm" / "bin" / "litellm")
    if not path.exists():
        pytest.fail(
            f"The LiteLLM proxy is not at {path}: `make test` installs it in .venv-litellm "
            "(requirements-litellm.txt and clients/python)."
        )
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proxy:
    def __init__(self, tmp_path, *, aifinops_url, gateway_key):
        self.port = free_port()
        self.master_key = "sk-" + secrets.token_hex(32)
        self.url = f"http://127.0.0.1:{self.port}"
        config = tmp_path / "litellm.json"  # YAML is a superset of JSON
        config.write_text(json.dumps(PROXY_CONFIG))
        self.log_path = tmp_path / "litellm.log"
        # A clean environment: no DATABASE_URL (LiteLLM would reach for Prisma) nor REDIS_URL.
        env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
        env.update(
            LITELLM_MASTER_KEY=self.master_key,
            LITELLM_LOCAL_MODEL_COST_MAP="True",  # no fetch of the price list
            AIFINOPS_URL=aifinops_url,
            AIFINOPS_GATEWAY_KEY=gateway_key,
            AIFINOPS_MODEL_MAP=json.dumps({"gpt-mini": "openai/gpt-pricey"}),
            AIFINOPS_FLUSH_SECONDS="0.2",
            AIFINOPS_TIMEOUT="5",  # the live server is one process on a shared machine
            PYTHONUNBUFFERED="1",
        )
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                str(litellm_bin()),
                "--config", str(config),
                "--host", "127.0.0.1",
                "--port", str(self.port),
                "--num_workers", "1",
            ],
            cwd=tmp_path,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def wait_ready(self, timeout=240):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"The LiteLLM proxy exited ({self.process.returncode}):\n{self.tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/health/liveliness", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.5)
        pytest.fail(f"The LiteLLM proxy did not start within {timeout} s:\n{self.tail()}")

    def tail(self, lines=40) -> str:
        self.log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def chat(self, content="Summarize ticket 4411 in one line."):
        """One chat completion; returns (status, response cost header or None, body)."""
        body = json.dumps(
            {
                "model": "gpt-mini",
                "messages": [{"role": "user", "content": content}],
                "max_tokens": MAX_TOKENS,
                "metadata": {"run_id": "run-proxy", "agent_id": ""},
            }
        ).encode()
        request = urllib.request.Request(  # noqa: S310 - loopback
            f"{self.url}/v1/chat/completions",
            data=body,
            headers={"Authorization": f"Bearer {self.master_key}", "Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
                return response.status, response.headers.get("x-litellm-response-cost"), json.load(response)
        except urllib.error.HTTPError as exc:
            return exc.code, None, json.loads(exc.read() or b"{}")

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.log.close()


@pytest.fixture
def proxy_for(tmp_path, live_server):
    started = []

    def start(gateway_key):
        proxy = Proxy(tmp_path, aifinops_url=live_server.url, gateway_key=gateway_key)
        started.append(proxy)
        proxy.wait_ready()
        return proxy

    yield start
    for proxy in started:
        proxy.stop()


def error_message(body) -> str:
    error = body.get("error") if isinstance(body, dict) else None
    return str(error.get("message") if isinstance(error, dict) else body)


def wait_for(predicate, timeout=60, what="the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    pytest.fail(f"Timed out waiting for {what}.")


def test_the_real_litellm_proxy_holds_the_cap_and_counts_its_own_costs(
    cast, catalog, migration_data, redis_clean, proxy_for, tmp_path
):
    use_case = cast.use_case_a
    AIModelFactory(
        provider=catalog["ok"].provider,
        key="gpt-pricey",
        name="GPT pricey",
        input_price_per_mtok=Decimal("100"),
        output_price_per_mtok=Decimal("400"),
    )
    key = GatewayKeyFactory(use_case=use_case, created_by=cast.owner)
    proxy = proxy_for(key.raw)

    # An allowed call goes through and is priced by the proxy.
    status, cost, body = proxy.chat()
    assert status == 200, (body, proxy.tail())
    assert body["choices"][0]["message"]["content"] == MOCK_REPLY
    costs = [Decimal(cost)]

    # The kill switch, as the use-case page sets it, stops the very next call.
    services.agent_kill_switch_set(
        use_case=use_case, actor=cast.owner, on=True, reason="Runaway loop", confirm=True
    )
    status, _cost, body = proxy.chat()
    assert status == 403, (body, proxy.tail())
    assert "kill switch" in error_message(body).lower(), body
    assert "aifinops: kill_switch" in error_message(body)
    services.agent_kill_switch_set(use_case=use_case, actor=cast.owner, on=False, confirm=True)
    status, cost, body = proxy.chat()
    assert status == 200, body
    costs.append(Decimal(cost))

    # A hard cap with room for a handful of calls, then rounds of concurrent calls until the
    # proxy refuses every one of them.
    cap = Decimal("0.10")
    hard_cap(use_case, cap)
    answers = []

    def settled():
        """Every call let through so far has its usage event: no reservation is left open."""
        through = 2 + sum(1 for status, _c, _b in answers if status == 200)
        wait_for(
            lambda: UsageEvent.objects.filter(use_case=use_case).count() >= through,
            what=f"{through} usage events ({proxy.tail()})",
        )

    with ThreadPoolExecutor(max_workers=16) as pool:
        for _round in range(25):
            settled()
            round_answers = list(pool.map(lambda _i: proxy.chat(), range(16)))
            answers += round_answers
            if all(status == 429 for status, _c, _b in round_answers):
                break
    allowed = [a for a in answers if a[0] == 200]
    denied = [a for a in answers if a[0] == 429]
    assert len(allowed) + len(denied) == len(answers), [a[:2] for a in answers if a[0] not in (200, 429)]
    assert allowed, "the cap had room for some calls"
    assert denied, "calls past the cap must be refused"
    assert all(status == 429 for status, _c, _b in answers[-16:]), "the last round is all refused"
    message = error_message(denied[0][2])
    assert "aifinops: budget_exhausted" in message, message
    costs += [Decimal(cost) for _s, cost, _b in allowed]
    cap_spend = sum(Decimal(cost) for _s, cost, _b in allowed)
    spent = sum(costs)
    assert spent <= cap, f"{len(costs)} calls cost {spent}, past the {cap} cap"
    # And no false block: with every reservation settled, what the cap has left is less than one
    # call's estimate (50 output tokens at $400 per million, plus the prompt's tokens).
    assert cap - spent < Decimal("0.025"), f"refused with {cap - spent} of the cap left"

    # Every call that went through is a usage event; the counted spend is the proxy's own.
    n_calls = len(costs)
    settled()
    events = UsageEvent.objects.filter(use_case=use_case)
    assert events.count() == n_calls
    counted = events.aggregate(total=Sum("cost"))["total"]
    proxy_total = sum(c.quantize(Decimal("0.000001")) for c in costs)
    assert counted == proxy_total, f"aifinops counted {counted}, the proxy's costs add up to {proxy_total}"
    assert abs(counted - sum(costs)) < Decimal("0.000001") * n_calls
    # Telemetry: the tokens the proxy reported and a latency, per call.
    assert all(e.status == "ok" and e.output_tokens > 0 and e.input_tokens > 0 for e in events)
    assert all(e.latency_ms is not None and e.run_id == "run-proxy" for e in events)

    # Showback: the gateway spend in the use case's daily rollup.
    def rolled_up():
        rows = DailySpend.objects.filter(use_case=use_case)
        total = rows.aggregate(total=Sum("effective_cost"))["total"]
        return total == counted

    wait_for(rolled_up, what="the usage in DailySpend")

    # The denials are recorded, with the reason, once the gateway flushes them.
    gateway_flush()
    reasons = set(AuthorizationDecision.objects.filter(use_case=use_case).values_list("reason", flat=True))
    assert {"kill_switch", "budget_exhausted"} <= reasons

    print(
        f"LiteLLM proxy: {len(answers) + 3} calls, {n_calls} allowed ({len(allowed)} in the capped "
        f"rounds), {len(denied)} refused with 429 past the ${cap} cap ({message!r}), 1 refused with "
        f"403 by the kill switch; proxy's costs ${spent} in all (${cap_spend} in the capped rounds); "
        f"aifinops counted ${counted} against the proxy's own ${proxy_total}"
    )
