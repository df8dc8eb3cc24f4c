"""The gateway API: POST /api/v1/authorize/ and POST /api/v1/usage-events/.

Both accept a gateway key (`Authorization: Bearer afo_gw_…`, or `Token afo_gw_…`), which acts for
its own use case (or one agent of it) only, and personal tokens of the people who may act for a
use case (permissions.can_use_gateway, can_report_usage). See docs/integration.md.
"""

import json
from decimal import Decimal, InvalidOperation

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import authentication, exceptions, serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from aifinops.core.api.authentication import ApiTokenAuthentication
from aifinops.core.api.parsers import CheckedJSONParser, json_loads_checked, text_problem

from . import counters as ctr
from . import otlp
from .authorize import AuthorizeRequest, GatewayPrincipal, KeyNotActive, authorize
from .models import GATEWAY_KEY_PREFIX, GatewayKey
from .policy import key_record
from .usage import usage_events_ingest


class GatewayKeyAuthentication(authentication.BaseAuthentication):
    """A gateway key, as `Bearer <key>` or `Token <key>`. Personal tokens pass on to the next class."""

    keywords = (b"bearer", b"token")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if len(header) != 2 or header[0].lower() not in self.keywords:
            return None
        try:
            raw = header[1].decode()
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed("The key contains invalid characters.") from exc
        if not raw.startswith(GATEWAY_KEY_PREFIX):
            if header[0].lower() == b"bearer":
                raise exceptions.AuthenticationFailed("Not a gateway key: they start with afo_gw_.")
            return None
        record = key_record(GatewayKey.hash_key(raw), ctr.counters())
        if record is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked gateway key.")
        principal = GatewayPrincipal(
            key_id=record["id"], use_case_id=record["use_case_id"], agent=record["agent"]
        )
        return principal, record

    def authenticate_header(self, request):
        return "Bearer"


class GatewayKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "showback.gateway.api.GatewayKeyAuthentication"
    name = "gatewayKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A gateway key of one use case (afo_gw_…), created on the use-case page.",
        }


class GatewayApi(APIView):
    authentication_classes = [
        GatewayKeyAuthentication,
        ApiTokenAuthentication,
        authentication.SessionAuthentication,
    ]
    permission_classes = [IsAuthenticated]
    parser_classes = [CheckedJSONParser]
    renderer_classes = [JSONRenderer]
    throttle_classes = []


def _text(data, name, errors, *, size, required=False):
    value = data.get(name)
    if value is None or value == "":
        if required:
            errors[name] = ["This field is required."]
        return ""
    if not isinstance(value, str):
        errors[name] = ["Must be a string."]
        return ""
    if len(value) > size:
        errors[name] = [f"At most {size} characters."]
        return ""
    problem = text_problem(value)
    if problem:
        errors[name] = [problem]
        return ""
    return value


def _int(data, name, errors, default=0):
    value = data.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > 2**53:
        errors[name] = ["Must be a whole number, 0 or more."]
        return default
    return value


AUTHORIZE_FIELDS = {
    "use_case", "agent_id", "run_id", "request_id", "model", "estimated_cost", "currency",
    "input_tokens", "output_tokens", "tokens", "tool_calls", "metadata",
    "customer", "tags", "tools", "batch_size",
}  # fmt: skip
MAX_TAGS = 20
MAX_TOOLS = 64


def _name(value, size) -> str | None:
    """Why a tag key, tag value or tool name is unusable, or None."""
    if not isinstance(value, str) or not value:
        return "Must be a non-empty string."
    if len(value) > size:
        return f"At most {size} characters."
    return text_problem(value)


def _tags(data, errors) -> dict:
    """A flat object of string keys and values, as budgets of tag scope match them."""
    value = data.get("tags")
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors["tags"] = ['A flat object of strings, e.g. {"team": "search", "env": "prod"}.']
        return {}
    if len(value) > MAX_TAGS:
        errors["tags"] = [f"At most {MAX_TAGS} tags."]
        return {}
    for key, item in value.items():
        problem = _name(key, 100)
        if problem:
            errors["tags"] = [f"Key {key[:40]!r}: {problem}"]
            return {}
        problem = _name(item, 200)
        if problem:
            errors["tags"] = [f"Value of {key!r}: {problem}"]
            return {}
    return value


def _tools(data, errors) -> list:
    value = data.get("tools")
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_TOOLS:
        errors["tools"] = [f"A list of at most {MAX_TOOLS} tool names."]
        return []
    for index, name in enumerate(value):
        problem = _name(name, 100)
        if problem:
            errors["tools"] = [f"Item {index}: {problem}"]
            return []
    return value


def authorize_request_parse(data, *, with_key: bool) -> AuthorizeRequest:
    """Check an authorization request; ValidationError names each bad field."""
    if not isinstance(data, dict):
        raise exceptions.ValidationError({"non_field_errors": ["Send a JSON object."]})
    errors = {}
    for name in sorted(set(data) - AUTHORIZE_FIELDS):
        errors[name] = ["Unknown field."]
    req = AuthorizeRequest(
        use_case=_text(data, "use_case", errors, size=80, required=not with_key),
        agent_id=_text(data, "agent_id", errors, size=100),
        run_id=_text(data, "run_id", errors, size=200),
        request_id=_text(data, "request_id", errors, size=200),
        model=_text(data, "model", errors, size=150, required=True),
        currency=_text(data, "currency", errors, size=3).upper(),
        input_tokens=_int(data, "input_tokens", errors),
        output_tokens=_int(data, "output_tokens", errors),
        tokens=_int(data, "tokens", errors, default=None),
        tool_calls=_int(data, "tool_calls", errors),
        customer=_text(data, "customer", errors, size=150),
        tags=_tags(data, errors),
        tools=_tools(data, errors),
        batch_size=_int(data, "batch_size", errors, default=None),
    )
    if req.currency and (len(req.currency) != 3 or not req.currency.isalpha()):
        errors["currency"] = ["A three-letter currency code, e.g. USD."]
    cost = data.get("estimated_cost")
    if cost is not None:
        try:
            req.estimated_cost = Decimal(str(cost)) if not isinstance(cost, bool) else None
        except InvalidOperation:
            req.estimated_cost = None
        if (
            req.estimated_cost is None
            or not req.estimated_cost.is_finite()
            or not 0 <= req.estimated_cost < 10**12
        ):
            errors["estimated_cost"] = ['A non-negative amount, e.g. "0.0125".']
            req.estimated_cost = None
    if errors:
        raise exceptions.ValidationError(errors)
    return req


class GatewayMoneySerializer(serializers.Serializer):
    amount = serializers.CharField()
    currency = serializers.CharField()


def _money(**kwargs):
    return GatewayMoneySerializer(**kwargs)


AuthorizeRequestSerializer = inline_serializer(
    "AuthorizeRequest",
    {
        "use_case": serializers.CharField(
            required=False, help_text="The use case's key; implied by a gateway key."
        ),
        "agent_id": serializers.CharField(required=False),
        "run_id": serializers.CharField(
            required=False, help_text="Counts the run's steps, tool calls, tokens, time."
        ),
        "request_id": serializers.CharField(
            required=False,
            help_text="The call's id: the usage event with the same id settles the reservation.",
        ),
        "model": serializers.CharField(help_text="A catalog model: provider/model, or the bare model id."),
        "estimated_cost": serializers.DecimalField(max_digits=24, decimal_places=10, required=False),
        "currency": serializers.CharField(required=False),
        "input_tokens": serializers.IntegerField(required=False),
        "output_tokens": serializers.IntegerField(required=False, help_text="The call's max output tokens."),
        "tokens": serializers.IntegerField(
            required=False, help_text="Tokens for the run's limit (default in+out)."
        ),
        "tool_calls": serializers.IntegerField(required=False, help_text="Tool calls this step will make."),
        "customer": serializers.CharField(
            required=False, help_text="The end customer the call serves: customer caps count it."
        ),
        "tags": serializers.DictField(
            child=serializers.CharField(),
            required=False,
            help_text="Flat string keys and values (at most 20): tag caps count the calls carrying them.",
        ),
        "tools": serializers.ListField(
            child=serializers.CharField(),
            required=False,
            help_text="The tools this call or run step offers or calls: checked against the tool scope.",
        ),
        "batch_size": serializers.IntegerField(
            required=False, help_text="Items in a batch call: checked against the batch-size limit."
        ),
    },
)

AuthorizeResponseSerializer = inline_serializer(
    "AuthorizeResponse",
    {
        "decision": serializers.ChoiceField(choices=["allow", "warn", "deny"]),
        "reason": serializers.CharField(),
        "message": serializers.CharField(),
        "use_case": serializers.CharField(),
        "agent_id": serializers.CharField(),
        "run_id": serializers.CharField(),
        "model": serializers.CharField(),
        "estimated_cost": _money(),
        "reservation": inline_serializer(
            "GatewayReservation",
            {
                "id": serializers.CharField(),
                "amount": serializers.CharField(),
                "currency": serializers.CharField(),
                "expires_at": serializers.DateTimeField(),
            },
            allow_null=True,
        ),
        "remaining_budget": inline_serializer(
            "GatewayRemaining",
            {"amount": serializers.CharField(), "currency": serializers.CharField()},
            allow_null=True,
            help_text=(
                "What is left of the tightest hard cap, in that cap's currency: the cap leaving the "
                "least room for spend in the call's currency (or the cap that refused the call)."
            ),
        ),
        "remaining_by_cap": serializers.ListField(
            child=inline_serializer(
                "GatewayRemainingByCap",
                {
                    "cap": serializers.CharField(),
                    "amount": serializers.CharField(),
                    "currency": serializers.CharField(),
                },
            ),
            help_text="What is left of each hard cap the call counts against, each in its own currency.",
        ),
        "limits": serializers.DictField(),
        "run": serializers.DictField(allow_null=True),
        "policy": serializers.DictField(
            help_text="version, routing, counters (redis|unavailable), redis_down."
        ),
    },
)


class AuthorizeApi(GatewayApi):
    """May this model call go ahead? Answers allow, warn or deny with the reason, what is left of
    the tightest hard cap, the limits and the policy. An allowed call's estimated cost is reserved
    until its usage event (same request id) settles it or the reservation expires."""

    @extend_schema(request=AuthorizeRequestSerializer, responses=AuthorizeResponseSerializer)
    def post(self, request):
        principal = request.user
        req = authorize_request_parse(request.data, with_key=isinstance(principal, GatewayPrincipal))
        try:
            answer = authorize(principal=principal, req=req)
        except KeyNotActive as exc:
            raise exceptions.AuthenticationFailed("Invalid or revoked gateway key.") from exc
        return Response(answer)


USAGE_EVENT_FIELDS = {
    "request_id": serializers.CharField(help_text="The idempotency key: one event per request id."),
    "timestamp": serializers.DateTimeField(help_text="ISO 8601 with an offset."),
    "use_case": serializers.CharField(required=False),
    "agent_id": serializers.CharField(required=False),
    "run_id": serializers.CharField(required=False),
    "reservation_id": serializers.CharField(required=False, help_text="Default: the request id."),
    "provider": serializers.CharField(required=False),
    "model": serializers.CharField(required=False),
    "input_tokens": serializers.IntegerField(required=False, help_text="Uncached input tokens."),
    "cached_tokens": serializers.IntegerField(required=False, help_text="Input tokens read from the cache."),
    "cache_write_tokens": serializers.IntegerField(
        required=False,
        help_text="Input tokens written to the cache (Anthropic's cache_creation_input_tokens).",
    ),
    "service_tier": serializers.CharField(
        required=False,
        help_text="standard (default), batch, priority or flex; OpenAI's default and auto are "
        "standard, scale is priority.",
    ),
    "output_tokens": serializers.IntegerField(required=False, help_text="Reasoning tokens included."),
    "reasoning_tokens": serializers.IntegerField(required=False),
    "latency_ms": serializers.IntegerField(required=False),
    "retries": serializers.IntegerField(required=False),
    "tool_calls": serializers.IntegerField(required=False),
    "status": serializers.CharField(required=False, help_text="ok (default), error, timeout or cancelled."),
    "cache_hit": serializers.BooleanField(required=False),
    "human_review": serializers.BooleanField(required=False),
    "outcome": serializers.CharField(
        required=False, help_text="On the call that ends a task: success, accepted, rejected or failure."
    ),
    "cost": serializers.DecimalField(max_digits=24, decimal_places=10, required=False),
    "currency": serializers.CharField(required=False),
}


class UsageEventsApi(GatewayApi):
    """A batch of up to 1,000 per-call usage events. All or nothing: one invalid event rejects the
    batch (422, each problem named by index and field); stored request ids are counted once, so a
    batch may be resent."""

    @extend_schema(
        request=inline_serializer(
            "UsageEventBatch", {"events": inline_serializer("UsageEvent", USAGE_EVENT_FIELDS, many=True)}
        ),
        responses={
            200: inline_serializer(
                "UsageEventResult",
                {
                    "stored": serializers.IntegerField(),
                    "duplicates": serializers.IntegerField(),
                    "cost": _money(many=True),
                    "events": serializers.ListField(child=serializers.DictField()),
                },
            ),
            422: OpenApiResponse(description="The batch was refused: each problem named by index and field."),
        },
    )
    def post(self, request):
        principal = request.user
        if (
            isinstance(principal, GatewayPrincipal)
            and not GatewayKey.objects.filter(pk=principal.key_id, revoked_at__isnull=True).exists()
        ):
            raise exceptions.AuthenticationFailed("Invalid or revoked gateway key.")
        data = request.data
        events = data.get("events") if isinstance(data, dict) else data
        return Response(usage_events_ingest(principal=principal, events=events))


_authorize_api = AuthorizeApi.as_view()
_FAST_FAILURES = (
    exceptions.APIException,
    PermissionDenied,
    Http404,
    KeyNotActive,
    ValueError,
    DjangoValidationError,
)


@csrf_exempt
@login_not_required  # the API authenticates its callers itself, as DRF views do
def authorize_endpoint(request):
    """POST /api/v1/authorize/. A well-formed call with a gateway key takes the short way: the
    key, the parsing and the decision, without DRF's request wrapping, negotiation and rendering
    (a third of the time of a call). Everything else (personal tokens, sessions, anonymous calls,
    bad requests, refusals) goes through AuthorizeApi, which answers with the API's one error body.
    Both ways run the same parsing and the same `authorize`."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    keyword, _, raw = header.partition(" ")
    fast = keyword.lower() in ("bearer", "token") and raw.startswith(GATEWAY_KEY_PREFIX)
    if request.method == "POST" and fast:
        try:
            record = key_record(GatewayKey.hash_key(raw), ctr.counters())
            if record is not None:
                principal = GatewayPrincipal(
                    key_id=record["id"], use_case_id=record["use_case_id"], agent=record["agent"]
                )
                req = authorize_request_parse(json_loads_checked(request.body.decode()), with_key=True)
                body = json.dumps(authorize(principal=principal, req=req), separators=(",", ":"))
                return HttpResponse(body, content_type="application/json")
        except _FAST_FAILURES:
            pass
    return _authorize_api(request)


# Documented (OpenAPI) and treated by the middleware as the DRF view it falls back to.
authorize_endpoint.cls = AuthorizeApi
authorize_endpoint.initkwargs = {}


OtlpStatusSerializer = inline_serializer(
    "OtlpStatus", {"code": serializers.IntegerField(), "message": serializers.CharField()}
)
OtlpExportResponseSerializer = inline_serializer(
    "OtlpExportTraceServiceResponse",
    {
        "partialSuccess": inline_serializer(
            "OtlpPartialSuccess",
            {"rejectedSpans": serializers.CharField(), "errorMessage": serializers.CharField()},
            required=False,
        )
    },
)


class OtlpTracesApi(APIView):
    """POST /api/v1/otlp/v1/traces: OTLP/HTTP traces (protobuf or JSON, gzip or not), as an
    application's OpenTelemetry exporter sends them; GenAI spans become usage events (see
    `otlp.py`). A gateway key or a personal token, never a session: exporters carry a header."""

    authentication_classes = [GatewayKeyAuthentication, ApiTokenAuthentication]
    permission_classes = [IsAuthenticated]
    parser_classes = []
    renderer_classes = [JSONRenderer]
    throttle_classes = []

    @extend_schema(
        request={"application/x-protobuf": OpenApiTypes.BINARY, "application/json": OpenApiTypes.OBJECT},
        responses={
            (200, "application/x-protobuf"): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="ExportTraceServiceResponse (partial_success names refused spans).",
            ),
            (200, "application/json"): OpenApiResponse(
                OtlpExportResponseSerializer, description="ExportTraceServiceResponse, as OTLP/JSON."
            ),
            **{
                (status, media): OpenApiResponse(
                    OtlpStatusSerializer if media == "application/json" else OpenApiTypes.BINARY,
                    description=description,
                )
                for status, description in (
                    (400, "The body is not an ExportTraceServiceRequest: google.rpc.Status with the reason."),
                    (413, "Too large as sent, decompressed, or in GenAI spans: the limit."),
                    (415, "Neither application/x-protobuf nor application/json, or an unknown encoding."),
                )
                for media in ("application/json", "application/x-protobuf")
            },
        },
    )
    def post(self, request):
        principal = request.user
        if (
            isinstance(principal, GatewayPrincipal)
            and not GatewayKey.objects.filter(pk=principal.key_id, revoked_at__isnull=True).exists()
        ):
            raise exceptions.AuthenticationFailed("Invalid or revoked gateway key.")
        content_type = request.META.get("CONTENT_TYPE", "")
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        try:
            if length > otlp.MAX_BODY:
                raise otlp.OtlpError(
                    413, f"The body is larger than {otlp.MAX_BODY:,} bytes, the limit: send smaller batches."
                )
            message = otlp.otlp_request_decode(
                body_stream=request.stream,
                content_type=content_type,
                content_encoding=request.META.get("HTTP_CONTENT_ENCODING", ""),
            )
            result = otlp.otlp_traces_ingest(principal=principal, message=message)
        except otlp.OtlpError as exc:
            body, media = otlp.otlp_status_encode(
                code=3 if exc.status == 400 else 8 if exc.status == 413 else 3,
                message=exc.message,
                content_type=content_type,
            )
            return HttpResponse(body, status=exc.status, content_type=media)
        body, media = otlp.otlp_response_encode(
            rejected=result["rejected"], message=result["error_message"], content_type=content_type
        )
        return HttpResponse(body, content_type=media)
