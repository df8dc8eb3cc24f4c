"""OpenTelemetry GenAI traces in: OTLP/HTTP bodies decoded, GenAI spans turned into usage events.

An application instrumented with the OpenTelemetry GenAI semantic conventions (the official
instrumentations, OpenLLMetry, most agent frameworks) exports its spans here as it would to any
collector. Only the spans that carry `gen_ai.*` attributes are read; the others are skipped after
the protobuf decode, without building anything for them. Each GenAI span becomes the same event
a gateway posts to /api/v1/usage-events/, with the request id `otel:<trace id>:<span id>`, and
is stored by the same `usage_events_ingest`: costed by the same function, counted once however
often the exporter resends it, estimated spend reconciled against the bill like every gateway
figure. A span the events' checks refuse is answered in `partial_success` (the spec's way), by
trace and span id and field; the rest are stored.

Which use case a span is for: with a gateway key, the key's own (a span naming another is
refused); with a personal token, the `aifinops.use_case` attribute (span, then resource), else
the attribution rules over the resource and span attributes (`service.name` as the service,
every attribute as a tag), else the span is spend with no use case, kept for the unattributed
page to suggest a rule from, when the token may report such spend (finance, platform admins).
"""

import datetime
import logging
import zlib
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from rest_framework.exceptions import ParseError, ValidationError

from aifinops.core import periods, permissions
from aifinops.core.api.parsers import json_loads_checked, text_problem
from aifinops.core.audit import audit_record
from aifinops.core.exceptions import Unprocessable
from portfolio.choices import PriceTier
from portfolio.models import PriceBookEntry, UseCase
from portfolio.pricing import usage_cost

from ..models import PRICED_TOKENS, SpendRecord
from ..selectors import model_month_volumes
from .authorize import GatewayPrincipal
from .tasks import unattributed_rollups
from .usage import usage_events_ingest
from .usage_checks import MAX_BATCH, NEWEST, OLDEST, SERVICE_TIER_PROBLEM, _catalog, service_tier_parse

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
logger = logging.getLogger(__name__)

MAX_BODY = 8 * 1024 * 1024  # as sent (compressed or not)
MAX_DECOMPRESSED = 32 * 1024 * 1024
MAX_GENAI_SPANS = 10_000  # per request: twenty times the SDK's default batch of 512
MAX_REJECTIONS_NAMED = 20

USE_CASE_ATTRIBUTE = "aifinops.use_case"
AGENT_OPERATIONS = frozenset({"invoke_agent", "create_agent"})
TOOL_OPERATION = "execute_tool"
STATUS_CODE_ERROR = 2
# Attributes kept off the tags of spend with no use case: they say which process or SDK sent the
# span, or what the call was, not whose it is, and would crowd the unattributed page's tag keys.
NOT_TAGS = ("telemetry.", "process.", "host.", "os.", "gen_ai.", "service.instance.", "otel.")


class OtlpError(Exception):
    """A request refused whole: the HTTP status and the reason, which names the limit or field."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def _read_limited(stream, limit):
    data = stream.read(limit + 1) if stream is not None else b""
    if len(data) > limit:
        raise OtlpError(413, f"The body is larger than {limit:,} bytes, the limit: send smaller batches.")
    return data


def _gunzip_limited(data, limit):
    """Decompress gzip without ever holding more than `limit` bytes: a bomb is refused (413)."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise OtlpError(400, f"Content-Encoding gzip, but the body is not valid gzip: {exc}.") from exc
    if len(out) > limit or inflater.unconsumed_tail:
        raise OtlpError(
            413, f"The body decompresses to more than {limit:,} bytes, the limit: send smaller batches."
        )
    if not inflater.eof:
        raise OtlpError(400, "Content-Encoding gzip, but the gzip stream is truncated.")
    return out


def _hex_ids_to_base64(data):
    """OTLP/JSON writes trace and span ids as hex; protobuf's JSON mapping reads bytes as base64."""
    import base64

    def convert(holder, name, size):
        value = holder.get(name)
        if value in (None, ""):
            return
        if not isinstance(value, str) or len(value) != size * 2:
            raise OtlpError(400, f"{name} must be {size * 2} hex digits.")
        try:
            holder[name] = base64.b64encode(bytes.fromhex(value)).decode()
        except ValueError as exc:
            raise OtlpError(400, f"{name} must be {size * 2} hex digits.") from exc

    def items(holder, name):
        found = holder.get(name) if isinstance(holder, dict) else None
        return [item for item in found if isinstance(item, dict)] if isinstance(found, list) else []

    for resource_spans in items(data, "resourceSpans"):
        for scope_spans in items(resource_spans, "scopeSpans"):
            for span in items(scope_spans, "spans"):
                convert(span, "traceId", 16)
                convert(span, "spanId", 8)
                convert(span, "parentSpanId", 8)
                for link in items(span, "links"):
                    convert(link, "traceId", 16)
                    convert(link, "spanId", 8)


def otlp_request_decode(*, body_stream, content_type, content_encoding) -> ExportTraceServiceRequest:
    """The body as an ExportTraceServiceRequest, or OtlpError (400, 413, 415) saying why not."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media not in (PROTOBUF, JSON):
        raise OtlpError(
            415, f"Content-Type must be {PROTOBUF} or {JSON} (OTLP/HTTP), not “{media or 'none'}”."
        )
    encoding = (content_encoding or "").strip().lower()
    if encoding not in ("", "identity", "gzip"):
        raise OtlpError(415, f"Content-Encoding must be gzip or none, not “{encoding}”.")
    data = _read_limited(body_stream, MAX_BODY)
    if encoding == "gzip":
        data = _gunzip_limited(data, MAX_DECOMPRESSED)
    message = ExportTraceServiceRequest()
    if media == PROTOBUF:
        try:
            message.ParseFromString(data)
        except (DecodeError, RecursionError, ValueError) as exc:
            raise OtlpError(400, f"The body is not a valid OTLP ExportTraceServiceRequest: {exc}.") from exc
        return message
    try:
        parsed = json_loads_checked(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise OtlpError(400, "The JSON body is not valid UTF-8.") from exc
    except ParseError as exc:
        raise OtlpError(400, str(exc.detail)) from exc
    except ValidationError as exc:
        field_name, messages = next(iter(exc.detail.items()))
        raise OtlpError(400, f"{field_name}: {messages[0]}") from exc
    if not isinstance(parsed, dict):
        raise OtlpError(400, 'The body must be a JSON object, such as {"resourceSpans": [...]}.')
    _hex_ids_to_base64(parsed)
    try:
        json_format.ParseDict(parsed, message, ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError, RecursionError) as exc:
        raise OtlpError(400, f"The body is not a valid OTLP ExportTraceServiceRequest: {exc}.") from exc
    return message


def otlp_response_encode(*, rejected, message, content_type) -> tuple[bytes, str]:
    """ExportTraceServiceResponse in the request's encoding; partial_success when spans were
    refused."""
    response = ExportTraceServiceResponse()
    if rejected:
        response.partial_success.rejected_spans = rejected
        response.partial_success.error_message = message
    if (content_type or "").split(";")[0].strip().lower() == JSON:
        import json

        return json.dumps(json_format.MessageToDict(response)).encode(), JSON
    return response.SerializeToString(), PROTOBUF


def otlp_status_encode(*, code, message, content_type) -> tuple[bytes, str]:
    """A google.rpc.Status (code, message) as OTLP/HTTP answers a refused request, in the
    request's encoding (JSON when it was neither)."""
    if (content_type or "").split(";")[0].strip().lower() != PROTOBUF:
        import json

        return json.dumps({"code": code, "message": message}).encode(), JSON
    text = message.encode()
    body = b"\x08" + _varint(code) + b"\x12" + _varint(len(text)) + text
    return body, PROTOBUF


def _varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _value(any_value):
    kind = any_value.WhichOneof("value")
    if kind in ("string_value", "int_value", "bool_value"):
        return getattr(any_value, kind)
    if kind == "double_value":
        number = any_value.double_value
        return int(number) if number.is_integer() and abs(number) < 2**63 else number
    return None  # arrays, key-value lists and bytes say nothing this reads


def _attributes(key_values) -> dict:
    return {kv.key: _value(kv.value) for kv in key_values}


def _is_genai(span) -> bool:
    return any(kv.key.startswith("gen_ai.") for kv in span.attributes)


def _first_int(attrs, *names):
    for name in names:
        value = attrs.get(name)
        if value is not None:
            return value
    return None


def _text(value):
    return value if isinstance(value, str) else ("" if value is None else str(value))


@dataclass
class Batch:
    """What a request's GenAI spans become: events for the usage pipeline (with each one's span
    label), spans with no use case, and refusals."""

    events: list = field(default_factory=list)
    labels: list = field(default_factory=list)
    unattributed: list = field(default_factory=list)
    rejected: list = field(default_factory=list)  # (label, field, message)

    def reject(self, label, name, message):
        self.rejected.append((label, name, message))


class _Attribution:
    """The use case of a span, for one request: loads use cases and rules only when needed."""

    def __init__(self, principal):
        self.principal = principal
        self.gateway = principal if isinstance(principal, GatewayPrincipal) else None
        self.own = None
        if self.gateway is not None:
            self.own = UseCase.objects.filter(pk=self.gateway.use_case_id).first()
        self._attributor = None
        self._by_key = {}
        self.may_report_unattributed = self.gateway is None and permissions.can_report_unattributed_usage(
            principal
        )

    def prefetch(self, keys):
        keys = _storable(keys) - set(self._by_key)
        if keys:
            self._by_key.update({uc.key: uc for uc in UseCase.objects.filter(key__in=keys)})

    def attributor(self):
        if self._attributor is None:
            from ..attribution.engine import Attributor

            self._attributor = Attributor()
        return self._attributor

    def decide(self, attrs, resource, label, batch):
        """(use case key, None) for the pipeline, ("", facts) for spend with no use case, or None
        when refused (the refusal added to `batch`)."""
        named = attrs.get(USE_CASE_ATTRIBUTE) or resource.get(USE_CASE_ATTRIBUTE)
        if named is not None and (not isinstance(named, str) or len(named) > 80 or text_problem(named)):
            batch.reject(
                label, USE_CASE_ATTRIBUTE, "Must be a use case's key: a string of at most 80 characters."
            )
            return None
        if self.gateway is not None:
            if self.own is None:
                batch.reject(label, USE_CASE_ATTRIBUTE, "The key's use case no longer exists.")
                return None
            if named and named != self.own.key:
                batch.reject(
                    label,
                    USE_CASE_ATTRIBUTE,
                    f"This key acts for the use case “{self.own.key}” only, not “{named}”.",
                )
                return None
            return self.own.key, None
        use_case = None
        if named:
            use_case = self._by_key.get(named)
            if use_case is None or not permissions.can_view_use_case(self.principal, use_case):
                batch.reject(label, USE_CASE_ATTRIBUTE, f"No use case with the key “{named}”.")
                return None
        else:
            from ..attribution.engine import Facts, normalise_tags

            for name, value in (
                ("service.name", resource.get("service.name")),
                ("gen_ai.provider.name", attrs.get("gen_ai.provider.name") or attrs.get("gen_ai.system")),
            ):
                if isinstance(value, str) and text_problem(value):
                    batch.reject(label, name, text_problem(value))
                    return None
            tags = {k: v for k, v in {**resource, **attrs}.items() if isinstance(v, str) and v}
            facts = Facts(
                tags=normalise_tags(tags),
                service=_text(resource.get("service.name"))[:150],
                provider=_text(attrs.get("gen_ai.provider.name") or attrs.get("gen_ai.system"))[:100],
            )
            use_case = self.attributor().attribute(facts).use_case
            if use_case is None:
                if not self.may_report_unattributed:
                    batch.reject(
                        label,
                        USE_CASE_ATTRIBUTE,
                        "No use case: set the resource attribute aifinops.use_case to the use case's key "
                        f"(service.name “{facts.service or '-'}” matches no attribution rule).",
                    )
                    return None
                return "", facts
        if not permissions.can_report_usage(self.principal, use_case):
            batch.reject(
                label,
                USE_CASE_ATTRIBUTE,
                f"Only the owners of “{use_case.key}”, finance and platform admins report its usage.",
            )
            return None
        return use_case.key, None


def _iso(unix_nano):
    return datetime.datetime.fromtimestamp(unix_nano / 1e9, tz=datetime.UTC).isoformat()


def spans_to_events(*, principal, message) -> Batch:
    """Read the request's GenAI spans into a Batch (see the module)."""
    batch = Batch()
    attribution = _Attribution(principal)
    genai = []
    for resource_spans in message.resource_spans:
        resource = None
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                if not _is_genai(span):
                    continue
                if resource is None:
                    resource = _attributes(resource_spans.resource.attributes)
                genai.append((span, resource))
                if len(genai) > MAX_GENAI_SPANS:
                    raise OtlpError(
                        413,
                        f"More than {MAX_GENAI_SPANS:,} GenAI spans in one request, the limit: lower "
                        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE.",
                    )
    if not genai:
        return batch
    read = []
    agents = {}  # trace id -> agent name, from the run's agent spans
    for span, resource in genai:
        attrs = _attributes(span.attributes)
        trace, span_id = span.trace_id.hex(), span.span_id.hex()
        label = f"trace {trace} span {span_id}"
        if len(span.trace_id) != 16 or len(span.span_id) != 8:
            batch.reject(label, "trace_id", "A span needs a 16-byte trace id and an 8-byte span id.")
            continue
        operation = _text(attrs.get("gen_ai.operation.name"))
        if operation in AGENT_OPERATIONS or operation == TOOL_OPERATION:
            name = _text(attrs.get("gen_ai.agent.name") or attrs.get("gen_ai.agent.id"))
            if name or trace not in agents:
                agents[trace] = name
        read.append((span, resource, attrs, trace, span_id, label, operation, _model_candidates(attrs)))
    if principal is not None and not isinstance(principal, GatewayPrincipal):
        attribution.prefetch(
            {a.get(USE_CASE_ATTRIBUTE) or r.get(USE_CASE_ATTRIBUTE) for _s, r, a, *_ in read}
        )
    models = _catalog(_storable({name for *_, candidates in read for name in candidates}))
    for span, resource, attrs, trace, span_id, label, operation, candidates in read:
        if operation in AGENT_OPERATIONS:
            continue  # its tokens are the model calls beneath it, each a span of its own
        decided = attribution.decide(attrs, resource, label, batch)
        if decided is None:
            continue
        use_case_key, facts = decided
        event = _event(span, attrs, trace, span_id, operation, models, agents, candidates)
        tier_attribute = next((n for n in SERVICE_TIER_ATTRIBUTES if attrs.get(n) is not None), None)
        if tier_attribute and service_tier_parse(attrs[tier_attribute]) is None:
            batch.reject(label, tier_attribute, SERVICE_TIER_PROBLEM)
            continue
        gateway = attribution.gateway
        if gateway is not None and gateway.agent and event["agent_id"] not in ("", None, gateway.agent):
            batch.reject(label, "gen_ai.agent.name", f"This key acts for the agent “{gateway.agent}” only.")
            continue
        if facts is not None:
            batch.unattributed.append((event, facts, resource, label))
            continue
        if attribution.gateway is None:
            event["use_case"] = use_case_key
        batch.events.append(event)
        batch.labels.append(label)
    _tool_calls_fold(batch)
    return batch


def _tool_calls_fold(batch):
    """A tool execution is counted on a model call of its run in the same request (the run's
    first), so that calls, error and cache rates stay those of model calls; a tool span whose
    run has no model call here stays an event of its own, at no cost."""
    first_call = {}
    for event in batch.events:
        if event.get("run_id") and event.get("tool_calls") is None:
            first_call.setdefault((event["run_id"], event.get("use_case")), event)
    kept, labels = [], []
    for event, label in zip(batch.events, batch.labels, strict=True):
        call = first_call.get((event.get("run_id"), event.get("use_case")))
        if event.get("tool_calls") == 1 and event.get("model") is None and call is not None:
            call["tool_calls"] = (call.get("tool_calls") or 0) + 1
            continue
        kept.append(event)
        labels.append(label)
    batch.events, batch.labels = kept, labels


def _model_candidates(attrs):
    """The names to look the model up by, best first; the events' checks refuse unstorable ones."""
    provider = _text(attrs.get("gen_ai.provider.name") or attrs.get("gen_ai.system"))
    names = []
    for name in (attrs.get("gen_ai.response.model"), attrs.get("gen_ai.request.model")):
        if isinstance(name, str) and name:
            if provider:
                names.append(f"{provider}/{name}")
            names.append(name)
    return names


def _storable(names):
    return {n for n in names if n and isinstance(n, str) and len(n) <= 200 and not text_problem(n)}


def _event(span, attrs, trace, span_id, operation, models, agents, candidates) -> dict:
    provider = _text(attrs.get("gen_ai.provider.name") or attrs.get("gen_ai.system"))
    model = next((c for c in candidates if c in models), candidates[0] if candidates else "")
    if model in models:
        model = models[model].ref
    start, end = span.start_time_unix_nano, span.end_time_unix_nano or span.start_time_unix_nano
    event = {
        "request_id": f"otel:{trace}:{span_id}",
        "timestamp": _iso(end) if end else None,
        "provider": provider or None,
        "latency_ms": (end - start) // 1_000_000 if end >= start and start else None,
        "agent_id": _text(attrs.get("gen_ai.agent.name") or agents.get(trace)) or None,
    }
    if trace in agents or attrs.get("gen_ai.agent.name") or attrs.get("gen_ai.agent.id"):
        event["run_id"] = trace  # an agent's run is its trace: steps, tool calls and tokens counted per run
    error = span.status.code == STATUS_CODE_ERROR or attrs.get("error.type")
    if error:
        kind = _text(attrs.get("error.type")).lower()
        event["status"] = "timeout" if "timeout" in kind else "error"
    if operation == TOOL_OPERATION:
        event["tool_calls"] = 1
        event["cost"] = "0"  # a tool call costs no tokens; its cost is the model calls around it
        return event
    event["model"] = model or None
    given = _first_int(attrs, "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")
    cache_read = _first_int(
        attrs, "gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens"
    )
    cache_write = _first_int(attrs, *CACHE_WRITE_ATTRIBUTES)
    output = _first_int(attrs, "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")
    reasoning = _first_int(attrs, "gen_ai.usage.reasoning.output_tokens", "gen_ai.usage.reasoning_tokens")
    # The conventions count cache reads and writes in the input tokens; the usage event counts
    # uncached input apart from them, as each has its own price. An instrumentation whose cache
    # counts exceed its input tokens counted them apart already (as Anthropic's API does).
    uncached = given
    cached = [c for c in (cache_read, cache_write) if c is not None]
    if (
        isinstance(given, int)
        and all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in cached)
        and sum(cached) <= given
    ):
        uncached = given - sum(cached)
    event["input_tokens"] = uncached
    event["cached_tokens"] = cache_read
    event["cache_write_tokens"] = cache_write
    event["output_tokens"] = output
    event["reasoning_tokens"] = reasoning
    tier = next((attrs[name] for name in SERVICE_TIER_ATTRIBUTES if attrs.get(name) is not None), None)
    if tier is not None:
        event["service_tier"] = service_tier_parse(tier)
    return event


# Newest name first. The service tier the response ran at comes before the one requested (which
# may be "auto"); the conventions moved these from gen_ai.openai.* to openai.*.
CACHE_WRITE_ATTRIBUTES = (
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",
)
SERVICE_TIER_ATTRIBUTES = (
    "openai.response.service_tier",
    "gen_ai.openai.response.service_tier",
    "openai.request.service_tier",
    "gen_ai.openai.request.service_tier",
)


# The usage event's field a refusal names, as the span's attribute that gave it.
ATTRIBUTE_OF = {
    "input_tokens": "gen_ai.usage.input_tokens",
    "cached_tokens": "gen_ai.usage.cache_read.input_tokens",
    "cache_write_tokens": "gen_ai.usage.cache_creation.input_tokens",
    "output_tokens": "gen_ai.usage.output_tokens",
    "reasoning_tokens": "gen_ai.usage.reasoning.output_tokens",
    "model": "gen_ai.request.model",
    "provider": "gen_ai.provider.name",
    "agent_id": "gen_ai.agent.name",
    "timestamp": "end_time_unix_nano",
    "latency_ms": "start_time_unix_nano",
    "use_case": USE_CASE_ATTRIBUTE,
}


def _problem_label(labels, problem):
    index = problem.get("index")
    where = labels[index] if index is not None and index < len(labels) else "batch"
    name = problem.get("field") or ""
    message = problem.get("message") or ""
    if name == "cost":  # the span gives no cost: it is computed from the model, when catalogued
        name = "gen_ai.request.model"
    return where, ATTRIBUTE_OF.get(name, name), message


def otlp_traces_ingest(*, principal, message) -> dict:
    """Store a decoded request's GenAI spans. Returns {accepted, rejected, error_message, stored,
    duplicates}: refused spans do not stop the others."""
    batch = spans_to_events(principal=principal, message=message)
    stored = duplicates = 0
    for start in range(0, len(batch.events), MAX_BATCH):
        events = batch.events[start : start + MAX_BATCH]
        labels = batch.labels[start : start + MAX_BATCH]
        # The events' checks refuse a batch whole; a span refused drops out and the rest go in.
        for _attempt in range(3):
            if not events:
                break
            try:
                result = usage_events_ingest(principal=principal, events=events)
            except Unprocessable as exc:
                bad = {p.get("index") for p in exc.details}
                if None in bad:
                    for label in labels:
                        batch.reject(label, "", str(exc))
                    events = []
                    break
                for problem in exc.details:
                    batch.reject(*_problem_label(labels, problem))
                kept = [i for i in range(len(events)) if i not in bad]
                events, labels = [events[i] for i in kept], [labels[i] for i in kept]
                continue
            stored += result["stored"]
            duplicates += result["duplicates"]
            break
    if batch.unattributed:
        fresh, refused = unattributed_spans_store(actor=principal, spans=batch.unattributed)
        stored += fresh
        duplicates += len(batch.unattributed) - fresh - len(refused)
        batch.rejected.extend(refused)
    spans_refused = len({label for label, _f, _m in batch.rejected})
    named = [
        f"{label}: {name or 'span'}: {text}" for label, name, text in batch.rejected[:MAX_REJECTIONS_NAMED]
    ]
    message_text = "; ".join(named)
    if len(batch.rejected) > MAX_REJECTIONS_NAMED:
        message_text += f"; and {len(batch.rejected) - MAX_REJECTIONS_NAMED} more problems"
    return {
        "stored": stored,
        "duplicates": duplicates,
        "rejected": spans_refused,
        "error_message": message_text,
    }


@transaction.atomic
def unattributed_spans_store(*, actor, spans) -> tuple[int, list]:
    """GenAI spans no use case claims, as estimated spend with no use case (one SpendRecord per
    span, counted once on its trace and span ids), for the unattributed page to suggest rules
    from. Returns (records written, refusals)."""
    records, refused = [], []
    models = _catalog(_storable(e.get("model") for e, *_ in spans))
    prices = {m.pk: [] for m in models.values()}
    for price in PriceBookEntry.objects.filter(model_id__in=prices):
        prices[price.model_id].append(price)
    # Volume tiers on the ledger's month volume as it stands before the spans, as for usage events.
    tiered = {m for m, rows in prices.items() if any(p.volume_threshold for p in rows)}
    volumes = (
        model_month_volumes(
            model_ids=tiered,
            months={
                periods.month_start(datetime.datetime.fromisoformat(e["timestamp"]).date())
                for e, *_ in spans
                if e.get("timestamp")
            },
        )
        if tiered
        else {}
    )
    now = timezone.now()
    for event, facts, _resource, label in spans:
        model = models.get(event.get("model") or "")
        when = datetime.datetime.fromisoformat(event["timestamp"]) if event.get("timestamp") else None
        if when is None or not now - OLDEST <= when <= now + NEWEST:
            refused.append(
                (label, "end_time_unix_nano", "Must be within the last two years and not in the future.")
            )
            continue
        if model is None and event.get("tool_calls") is None:
            refused.append(
                (
                    label,
                    "gen_ai.request.model",
                    "The model is not in the catalog, so the span cannot be costed.",
                )
            )
            continue
        problem = _counts_problem(event)
        if problem:
            refused.append((label, *problem))
            continue
        tier = service_tier_parse(event.get("service_tier"))  # a tier no one knows is refused above
        # Priced as the usage pipeline prices an event: the price book's price in force that day.
        tokens = [
            event.get(name) or 0
            for name in ("input_tokens", "cached_tokens", "cache_write_tokens", "output_tokens")
        ]
        costed = (
            usage_cost(
                model,
                on_date=when.date(),
                input_tokens=tokens[0],
                cache_read_tokens=tokens[1],
                cache_write_tokens=tokens[2],
                output_tokens=tokens[3],
                tier=tier,
                monthly_volume=volumes.get((model.pk, periods.month_start(when.date())), 0),
                prices=prices[model.pk],
            )
            if model
            else None
        )
        # Costed from the book: a price change (or an import over a volume tier) re-costs it.
        extras = {PRICED_TOKENS: tokens} if model else {}
        if model and tier != PriceTier.STANDARD:
            extras["service_tier"] = tier
        cost = costed.amount if costed else 0
        day = datetime.datetime.combine(when.date(), datetime.time.min, tzinfo=datetime.UTC)
        tags = {
            k: v[:200]
            for k, v in facts.tags.items()
            if k and len(k) <= 100 and not k.startswith(NOT_TAGS) and not text_problem(k + v)
        }
        records.append(
            SpendRecord(
                source="otel",
                source_row_key=event["request_id"][5:],
                charge_period_start=day,
                charge_period_end=day + datetime.timedelta(days=1),
                provider=model.provider if model else None,
                provider_name=(model.provider.name if model else facts.provider)[:100],
                service_name=facts.service,
                model=model,
                model_name=model.key if model else "",
                unit="tokens",
                currency=costed.currency if costed else "USD",
                effective_cost=cost,
                list_cost=cost,
                is_estimated=True,
                is_ai=True,
                tags=dict(list(tags.items())[:40]),
                input_tokens=event.get("input_tokens") or 0,
                # The ledger's cached tokens are the cache's reads and writes, as the bills' are.
                cached_tokens=(event.get("cached_tokens") or 0) + (event.get("cache_write_tokens") or 0),
                output_tokens=event.get("output_tokens") or 0,
                quantity=(event.get("input_tokens") or 0)
                + (event.get("cached_tokens") or 0)
                + (event.get("cache_write_tokens") or 0)
                + (event.get("output_tokens") or 0),
                requests=1,
                attributed_by="",
                raw_extras=extras,
            )
        )
    if not records:
        return 0, refused
    keys = [r.source_row_key for r in records]
    before = set(
        SpendRecord.objects.filter(source="otel", source_row_key__in=keys).values_list(
            "source_row_key", flat=True
        )
    )
    SpendRecord.objects.bulk_create(records, ignore_conflicts=True)
    fresh = len(set(keys) - before)
    if fresh:
        days = sorted(r.charge_period_start.date() for r in records)
        transaction.on_commit(lambda: _unattributed_rollups_enqueue(days[0], days[-1]))
        audit_record(
            actor=actor,
            action="spend.telemetry_unattributed",
            object_type="showback.spendrecord",
            object_id="otel",
            after={"spans": fresh, "services": sorted({r.service_name for r in records})[:20]},
        )
    return fresh, refused


def _unattributed_rollups_enqueue(first, last):
    try:
        unattributed_rollups.delay(first.isoformat(), last.isoformat())
    except Exception:  # the records are committed: a later import or re-attribution rolls them up
        logger.exception("otlp: could not queue the rollups of unattributed telemetry spend")


def _counts_problem(event):
    for name in ("input_tokens", "cached_tokens", "cache_write_tokens", "output_tokens"):
        value = event.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            return ATTRIBUTE_OF[name], "Must be a whole number."
        if not 0 <= value <= 10**9:
            return ATTRIBUTE_OF[name], (
                "Must be a whole number, 0 or more." if value < 0 else "At most 1,000,000,000."
            )
    return None
