"""Spans as an instrumented application makes them, with the real OpenTelemetry SDK: recorded in
memory, then sent with the real OTLP/HTTP exporter, or encoded as that exporter encodes them."""

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

URL = "/api/v1/otlp/v1/traces"


class App:
    """An instrumented application: its tracer, and the spans it has finished."""

    def __init__(self, **resource):
        self.memory = InMemorySpanExporter()
        self.provider = TracerProvider(resource=Resource.create({"service.name": "support-bot", **resource}))
        self.provider.add_span_processor(SimpleSpanProcessor(self.memory))
        self.tracer = self.provider.get_tracer("openai-instrumentation-test")

    def chat(self, *, model="gpt-mini", provider="openai", input_tokens=1200, cache_read=200,
             output_tokens=500, error=False, **attributes):  # fmt: skip
        """A chat call as the GenAI conventions describe it (input tokens include cache reads)."""
        with self.tracer.start_as_current_span(f"chat {model}", kind=SpanKind.CLIENT) as span:
            span.set_attributes(
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.provider.name": provider,
                    "gen_ai.request.model": model,
                    "gen_ai.response.model": f"{model}-2026-01-01",
                    "gen_ai.usage.input_tokens": input_tokens,
                    "gen_ai.usage.output_tokens": output_tokens,
                    "gen_ai.usage.cache_read.input_tokens": cache_read,
                    **attributes,
                }
            )
            if error:
                span.set_attribute("error.type", "RateLimitError")
                span.set_status(Status(StatusCode.ERROR, "429"))

    def agent_run(self, *, steps=3, tools=2, agent="triage-agent"):
        """An agent run: invoke_agent around `steps` chat calls and `tools` tool executions."""
        with self.tracer.start_as_current_span(f"invoke_agent {agent}") as run:
            run.set_attributes(
                {
                    "gen_ai.operation.name": "invoke_agent",
                    "gen_ai.agent.name": agent,
                    "gen_ai.provider.name": "openai",
                    # The run's totals: the model calls beneath carry them again.
                    "gen_ai.usage.input_tokens": 99_999,
                    "gen_ai.usage.output_tokens": 99_999,
                }
            )
            for step in range(steps):
                self.chat()
                if step < tools:
                    with self.tracer.start_as_current_span("execute_tool lookup_order") as tool:
                        tool.set_attributes(
                            {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "lookup_order"}
                        )

    def plain(self, name="GET /health"):
        with self.tracer.start_as_current_span(name) as span:
            span.set_attribute("http.request.method", "GET")

    def finished(self):
        return list(self.memory.get_finished_spans())

    def body(self, spans=None) -> bytes:
        """The protobuf body the OTLP/HTTP exporter would send."""
        return encode_spans(spans if spans is not None else self.finished()).SerializeToString()
