"""OpenTelemetry traces to the pages, in a real browser: an instrumented application's exporter
sends chat calls and an agent run with a gateway key; the owner sees them on the use case's
telemetry; another service's spans, sent with finance's token and claimed by no use case, show
on the unattributed page with their service name to make a rule from.

Set OTLP_JOURNEY_SHOTS to a directory to keep a screenshot of each page there.
"""

import os
from pathlib import Path

import pytest
from django.urls import reverse
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import SpanExportResult
from playwright.sync_api import expect

from aifinops.core.services import api_token_create

from .gateway_helpers import GatewayKeyFactory
from .otlp_helpers import URL, App

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(300)]

SHOTS = os.environ.get("OTLP_JOURNEY_SHOTS")


def _shot(page, name):
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def test_spans_from_the_sdk_exporter_show_on_the_use_case_and_the_unattributed_page(
    cast, catalog, redis_clean, live_server, page, log_in, password
):
    # Given an instrumented support bot with a gateway key, and a shadow service with none
    key = GatewayKeyFactory(use_case=cast.use_case_a, created_by=cast.owner)
    bot = App(**{"deployment.environment": "production"})
    for _ in range(4):
        bot.chat()
    bot.chat(error=True)
    bot.agent_run(steps=3, tools=3)
    shadow = App(**{"service.name": "shadow-translator", "team": "marketing"})
    shadow.chat(input_tokens=40_000, cache_read=0, output_tokens=9_000)
    finance_token = api_token_create(user=cast.finance, name="collector")[1]

    # When their exporters send the spans (the bot's batch twice, as a retry would)
    endpoint = f"{live_server.url}{URL}"
    bot_exporter = OTLPSpanExporter(endpoint=endpoint, headers={"Authorization": f"Bearer {key.raw}"})
    assert bot_exporter.export(bot.finished()) == SpanExportResult.SUCCESS
    assert bot_exporter.export(bot.finished()) == SpanExportResult.SUCCESS
    shadow_exporter = OTLPSpanExporter(endpoint=endpoint, headers={"Authorization": f"Token {finance_token}"})
    assert shadow_exporter.export(shadow.finished()) == SpanExportResult.SUCCESS

    # Then the owner sees eight calls, one error, the runs and their tool calls on the use case
    log_in(cast.owner.username, password)
    page.goto(cast.use_case_a.get_tab_url("agents"))
    telemetry = page.locator("#gateway-telemetry")
    expect(telemetry).to_contain_text("Calls")
    expect(telemetry.locator(".col").first).to_contain_text("8")
    expect(telemetry).to_contain_text("12.5 %")  # error rate: 1 of 8
    expect(page.locator("#gateway")).to_contain_text("6 runs")  # five lone calls and the agent's run
    _shot(page, "use-case-telemetry")
    if SHOTS:
        page.locator("#gateway").screenshot(path=str(Path(SHOTS) / "use-case-telemetry-section.png"))

    # And finance sees the shadow service on the unattributed page, to make a rule from
    page.context.clear_cookies()
    log_in(cast.finance.username, password)
    page.goto(reverse("showback:unattributed"))
    expect(page.get_by_text("shadow-translator").first).to_be_visible()
    _shot(page, "unattributed")
