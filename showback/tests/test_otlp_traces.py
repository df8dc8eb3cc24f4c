"""POST /api/v1/otlp/v1/traces: OpenTelemetry GenAI spans in, priced and attributed to use cases.

The end-to-end test sends with the real OTLP/HTTP exporter of the OpenTelemetry SDK to a served
aifinops; the others post the bodies that exporter makes (and broken ones) with the test client.
"""

import datetime
import gzip
import json
from decimal import Decimal

import pytest
from django.urls import reverse
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.trace.export import SpanExportResult

from aifinops.core import periods
from aifinops.core.audit import AuditEvent
from portfolio.models import PriceBookEntry
from portfolio.pricing import usage_cost
from showback.models import AttributionRule, DailySpend, SpendRecord, UsageEvent, UsageHourly

from .gateway_helpers import GatewayKeyFactory
from .otlp_helpers import URL, App

PROTOBUF = "application/x-protobuf"
MILLION = Decimal(1_000_000)


def expected_cost(model, calls, *, input_tokens=1200, cache_read=200, output_tokens=500):
    """Independently: the conventions' input tokens include the cache reads, priced apart."""
    one = (
        (input_tokens - cache_read) * model.input_price_per_mtok
        + cache_read * (model.cached_input_price_per_mtok or model.input_price_per_mtok)
        + output_tokens * model.output_price_per_mtok
    ) / Decimal(1_000_000)
    return one * calls


def send(client, body, *, content_type=PROTOBUF, **headers):
    return client.generic("POST", URL, body, content_type=content_type, **headers)


def partial(response) -> ExportTraceServiceResponse:
    return ExportTraceServiceResponse.FromString(response.content)


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(300)
def test_the_sdk_exporter_sends_chat_calls_and_an_agent_run_that_land_on_the_use_case_once(
    cast,
    catalog,
    migration_data,
    redis_clean,
    live_server,
    login,
):
    # Given an application instrumented with OpenTelemetry, holding a gateway key of use case A
    key = GatewayKeyFactory(use_case=cast.use_case_a, created_by=cast.owner)
    app = App(**{"deployment.environment": "production"})
    app.chat()
    app.chat(error=True)
    app.plain()  # an HTTP span: not GenAI, ignored
    app.agent_run(steps=3, tools=2)
    spans = app.finished()
    exporter = OTLPSpanExporter(
        endpoint=f"{live_server.url}{URL}", headers={"Authorization": f"Bearer {key.raw}"}, timeout=60
    )

    # When its exporter sends the batch, and then retries the same batch
    first = exporter.export(spans)
    again = exporter.export(spans)

    # Then the five model calls are stored once, with their tokens and the catalog's cost
    assert (first, again) == (SpanExportResult.SUCCESS, SpanExportResult.SUCCESS)
    events = UsageEvent.objects.filter(use_case=cast.use_case_a)
    assert events.count() == 5
    tokens = set(events.values_list("input_tokens", "cached_tokens", "output_tokens"))
    assert tokens == {(1000, 200, 500)}
    cost = expected_cost(catalog["ok"], 5)
    assert sum(e.cost for e in events) == cost
    assert all(e.cost_computed and e.model_id == catalog["ok"].pk for e in events)
    assert events.filter(status="error").count() == 1
    run = events.exclude(run_id="")
    assert run.count() == 3 and {e.agent_id for e in run} == {"triage-agent"}
    assert {e.run_id for e in run} == {spans[-1].context.trace_id.to_bytes(16, "big").hex()}
    hourly = UsageHourly.objects.get(use_case=cast.use_case_a)
    assert (hourly.calls, hourly.errors, hourly.tool_calls, hourly.runs) == (5, 1, 2, 3)
    assert hourly.input_tokens == 5000 and hourly.cached_tokens == 1000 and hourly.output_tokens == 2500
    spend = SpendRecord.objects.get(source="gateway", use_case=cast.use_case_a)
    assert (spend.effective_cost, spend.is_estimated, spend.requests) == (cost, True, 5)

    # And the use case's agent controls tab shows the telemetry: five calls, one tool call per run
    page = login(cast.owner).get(cast.use_case_a.get_tab_url("agents"))
    assert page.status_code == 200
    html = page.content.decode()
    telemetry = html[html.index('id="gateway-telemetry"') :][:3000]
    assert '<div class="fw-semibold">5</div>' in telemetry
    assert "0.7" in telemetry  # 2 tool calls over 3 runs (the agent's run and the two calls)


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(300)
def test_the_sdk_exporter_sends_cache_writes_and_service_tiers_that_are_costed_with_them(
    cast, catalog, migration_data, redis_clean, live_server
):
    # Given a book with standard and batch prices, cache reads and writes priced apart
    model = catalog["ok"]
    since = periods.today() - datetime.timedelta(days=30)
    for tier, prices in (("standard", ("2", "8", "0.2", "2.5")), ("batch", ("1", "4", "0.1", "1.25"))):
        PriceBookEntry.objects.create(
            model=model,
            tier=tier,
            effective_from=since,
            input_price_per_mtok=Decimal(prices[0]),
            output_price_per_mtok=Decimal(prices[1]),
            cache_read_price_per_mtok=Decimal(prices[2]),
            cache_write_price_per_mtok=Decimal(prices[3]),
        )
    # and an application whose instrumentations report cache writes (in the input tokens, as the
    # conventions count them) and OpenAI's service tier, in today's names and the older ones
    key = GatewayKeyFactory(use_case=cast.use_case_a, created_by=cast.owner)
    app = App()
    writes = {"gen_ai.usage.cache_creation.input_tokens": 300}
    app.chat(**writes, **{"openai.response.service_tier": "batch"})
    app.chat(
        **{"gen_ai.usage.cache_creation_input_tokens": 300, "gen_ai.openai.request.service_tier": "batch"}
    )
    app.chat(**writes, **{"openai.request.service_tier": "auto", "openai.response.service_tier": "default"})
    app.chat(**writes, **{"openai.response.service_tier": "flex"})
    exporter = OTLPSpanExporter(
        endpoint=f"{live_server.url}{URL}", headers={"Authorization": f"Bearer {key.raw}"}, timeout=60
    )

    # When its exporter sends them
    assert exporter.export(app.finished()) == SpanExportResult.SUCCESS

    # Then each call's input is its uncached part (1200 - 200 read - 300 written), its writes kept
    events = UsageEvent.objects.filter(use_case=cast.use_case_a).order_by("occurred_at")
    rows = [(e.input_tokens, e.cached_tokens, e.cache_write_tokens, e.service_tier) for e in events]
    assert rows == [
        (700, 200, 300, "batch"),
        (700, 200, 300, "batch"),
        (700, 200, 300, "standard"),
        (700, 200, 300, "flex"),
    ]
    # and each is costed at its tier, writes at the cache-write price (flex has none: standard)
    batch = (700 * 1 + 200 * Decimal("0.1") + 300 * Decimal("1.25") + 500 * 4) / MILLION
    standard = (700 * 2 + 200 * Decimal("0.2") + 300 * Decimal("2.5") + 500 * 8) / MILLION
    assert [e.cost for e in events] == [batch, batch, standard, standard]
    hourly = UsageHourly.objects.get(use_case=cast.use_case_a)
    assert (hourly.input_tokens, hourly.cached_tokens, hourly.cache_write_tokens) == (2800, 800, 1200)


@pytest.mark.django_db
def test_a_body_as_json_with_hex_ids_and_gzip_is_read_like_protobuf(cast, catalog, redis_clean, client):
    from google.protobuf import json_format
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    key = GatewayKeyFactory(use_case=cast.use_case_a, created_by=cast.owner)
    app = App()
    app.chat()
    app.chat()
    message = json_format.MessageToDict(encode_spans(app.finished()))
    for rs in message["resourceSpans"]:
        for ss in rs["scopeSpans"]:
            for span in ss["spans"]:  # OTLP/JSON writes ids as hex, not base64
                for name in ("traceId", "spanId", "parentSpanId"):
                    if span.get(name):
                        import base64

                        span[name] = base64.b64decode(span[name]).hex()
    body = gzip.compress(json.dumps(message).encode())

    answer = send(
        client, body, content_type="application/json", HTTP_CONTENT_ENCODING="gzip",
        HTTP_AUTHORIZATION=f"Bearer {key.raw}",
    )  # fmt: skip

    assert answer.status_code == 200, answer.content
    assert answer["Content-Type"] == "application/json"
    assert answer.json() == {}
    assert UsageEvent.objects.filter(use_case=cast.use_case_a).count() == 2
    ids = set(UsageEvent.objects.values_list("request_id", flat=True))
    expected = {f"otel:{s.context.trace_id:032x}:{s.context.span_id:016x}" for s in app.finished()}
    assert ids == expected


@pytest.mark.django_db
def test_a_token_attributes_by_the_use_case_attribute_or_by_the_rules_on_service_name(
    cast, catalog, redis_clean, client
):
    from .gateway_helpers import token_client

    AttributionRule.objects.create(
        name="support bot", match_field="service", match_value="support-bot", use_case=cast.use_case_b
    )
    by_rule, named = App(), App(**{"aifinops.use_case": cast.use_case_a.key})
    by_rule.chat()
    named.chat()
    named.chat()
    api = token_client(cast.finance)

    first = api.generic("POST", URL, by_rule.body(), content_type=PROTOBUF)
    second = api.generic("POST", URL, named.body(), content_type=PROTOBUF)

    assert (first.status_code, second.status_code) == (200, 200)
    assert not partial(first).HasField("partial_success")
    assert UsageEvent.objects.filter(use_case=cast.use_case_b).count() == 1
    assert UsageEvent.objects.filter(use_case=cast.use_case_a).count() == 2


@pytest.mark.django_db
def test_spans_no_use_case_claims_go_to_unattributed_spend_for_finance_and_are_refused_to_others(
    cast, catalog, redis_clean, login, django_capture_on_commit_callbacks
):
    from .gateway_helpers import token_client

    app = App(**{"service.name": "shadow-summarizer"})
    app.chat()
    body = app.body()

    owner = token_client(cast.owner).generic("POST", URL, body, content_type=PROTOBUF)
    with django_capture_on_commit_callbacks(execute=True):
        finance = token_client(cast.finance).generic("POST", URL, body, content_type=PROTOBUF)
    resent = token_client(cast.finance).generic("POST", URL, body, content_type=PROTOBUF)

    assert owner.status_code == 200
    refused = partial(owner).partial_success
    assert refused.rejected_spans == 1 and "aifinops.use_case" in refused.error_message
    assert "shadow-summarizer" in refused.error_message
    assert (finance.status_code, resent.status_code) == (200, 200)
    record = SpendRecord.objects.get(source="otel")
    assert (record.use_case, record.service_name, record.is_estimated) == (None, "shadow-summarizer", True)
    assert record.effective_cost == expected_cost(catalog["ok"], 1)
    assert AuditEvent.objects.filter(action="spend.telemetry_unattributed").count() == 1
    assert "telemetry.sdk.name" not in record.tags and record.tags["service.name"] == "shadow-summarizer"
    shadow = DailySpend.objects.get(use_case=None)  # rolled up by the task queued on commit
    assert (shadow.effective_cost, shadow.estimated_cost) == (record.effective_cost, record.effective_cost)
    page = login(cast.finance).get(reverse("showback:unattributed"))
    assert page.status_code == 200 and "shadow-summarizer" in page.content.decode()


@pytest.mark.django_db
def test_a_span_no_use_case_claims_is_costed_at_its_tier_with_its_cache_writes(cast, catalog, redis_clean):
    from .gateway_helpers import token_client

    # Given a batch price in the book and a span of a service no use case claims
    PriceBookEntry.objects.create(
        model=catalog["ok"],
        tier="batch",
        effective_from=periods.today() - datetime.timedelta(days=3),
        input_price_per_mtok=Decimal("1"),
        output_price_per_mtok=Decimal("4"),
        cache_write_price_per_mtok=Decimal("1.25"),
    )
    app = App(**{"service.name": "shadow-batch"})
    app.chat(**{"gen_ai.usage.cache_creation.input_tokens": 300, "openai.response.service_tier": "batch"})

    # When finance sends it
    answer = token_client(cast.finance).generic("POST", URL, app.body(), content_type=PROTOBUF)

    # Then its spend is costed at the batch price, cache writes at the cache-write price
    assert answer.status_code == 200
    record = SpendRecord.objects.get(source="otel")
    assert record.effective_cost == (700 * 1 + 200 * 1 + 300 * Decimal("1.25") + 500 * 4) / MILLION
    assert (record.input_tokens, record.cached_tokens, record.quantity) == (700, 500, 1700)


@pytest.mark.django_db
def test_a_gateway_key_cannot_put_spans_on_another_use_case(cast, catalog, redis_clean, client):
    key = GatewayKeyFactory(use_case=cast.use_case_a, created_by=cast.owner)
    app = App(**{"aifinops.use_case": cast.use_case_b.key})
    app.chat()

    answer = send(client, app.body(), HTTP_AUTHORIZATION=f"Bearer {key.raw}")

    assert answer.status_code == 200
    refused = partial(answer).partial_success
    assert refused.rejected_spans == 1
    assert "aifinops.use_case" in refused.error_message and cast.use_case_b.key in refused.error_message
    assert UsageEvent.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("authorization", "status"),
    [(None, 401), ("Bearer afo_gw_not-a-key", 401), ("Token nope", 401), ("Basic dXNlcjpwdw==", 401)],
)
def test_no_key_or_a_wrong_one_is_401(cast, catalog, redis_clean, client, authorization, status):
    app = App()
    app.chat()
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}

    answer = send(client, app.body(), **headers)

    assert answer.status_code == status
    assert UsageEvent.objects.count() == 0


@pytest.mark.django_db
def test_a_revoked_key_is_401(cast, catalog, redis_clean, client):
    from django.utils import timezone

    key = GatewayKeyFactory(use_case=cast.use_case_a, created_by=cast.owner, revoked_at=timezone.now())
    app = App()
    app.chat()

    assert send(client, app.body(), HTTP_AUTHORIZATION=f"Bearer {key.raw}").status_code == 401


def test_the_price_book_costing_is_the_one_costing_function_used():
    # Spans are costed by the price book's one costing function: the OTLP path reads no price field.
    import inspect

    from showback.gateway import otlp

    source = inspect.getsource(otlp)
    assert "usage_cost(" in source and "input_price_per_mtok" not in source
    assert usage_cost is not None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "use_case", "reason"),
    [
        ("owner", "use_case_b", "No use case with the key “campaign-writer”"),
        ("requester_b", "use_case_a", "No use case with the key “support-summarizer”"),
        ("requester_a", "use_case_a", "Only the owners of “support-summarizer”"),
    ],
)
def test_a_token_cannot_put_spans_on_a_use_case_it_may_not_report_for(
    cast, catalog, redis_clean, who, use_case, reason
):
    from .gateway_helpers import token_client

    app = App(**{"aifinops.use_case": getattr(cast, use_case).key})
    app.chat()

    answer = token_client(getattr(cast, who)).generic("POST", URL, app.body(), content_type=PROTOBUF)

    result = partial(answer).partial_success
    assert result.rejected_spans == 1 and reason in result.error_message
    assert not UsageEvent.objects.exists() and not SpendRecord.objects.exists()
