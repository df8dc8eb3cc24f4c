"""aifinops_client against a small fake aifinops on loopback: the HTTP client, the batcher and the
OpenAI SDK helper. The LiteLLM callback is tested against the real proxy and the real aifinops in
showback/tests/test_litellm_proxy.py."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
from aifinops_client import ApiError, Client, Denied, Guard, Unreachable, UsageBatcher, usage_tokens
from aifinops_client.guard import money, service_tier


class FakeAifinops:
    """Records every request; `answers[path]` is a list of (status, body) served in order (the last
    one repeats), or a callable of the request's JSON."""

    def __init__(self):
        self.requests = []
        self.answers = {}
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with fake.lock:
                    fake.requests.append((self.path, dict(self.headers), body))
                    script = fake.answers.get(self.path, [(200, {})])
                    if callable(script):
                        status, answer = script(body)
                    else:
                        status, answer = script.pop(0) if len(script) > 1 else script[0]
                raw = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def bodies(self, path):
        with self.lock:
            return [body for p, _headers, body in self.requests if p == path]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake():
    server = FakeAifinops()
    yield server
    server.close()


AUTHZ = "/api/v1/authorize/"
USAGE = "/api/v1/usage-events/"
ALLOW = {"decision": "allow", "reason": "ok", "message": "Within the policy and the budgets."}
DENY = {"decision": "deny", "reason": "budget_exhausted", "message": "The Support cap is used up."}
STORED = {"stored": 1, "duplicates": 0}


def test_authorize_sends_the_key_and_the_fields_and_makes_a_request_id(fake):
    fake.answers[AUTHZ] = [(200, ALLOW)]
    client = Client(fake.url, "afo_gw_secret")

    answer = client.authorize(model="openai/gpt-mini", run_id="run-1", agent_id="", output_tokens=100)

    path, headers, body = fake.requests[0]
    assert path == AUTHZ
    assert headers["Authorization"] == "Bearer afo_gw_secret"
    assert body["model"] == "openai/gpt-mini"
    assert body["run_id"] == "run-1"
    assert body["output_tokens"] == 100
    assert "agent_id" not in body  # empty values are left out
    assert len(body["request_id"]) == 32
    assert answer["decision"] == "allow"
    assert answer["request_id"] == body["request_id"]


def test_errors_say_what_to_do(fake):
    client = Client(fake.url, "afo_gw_secret")
    fake.answers[AUTHZ] = [(400, {"error": {"status": 400, "message": "Bad model.", "fields": {}}})]
    with pytest.raises(ApiError) as refused:
        client.authorize(model="")
    assert refused.value.status == 400
    assert "Bad model." in str(refused.value)

    fake.answers[AUTHZ] = [(503, {})]
    with pytest.raises(Unreachable):
        client.authorize(model="m")

    dead = Client("http://127.0.0.1:9", "afo_gw_secret", timeout=0.2)
    with pytest.raises(Unreachable):
        dead.authorize(model="m")


def test_the_client_needs_a_url_and_a_key(monkeypatch):
    monkeypatch.delenv("AIFINOPS_URL", raising=False)
    monkeypatch.delenv("AIFINOPS_GATEWAY_KEY", raising=False)
    with pytest.raises(ValueError, match="URL"):
        Client()
    monkeypatch.setenv("AIFINOPS_URL", "http://127.0.0.1:1/")
    with pytest.raises(ValueError, match="gateway key"):
        Client()
    monkeypatch.setenv("AIFINOPS_GATEWAY_KEY", "afo_gw_x")
    assert Client().url == "http://127.0.0.1:1"


def test_the_batcher_sends_batches_in_the_background(fake):
    fake.answers[USAGE] = [(200, STORED)]
    batcher = UsageBatcher(Client(fake.url, "k"), max_batch=10, flush_seconds=0.05)

    for i in range(25):
        batcher.add({"request_id": f"r{i}"})

    assert batcher.flush(timeout=5)
    batches = fake.bodies(USAGE)
    assert [len(b["events"]) for b in batches] == [10, 10, 5]
    assert [e["request_id"] for b in batches for e in b["events"]] == [f"r{i}" for i in range(25)]
    assert batcher.sent == 25
    batcher.close()


def test_a_batch_is_resent_until_aifinops_takes_it(fake):
    fake.answers[USAGE] = [(503, {}), (200, STORED)]
    batcher = UsageBatcher(Client(fake.url, "k"), flush_seconds=0.01)

    batcher.add({"request_id": "r1"})
    assert batcher.flush(timeout=5)

    assert [b["events"] for b in fake.bodies(USAGE)] == [[{"request_id": "r1"}]] * 2
    assert batcher.failures == 1
    assert batcher.sent == 1


def test_events_named_invalid_are_dropped_and_the_rest_resent(fake):
    refused = {
        "error": {
            "status": 422,
            "code": "unprocessable",
            "message": "1 of 3 events are invalid; nothing was stored.",
            "details": [{"index": 1, "field": "timestamp", "message": "Give the offset."}],
        }
    }
    fake.answers[USAGE] = [(422, refused), (200, STORED)]
    batcher = UsageBatcher(Client(fake.url, "k"), flush_seconds=0.01)

    for i in range(3):
        batcher.add({"request_id": f"r{i}"})
    assert batcher.flush(timeout=5)

    sent = [[e["request_id"] for e in b["events"]] for b in fake.bodies(USAGE)]
    assert sent == [["r0", "r1", "r2"], ["r0", "r2"]]
    assert batcher.rejected == 1
    assert batcher.sent == 2


def test_a_batch_that_cannot_succeed_is_dropped_not_retried_forever(fake):
    fake.answers[USAGE] = [(401, {"error": {"status": 401, "message": "Invalid or revoked gateway key."}})]
    batcher = UsageBatcher(Client(fake.url, "k"), flush_seconds=0.01)

    batcher.add({"request_id": "r1"})
    assert batcher.flush(timeout=5)

    assert len(fake.bodies(USAGE)) == 1
    assert batcher.dropped == 1


def test_the_queue_is_bounded(fake):
    fake.answers[USAGE] = [(200, STORED)]
    batcher = UsageBatcher(Client(fake.url, "k"), max_queue=3, flush_seconds=60)

    for i in range(5):
        batcher.add({"request_id": f"r{i}"})

    assert batcher.dropped == 2
    assert batcher.flush(timeout=5)
    assert [e["request_id"] for e in fake.bodies(USAGE)[0]["events"]] == ["r2", "r3", "r4"]


def test_usage_tokens_reads_chat_and_responses_usage():
    chat = SimpleNamespace(
        prompt_tokens=1000,
        completion_tokens=300,
        prompt_tokens_details=SimpleNamespace(cached_tokens=400),
        completion_tokens_details=SimpleNamespace(reasoning_tokens=100),
    )
    assert usage_tokens(chat) == {
        "input_tokens": 600,
        "cached_tokens": 400,
        "output_tokens": 300,
        "reasoning_tokens": 100,
    }
    responses = {"input_tokens": 50, "output_tokens": 7, "input_tokens_details": {"cached_tokens": 0}}
    assert usage_tokens(responses)["input_tokens"] == 50
    assert usage_tokens(responses)["output_tokens"] == 7
    assert usage_tokens(None)["output_tokens"] == 0


def test_usage_tokens_counts_cache_writes_apart_from_the_prompt_tokens_that_include_them():
    # LiteLLM's usage of an Anthropic call: prompt tokens = 1000 uncached + 200 read + 300 written
    litellm_usage = SimpleNamespace(
        prompt_tokens=1500,
        completion_tokens=80,
        prompt_tokens_details=SimpleNamespace(cached_tokens=200, cache_creation_tokens=300),
        cache_creation_input_tokens=300,
    )
    responses = {"input_tokens": 900, "output_tokens": 5, "input_tokens_details": {"cached_tokens": 100,
                 "cache_write_tokens": 300}}  # fmt: skip

    assert usage_tokens(litellm_usage) == {
        "input_tokens": 1000,
        "cached_tokens": 200,
        "cache_write_tokens": 300,
        "output_tokens": 80,
        "reasoning_tokens": 0,
    }
    assert (usage_tokens(responses)["input_tokens"], usage_tokens(responses)["cache_write_tokens"]) == (
        500,
        300,
    )


def test_the_service_tier_of_a_response_is_passed_when_aifinops_knows_it():
    assert service_tier(SimpleNamespace(service_tier="flex", usage=None)) == {"service_tier": "flex"}
    assert service_tier({"service_tier": "Default"}) == {"service_tier": "default"}
    assert service_tier({"usage": {"service_tier": "batch"}}) == {"service_tier": "batch"}  # Anthropic's
    assert service_tier({"service_tier": "turbo-9000"}) == {}  # unknown: left out, not refused
    assert service_tier(SimpleNamespace(usage=None)) == {}


def test_a_recorded_response_reports_its_tier_and_cache_writes(fake):
    fake.answers[AUTHZ] = [(200, ALLOW)]
    fake.answers[USAGE] = [(200, {"stored": 1})]
    guard = guard_for(fake)
    reply = SimpleNamespace(
        service_tier="priority",
        usage=SimpleNamespace(prompt_tokens=700, completion_tokens=20, cache_creation_input_tokens=600),
    )

    with guard.call("openai/gpt-4o-mini", input_tokens=700, output_tokens=20) as call:
        call.record(reply)
    guard.batcher.flush()

    [sent] = fake.bodies(USAGE)[0]["events"]
    assert (sent["service_tier"], sent["cache_write_tokens"], sent["input_tokens"]) == ("priority", 600, 100)


def test_money_is_plain_decimal_text():
    assert money(1.2e-05) == "0.000012"
    assert money(0.1 + 0.2) == "0.300000"
    assert money("2.5") == "2.500000"


class FakeOpenAI:
    """The part of the OpenAI SDK the helper calls: client.chat.completions.create(**kwargs)."""

    def __init__(self, fail=False):
        self.calls = []
        self.fail = fail
        self.chat = SimpleNamespace(completions=SimpleNamespace(create=self.create))

    def create(self, **kwargs):
        self.calls.append(kwargs)
        if self.fail:
            raise TimeoutError("the provider timed out")
        usage = SimpleNamespace(prompt_tokens=120, completion_tokens=30)
        return SimpleNamespace(usage=usage, choices=[])


def guard_for(fake, **kwargs):
    client = Client(fake.url, "k")
    return Guard(client, UsageBatcher(client, flush_seconds=0.01), **kwargs)


def test_the_openai_helper_authorizes_calls_and_reports(fake):
    fake.answers[AUTHZ] = [(200, ALLOW)]
    fake.answers[USAGE] = [(200, STORED)]
    guard = guard_for(fake, agent_id="triage-bot")
    openai = FakeOpenAI()

    reply = guard.chat_completion(
        openai,
        model="gpt-mini",
        aifinops_model="openai/gpt-mini",
        messages=[{"role": "user", "content": "hi"}],
        max_tokens=64,
        run_id="run-9",
        input_tokens=100,
    )

    assert reply.usage.prompt_tokens == 120
    assert openai.calls == [
        {"model": "gpt-mini", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 64}
    ]
    asked = fake.bodies(AUTHZ)[0]
    assert asked["model"] == "openai/gpt-mini"
    assert asked["output_tokens"] == 64
    assert asked["input_tokens"] == 100
    assert asked["agent_id"] == "triage-bot"
    assert guard.batcher.flush(timeout=5)
    (event,) = fake.bodies(USAGE)[0]["events"]
    assert event["request_id"] == asked["request_id"]
    assert event["run_id"] == "run-9"
    assert event["agent_id"] == "triage-bot"
    assert event["status"] == "ok"
    assert event["input_tokens"] == 120
    assert event["output_tokens"] == 30
    assert event["timestamp"].endswith("+00:00")


def test_a_denial_raises_before_the_call_with_aifinops_message(fake):
    fake.answers[AUTHZ] = [(200, DENY)]
    guard = guard_for(fake)
    openai = FakeOpenAI()

    with pytest.raises(Denied) as denied:
        guard.chat_completion(openai, model="gpt-mini", messages=[], max_tokens=10)

    assert openai.calls == []
    assert denied.value.status == 429
    assert denied.value.message == "The Support cap is used up."
    assert Denied({"reason": "kill_switch"}).status == 403


def test_a_failed_call_releases_its_reservation(fake):
    fake.answers[AUTHZ] = [(200, ALLOW)]
    fake.answers[USAGE] = [(200, STORED)]
    guard = guard_for(fake)

    with pytest.raises(TimeoutError):
        guard.chat_completion(FakeOpenAI(fail=True), model="gpt-mini", messages=[], max_tokens=10)

    assert guard.batcher.flush(timeout=5)
    (event,) = fake.bodies(USAGE)[0]["events"]
    assert event["status"] == "timeout"
    assert event["cost"] == "0"


def test_unreachable_aifinops_refuses_unless_fail_open():
    client = Client("http://127.0.0.1:9", "k", timeout=0.2)
    closed = Guard(client, UsageBatcher(client, flush_seconds=60), fail_open=False)
    with pytest.raises(Unreachable), closed.call("openai/gpt-mini"):
        pytest.fail("the model must not be called")

    opened = Guard(client, UsageBatcher(client, flush_seconds=60), fail_open=True)
    with opened.call("openai/gpt-mini") as call:
        call.record(input_tokens=5, output_tokens=2, cost=0.001)
    assert call.decision == "unchecked"
    assert opened.batcher.pending == 1  # reported once aifinops is back
    assert not opened.batcher.close(timeout=0)
    assert opened.batcher.dropped == 1


def test_the_batcher_keeps_working_across_a_slow_flush(fake):
    def slow(body):
        time.sleep(0.05)
        return 200, STORED

    fake.answers[USAGE] = slow
    batcher = UsageBatcher(Client(fake.url, "k"), max_batch=5, flush_seconds=0.01)
    threads = [
        threading.Thread(target=lambda n=n: [batcher.add({"request_id": f"{n}-{i}"}) for i in range(20)])
        for n in range(5)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert batcher.flush(timeout=10)
    ids = [e["request_id"] for b in fake.bodies(USAGE) for e in b["events"]]
    assert sorted(ids) == sorted(f"{n}-{i}" for n in range(5) for i in range(20))
