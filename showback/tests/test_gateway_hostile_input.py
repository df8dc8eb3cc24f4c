"""What an attacker with a valid gateway key sends that no field can hold: NUL, lone surrogates,
impossible dates, out-of-range counts. Each is refused by field (and, for usage events, by index)
before anything is queued or stored, never a 500; and what is already queued cannot take its
neighbours down with it."""

import json

import pytest
from django.test import Client

from aifinops.core.exceptions import Unprocessable
from showback.gateway import counters as ctr
from showback.gateway import services
from showback.gateway.authorize import GatewayPrincipal
from showback.gateway.usage_checks import usage_events_parse
from showback.models import AuthorizationDecision, UsageEvent

from .gateway_helpers import AgentPolicyFactory, bearer, event

pytestmark = pytest.mark.django_db

AUTHORIZE = "/api/v1/authorize/"
USAGE = "/api/v1/usage-events/"


def raw_post(key, url, body: str):
    return bearer(key.raw).post(url, body, content_type="application/json")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"model": "openai/gpt-mini", "run_id": "run\\u0000x"}', "run_id"),
        ('{"model": "openai/gpt-mini", "agent_id": "a\\ud800"}', "agent_id"),
        ('{"model": "openai/gpt-mini\\u0000"}', "model"),
        ('{"model": "openai/gpt-mini", "request_id": "' + "r" * 201 + '"}', "request_id"),
    ],
)
def test_authorize_refuses_unstorable_text_naming_the_field(cast, gateway_key, redis_clean, body, field):
    # Given a gateway key, when a request carries text no column can hold
    response = raw_post(gateway_key, AUTHORIZE, body)

    # Then it is a 400 naming the field, and no denial was queued to be flushed
    assert response.status_code == 400, response.content
    assert list(response.json()["error"]["fields"]) == [field]
    assert redis_clean.client.llen(ctr.LOG_KEY) == 0


def test_authorize_refuses_nul_in_run_id_on_the_personal_token_path_too(cast, redis_clean, catalog):
    from .gateway_helpers import token_client

    response = token_client(cast.owner).post(
        AUTHORIZE,
        {"use_case": cast.use_case_a.key, "model": "openai/gpt-mini", "run_id": "run\x00x"},
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["run_id"]


def test_one_unstorable_denial_in_the_queue_does_not_cost_the_others(cast, gateway_key, redis_clean):
    # Given denials queued by the endpoint (kill switch on), on two runs
    AgentPolicyFactory(use_case=cast.use_case_a, kill_switch=True, kill_switch_reason="stop")
    for run in ("run-1", "run-2"):
        assert (
            bearer(gateway_key.raw)
            .post(AUTHORIZE, {"model": "openai/gpt-mini", "run_id": run}, format="json")
            .json()["decision"]
            == "deny"
        )
    # and, queued before the endpoint checked its fields, one whose run id holds NUL and one that
    # is not even readable
    queued = redis_clean.client.lrange(ctr.LOG_KEY, 0, 0)[0]
    reason, ms, body = queued.split("|", 2)
    hostile = json.loads(body) | {"r": "run\x00x", "a": "agent-\ud800"}
    redis_clean.client.rpush(
        ctr.LOG_KEY,
        f"{reason}|{ms}|{json.dumps(hostile)}",
        f"{reason}|{ms}|{json.dumps(hostile | {'c': 'NaN-ish'})}",
        "not a denial",
    )

    # When the worker flushes the queue
    done = services.gateway_flush()

    # Then the good denials are stored, the NUL one cleaned, and the unreadable ones left out
    assert done["denials"] == 3
    runs = sorted(AuthorizationDecision.objects.values_list("run_id", "agent_id"))
    assert runs == [("run-1", ""), ("run-2", ""), ("runx", "agent-?")]
    assert redis_clean.client.llen(ctr.LOG_KEY) == 0


def principal(key):
    return GatewayPrincipal(key_id=key.pk, use_case_id=key.use_case_id, agent=key.agent)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"run_id": "run\x00x"}, "run_id"),
        ({"timestamp": "2026-02-30T10:00:00Z"}, "timestamp"),
        ({"timestamp": "2026-11-24T24:30:00Z"}, "timestamp"),
        ({"input_tokens": 2**62}, "input_tokens"),
        ({"latency_ms": 2**40}, "latency_ms"),
        ({"tool_calls": 2**33}, "tool_calls"),
        ({"model": "openai/gpt-\ud800"}, "model"),
        ({"cost": "1e20"}, "cost"),
        ({"currency": "ÄÖÜ"}, "currency"),
        ({"service_tier": "gold"}, "service_tier"),
        ({"service_tier": "batch\x00"}, "service_tier"),
        ({"service_tier": "\ud800"}, "service_tier"),
        ({"service_tier": 2}, "service_tier"),
        ({"service_tier": ["batch"]}, "service_tier"),
        ({"service_tier": "x" * 100_000}, "service_tier"),
        ({"cache_write_tokens": -1}, "cache_write_tokens"),
        ({"cache_write_tokens": 2**62}, "cache_write_tokens"),
        ({"cache_write_tokens": "1000"}, "cache_write_tokens"),
        ({"cache_write_tokens": 1.5}, "cache_write_tokens"),
        ({"cache_write_tokens": True}, "cache_write_tokens"),
    ],
)
def test_each_bad_usage_event_is_named_by_index_and_field(cast, gateway_key, redis_clean, fields, field):
    # Given a batch whose second event has one bad field
    events = [event("ok-1"), event("bad", **fields), event("ok-2")]

    # When it is checked (the endpoint's JSON parser stops some of these earlier: see below)
    with pytest.raises(Unprocessable) as refused:
        usage_events_parse(principal=principal(gateway_key), events=events)

    # Then the batch is refused with that event named by index and field
    assert [(d["index"], d["field"]) for d in refused.value.details] == [(1, field)]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"timestamp": "2026-02-30T10:00:00Z"}, "timestamp"),
        ({"input_tokens": 2**62}, "input_tokens"),
        ({"service_tier": "platinum"}, "service_tier"),
        ({"cache_write_tokens": -5}, "cache_write_tokens"),
        ({"cache_write_tokens": 10**30}, "cache_write_tokens"),
    ],
)
def test_a_bad_usage_event_is_a_422_that_stores_nothing(cast, gateway_key, redis_clean, fields, field):
    response = bearer(gateway_key.raw).post(
        USAGE, {"events": [event("ok-1"), event("bad", **fields)]}, format="json"
    )

    assert response.status_code == 422, response.content
    assert [(d["index"], d["field"]) for d in response.json()["error"]["details"]] == [(1, field)]
    assert not UsageEvent.objects.exists()


@pytest.mark.parametrize("escape", ["\\udfff", "\\u0000"])
def test_text_no_column_can_hold_is_a_400_naming_the_event_and_field(cast, gateway_key, redis_clean, escape):
    # The API's JSON parser refuses it for every endpoint, naming the path (index and field)
    body = json.dumps({"events": [event("ok-1"), event("bad")]}).replace('"bad"', f'"bad{escape}"')

    response = raw_post(gateway_key, USAGE, body)

    assert response.status_code == 400, response.content
    assert list(response.json()["error"]["fields"]) == ["events[1].request_id"]
    assert not UsageEvent.objects.exists()


def test_the_error_page_renders_for_a_gateway_key_request(cast, gateway_key, redis_clean, monkeypatch):
    # Given a gateway-key request that fails inside the view
    def explode(**kwargs):
        raise RuntimeError("forced")

    monkeypatch.setattr("showback.gateway.api.usage_events_ingest", explode)
    client = Client(raise_request_exception=False)

    # When it is posted
    response = client.post(
        USAGE,
        {"events": [event("r1")]},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {gateway_key.raw}",
    )

    # Then the 500 page itself renders (the navigation asks a key for no notifications)
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()


def test_the_service_tier_refusal_names_the_tiers_accepted(cast, gateway_key, redis_clean):
    response = bearer(gateway_key.raw).post(
        USAGE, {"events": [event("ok"), event("bad", service_tier="gold")]}, format="json"
    )

    assert response.status_code == 422, response.content
    [detail] = response.json()["error"]["details"]
    assert (detail["index"], detail["field"]) == (1, "service_tier")
    assert "standard, batch, priority, flex" in detail["message"]
    assert not UsageEvent.objects.exists()
