"""What an attacker or a broken exporter sends to POST /api/v1/otlp/v1/traces: a clear 400, 413 or
415 naming the limit or field, or a partial success naming the span and attribute; never a 500,
never half a span stored."""

import gzip
import json
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import KeyValue

from showback.gateway import otlp
from showback.models import SpendRecord, UsageEvent

from .gateway_helpers import GatewayKeyFactory
from .otlp_helpers import URL, App

pytestmark = pytest.mark.django_db
PROTOBUF = "application/x-protobuf"


@pytest.fixture
def post(cast, catalog, redis_clean, client):
    key = GatewayKeyFactory(use_case=cast.use_case_a, created_by=cast.owner)

    def _post(body, content_type=PROTOBUF, **headers):
        return client.generic(
            "POST", URL, body, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {key.raw}", **headers
        )

    return _post


def refused(response):
    assert response.status_code == 200, response.content
    return ExportTraceServiceResponse.FromString(response.content).partial_success


def status_message(response) -> str:
    """The google.rpc.Status message of a refused request: field 2 of the protobuf, or the JSON's
    message when the request was not protobuf."""
    if response["Content-Type"] == "application/json":
        return response.json()["message"]
    body = response.content
    assert body[0] == 0x08  # field 1, code
    start = body.index(b"\x12") + 1
    length, shift, i = 0, 0, start
    while True:
        length |= (body[i] & 0x7F) << shift
        shift += 7
        i += 1
        if body[i - 1] < 0x80:
            break
    return body[i : i + length].decode()


def one_chat(**attributes):
    app = App()
    app.chat(**attributes)
    return app


def test_a_body_that_is_not_protobuf_is_400_with_the_reason(post):
    answer = post(b"\xff\xff\xff\xff not protobuf")

    assert answer.status_code == 400
    assert "not a valid OTLP ExportTraceServiceRequest" in status_message(answer)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"resourceSpans": [', "JSON parse error"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"resourceSpans": "x"}', "not a valid OTLP"),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz", "spanId": "00"}]}]}]}', "traceId"),
        (b"\xff\xfe", "not valid UTF-8"),
        (("[" * 5000 + "]" * 5000).encode(), "nested deeper than 32"),
    ],
)
def test_malformed_json_is_400_naming_what_is_wrong(post, body, reason):
    answer = post(body, content_type="application/json")

    assert answer.status_code == 400
    assert reason in answer.json()["message"]


@pytest.mark.parametrize("text", ["a\\u0000b", "\\ud800"])
def test_nul_and_lone_surrogates_in_json_attributes_are_400_naming_the_attribute(post, text):
    body = (
        '{"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": '
        f'{{"stringValue": "{text}"}}}}]}}, "scopeSpans": []}}]}}'
    )

    answer = post(body.encode(), content_type="application/json")

    assert answer.status_code == 400
    message = answer.json()["message"]
    assert "resourceSpans[0].resource.attributes[0].value.stringValue" in message


@pytest.mark.parametrize(
    ("content_type", "encoding", "status"),
    [("text/plain", "", 415), ("application/grpc", "", 415), ("", "", 415), (PROTOBUF, "br", 415)],
)
def test_an_unsupported_content_type_or_encoding_is_415(post, content_type, encoding, status):
    headers = {"HTTP_CONTENT_ENCODING": encoding} if encoding else {}

    answer = post(one_chat().body(), content_type=content_type, **headers)

    assert answer.status_code == status
    assert "Content-" in status_message(answer)
    assert UsageEvent.objects.count() == 0


def test_a_gzip_bomb_is_413_naming_the_limit_without_inflating_it(post):
    bomb = gzip.compress(b"\x00" * (otlp.MAX_DECOMPRESSED + 1024 * 1024), compresslevel=9)
    assert len(bomb) < otlp.MAX_BODY

    started = time.monotonic()
    answer = post(bomb, HTTP_CONTENT_ENCODING="gzip")

    assert answer.status_code == 413
    assert f"{otlp.MAX_DECOMPRESSED:,} bytes" in status_message(answer)
    assert time.monotonic() - started < 10


def test_a_body_that_is_not_gzip_or_is_cut_short_is_400(post):
    whole = gzip.compress(one_chat().body())

    not_gzip = post(b"plain bytes", HTTP_CONTENT_ENCODING="gzip")
    truncated = post(whole[: len(whole) // 2], HTTP_CONTENT_ENCODING="gzip")

    assert (not_gzip.status_code, truncated.status_code) == (400, 400)
    assert "not valid gzip" in status_message(not_gzip)
    assert "truncated" in status_message(truncated)


def test_a_body_over_the_size_limit_is_413(post):
    answer = post(b"\x00" * (otlp.MAX_BODY + 1))

    assert answer.status_code == 413
    assert f"{otlp.MAX_BODY:,} bytes" in status_message(answer)


def _copies(app, n):
    """A request of `n` GenAI spans: the app's first span, with fresh span ids."""
    message = ExportTraceServiceRequest.FromString(app.body())
    spans = message.resource_spans[0].scope_spans[0].spans
    template = spans[0]
    del spans[:]
    for i in range(n):
        span = spans.add()
        span.CopyFrom(template)
        span.span_id = (i + 1).to_bytes(8, "big")
    return message


def test_more_genai_spans_than_the_limit_is_413_and_stores_nothing(post):
    message = _copies(one_chat(), otlp.MAX_GENAI_SPANS + 1)

    answer = post(message.SerializeToString())

    assert answer.status_code == 413
    assert f"{otlp.MAX_GENAI_SPANS:,} GenAI spans" in status_message(answer)
    assert UsageEvent.objects.count() == 0


def test_a_request_of_2500_spans_is_stored_whole_in_batches_of_the_pipeline(post):
    message = _copies(one_chat(), 2500)

    answer = post(message.SerializeToString())

    assert refused(answer).rejected_spans == 0
    assert UsageEvent.objects.count() == 2500


@pytest.mark.parametrize(
    ("attributes", "attribute", "reason"),
    [
        ({"gen_ai.usage.input_tokens": 10**12, "gen_ai.usage.cache_read.input_tokens": 0},
         "gen_ai.usage.input_tokens", "At most 1,000,000,000"),
        ({"gen_ai.usage.output_tokens": -5}, "gen_ai.usage.output_tokens", "0 or more"),
        ({"gen_ai.usage.input_tokens": 2.5}, "gen_ai.usage.input_tokens", "whole number"),
        ({"gen_ai.request.model": "no-such-model", "gen_ai.response.model": "no-such-model"},
         "gen_ai.request.model", "not in the catalog"),
        ({"gen_ai.request.model": "gpt\x00mini", "gen_ai.response.model": "gpt\x00mini"},
         "gen_ai.request.model", "NUL"),
        ({"gen_ai.provider.name": "open\x00ai"}, "gen_ai.provider.name", "NUL"),
        ({"gen_ai.agent.name": "a" * 500}, "gen_ai.agent.name", "At most 100"),
        ({"aifinops.use_case": "x" * 500}, "aifinops.use_case", "at most 80"),
        ({"gen_ai.usage.cache_creation.input_tokens": -5},
         "gen_ai.usage.cache_creation.input_tokens", "0 or more"),
        ({"gen_ai.usage.cache_creation.input_tokens": 10**12},
         "gen_ai.usage.cache_creation.input_tokens", "At most 1,000,000,000"),
        ({"gen_ai.usage.cache_creation_input_tokens": 2.5},
         "gen_ai.usage.cache_creation.input_tokens", "whole number"),
        ({"gen_ai.usage.cache_creation.input_tokens": "many"},
         "gen_ai.usage.cache_creation.input_tokens", "whole number"),
        ({"openai.response.service_tier": "gold"}, "openai.response.service_tier", "standard, batch"),
        ({"gen_ai.openai.request.service_tier": "tier\x00"},
         "gen_ai.openai.request.service_tier", "standard, batch"),
        ({"openai.request.service_tier": "x" * 10_000}, "openai.request.service_tier", "standard, batch"),
        ({"openai.response.service_tier": 3}, "openai.response.service_tier", "standard, batch"),
    ],
)  # fmt: skip
def test_a_span_the_checks_refuse_is_named_in_partial_success_and_the_others_are_stored(
    post, attributes, attribute, reason
):
    app = App()
    app.chat()
    app.chat(**attributes)
    bad = app.finished()[1]

    result = refused(post(app.body()))

    assert result.rejected_spans == 1
    assert f"span {bad.context.span_id:016x}: {attribute}" in result.error_message
    assert reason in result.error_message
    assert UsageEvent.objects.count() == 1


def test_a_span_that_ended_years_ago_is_refused_by_its_end_time(post):
    message = ExportTraceServiceRequest.FromString(one_chat().body())
    span = message.resource_spans[0].scope_spans[0].spans[0]
    span.start_time_unix_nano = span.end_time_unix_nano = 1_000_000_000  # 1970

    result = refused(post(message.SerializeToString()))

    assert result.rejected_spans == 1 and "end_time_unix_nano" in result.error_message


def test_a_span_with_a_short_span_id_is_refused(post):
    message = ExportTraceServiceRequest.FromString(one_chat().body())
    message.resource_spans[0].scope_spans[0].spans[0].span_id = b"\x01\x02"

    result = refused(post(message.SerializeToString()))

    assert result.rejected_spans == 1 and "span id" in result.error_message


def test_repeated_span_ids_in_one_request_are_stored_once(post):
    message = ExportTraceServiceRequest.FromString(one_chat().body())
    spans = message.resource_spans[0].scope_spans[0].spans
    spans.add().CopyFrom(spans[0])
    spans.add().CopyFrom(spans[0])

    assert refused(post(message.SerializeToString())).rejected_spans == 0
    assert UsageEvent.objects.count() == 1


def test_an_empty_request_and_spans_that_are_not_genai_store_nothing_in_few_queries(post):
    app = App()
    for i in range(300):
        app.plain(f"GET /page/{i}")

    empty = post(b"", CONTENT_TYPE=PROTOBUF)  # the test client sets no type on an empty body
    with CaptureQueriesContext(connection) as queries:
        plain = post(app.body())

    assert (empty.status_code, plain.status_code) == (200, 200)
    assert UsageEvent.objects.count() == 0
    assert len(queries) <= 3  # the key's check, whatever the number of spans


def test_queries_do_not_grow_with_the_number_of_genai_spans(post):
    small, large = _copies(one_chat(), 5), _copies(one_chat(), 400)

    with CaptureQueriesContext(connection) as few:
        post(small.SerializeToString())
    with CaptureQueriesContext(connection) as many:
        post(large.SerializeToString())

    assert UsageEvent.objects.count() == 405
    assert len(many) <= len(few) + 2


def test_attributes_of_other_types_and_nested_values_are_ignored_not_500(post):
    message = ExportTraceServiceRequest.FromString(one_chat().body())
    span = message.resource_spans[0].scope_spans[0].spans[0]
    nested = KeyValue(key="gen_ai.prompt")
    inner = nested.value.kvlist_value.values.add()
    inner.key = "deep"
    inner.value.array_value.values.add().bytes_value = b"\x00\xff"
    span.attributes.append(nested)
    weird = KeyValue(key="gen_ai.usage.input_tokens")
    weird.value.array_value.values.add().int_value = 3
    span.attributes.append(weird)

    result = refused(post(message.SerializeToString()))

    assert result.rejected_spans == 0
    assert UsageEvent.objects.count() == 1


def test_an_error_answer_to_json_is_json(post):
    answer = post(json.dumps({"resourceSpans": 3}).encode(), content_type="application/json")

    assert answer.status_code == 400 and answer["Content-Type"] == "application/json"
    assert answer.json()["code"] == 3


def test_a_lone_surrogate_in_a_protobuf_string_is_400(post):
    body = one_chat().body()
    assert body.count(b"support-bot") == 1
    broken = body.replace(b"support-bot", b"support\xed\xa0\x80b")  # same length: UTF-16 surrogate

    answer = post(broken)

    assert answer.status_code == 400
    assert "not a valid OTLP" in status_message(answer)


def test_nul_in_service_name_of_an_unattributed_span_is_refused_naming_it(cast, catalog, redis_clean):
    from .gateway_helpers import token_client

    app = App(**{"service.name": "shadow\x00bot"})
    app.chat()

    answer = token_client(cast.finance).generic("POST", URL, app.body(), content_type=PROTOBUF)

    result = refused(answer)
    assert result.rejected_spans == 1 and "service.name: Contains a NUL" in result.error_message
    assert not UsageEvent.objects.exists()


def test_an_unattributed_span_that_ended_years_ago_is_refused_too(cast, catalog, redis_clean):
    from .gateway_helpers import token_client

    app = App(**{"service.name": "old-bot"})
    app.chat()
    message = ExportTraceServiceRequest.FromString(app.body())
    span = message.resource_spans[0].scope_spans[0].spans[0]
    span.start_time_unix_nano = span.end_time_unix_nano = 1_000_000_000  # 1970

    answer = token_client(cast.finance).generic(
        "POST", URL, message.SerializeToString(), content_type=PROTOBUF
    )

    result = refused(answer)
    assert result.rejected_spans == 1 and "end_time_unix_nano" in result.error_message
    assert not SpendRecord.objects.filter(source="otel").exists()
