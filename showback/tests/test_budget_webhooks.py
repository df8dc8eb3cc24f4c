"""Team webhooks: budget alerts POSTed as Slack-compatible JSON to a real HTTP server in a thread,
retried after a failure, signed when the webhook has a secret, and logged for finance."""

import datetime
import hashlib
import hmac
import json
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse

from showback.budgets import services
from showback.models import BudgetScope, DeliveryStatus, TeamWebhook, WebhookDelivery
from showback.tests.budget_factories import BudgetFactory
from showback.tests.factories import DailySpendFactory

JUNE_30 = datetime.datetime(2025, 6, 30, 12, tzinfo=datetime.UTC)


class Receiver:
    """A local HTTP server that answers each POST with the next status of `answers`."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.received = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                code = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(code)
                self.end_headers()
                self.wfile.write(b"ok" if code < 300 else b"boom")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/budget"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def _over_budget(cast):
    """A use-case budget of team A at 90 % on 29 June: the 80 % alert, and no projection warning."""
    BudgetFactory(
        name="Summarizer monthly",
        scope=BudgetScope.USE_CASE,
        use_case=cast.use_case_a,
        amount=Decimal("100"),
        thresholds=[80],
    )
    DailySpendFactory(
        date=datetime.date(2025, 6, 29),
        use_case=cast.use_case_a,
        team=cast.team_a,
        effective_cost=Decimal("90"),
        billed_cost=Decimal("90"),
    )


def test_an_alert_is_posted_to_the_teams_webhook_and_retried_after_a_500(
    cast, django_capture_on_commit_callbacks
):
    with Receiver([500, 200]) as receiver:
        # Given team A's webhook, whose endpoint fails once, and a budget of team A's use case
        TeamWebhook.objects.create(team=cast.team_a, url=receiver.url)
        TeamWebhook.objects.create(team=cast.team_b, url=receiver.url + "/b")
        _over_budget(cast)

        # When evaluation fires the 80 % alert and its queued deliveries run
        with django_capture_on_commit_callbacks(execute=True):
            services.budgets_evaluate(now=JUNE_30, budget_ids=None)

    # Then the endpoint got the same Slack-style JSON twice, and the second attempt delivered it
    assert len(receiver.received) == 2
    headers, body = receiver.received[-1]
    payload = json.loads(body)
    assert set(payload) == {"text"}
    assert "Budget 80% used: Summarizer monthly" in payload["text"]
    assert "90.00 USD spent of 100.00 USD" in payload["text"]
    assert headers["Content-Type"] == "application/json"
    assert "X-Aifinops-Signature" not in headers
    delivery = WebhookDelivery.objects.get()
    assert delivery.webhook.team == cast.team_a
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        DeliveryStatus.DELIVERED,
        2,
        200,
    )
    assert delivery.delivered_at is not None


def test_a_webhook_that_keeps_failing_ends_failed_with_its_last_error(
    cast, django_capture_on_commit_callbacks
):
    with Receiver([503] * 10) as receiver:
        TeamWebhook.objects.create(team=cast.team_a, url=receiver.url)
        _over_budget(cast)

        with django_capture_on_commit_callbacks(execute=True):
            services.budgets_evaluate(now=JUNE_30)

    delivery = WebhookDelivery.objects.get()
    assert len(receiver.received) == 6  # the first try and five retries
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (DeliveryStatus.FAILED, 6, 503)
    assert "503" in delivery.last_error


def test_a_signed_webhook_carries_the_hmac_of_the_body(cast, django_capture_on_commit_callbacks):
    with Receiver([200]) as receiver:
        TeamWebhook.objects.create(team=cast.team_a, url=receiver.url, secret="s3cret")
        _over_budget(cast)

        with django_capture_on_commit_callbacks(execute=True):
            services.budgets_evaluate(now=JUNE_30)

    headers, body = receiver.received[0]
    expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["X-Aifinops-Signature"] == f"sha256={expected}"


def test_an_unreachable_endpoint_is_logged_not_raised(cast, django_capture_on_commit_callbacks):
    # A port nothing listens on: bind one, then close it.
    with Receiver([]) as receiver:
        url = receiver.url
    TeamWebhook.objects.create(team=cast.team_a, url=url)
    _over_budget(cast)

    with django_capture_on_commit_callbacks(execute=True):
        services.budgets_evaluate(now=JUNE_30)

    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.last_status_code is None
    assert delivery.last_error


def test_evaluating_again_sends_nothing_more(cast, django_capture_on_commit_callbacks):
    with Receiver([200, 200]) as receiver:
        TeamWebhook.objects.create(team=cast.team_a, url=receiver.url)
        _over_budget(cast)
        for _ in range(2):
            with django_capture_on_commit_callbacks(execute=True):
                services.budgets_evaluate(now=JUNE_30)

    assert len(receiver.received) == 1


@pytest.mark.parametrize(
    ("who", "status"), [("finance", 200), ("admin", 200), ("requester_a", 403), ("owner", 403)]
)
def test_finance_keeps_the_webhooks_and_reads_the_delivery_log(cast, login, who, status):
    webhook = TeamWebhook.objects.create(team=cast.team_a, url="https://hooks.example.com/a")
    WebhookDelivery.objects.create(webhook=webhook, payload={"text": "Budget 80% used: X"}, attempts=1)

    page = login(getattr(cast, who)).get(reverse("showback:budget_webhooks"))
    api = login(getattr(cast, who)).get("/api/v1/budgets/webhook-deliveries/")

    assert page.status_code == status
    assert api.status_code == status
    if status == 200:
        assert b"Budget 80% used: X" in page.content
        assert api.json()["results"][0]["team"] == "support"


def test_finance_adds_a_webhook_on_the_page_and_the_secret_stays_out_of_the_audit(cast, login):
    from aifinops.core.models import AuditEvent

    client = login(cast.finance)
    response = client.post(
        reverse("showback:budget_webhooks"),
        {"team": "support", "url": "https://hooks.example.com/t", "secret": "abc", "active": "on"},
    )

    assert response.status_code == 302
    webhook = TeamWebhook.objects.get()
    assert (webhook.team, webhook.secret, webhook.active) == (cast.team_a, "abc", True)
    event = AuditEvent.objects.get(action="team_webhook.create")
    assert "secret" not in event.after

    # Editing with the secret left empty keeps it.
    client.post(
        reverse("showback:budget_webhook_edit", args=[webhook.pk]),
        {"team": "support", "url": "https://hooks.example.com/t2", "secret": ""},
    )
    webhook.refresh_from_db()
    assert (webhook.url, webhook.secret, webhook.active) == ("https://hooks.example.com/t2", "abc", False)


def test_a_bad_webhook_url_is_refused_with_a_message(cast, login):
    response = login(cast.finance).post(
        reverse("showback:budget_webhooks"), {"team": "support", "url": "not a url"}
    )

    assert response.status_code == 200
    assert "url" in response.context["form"].errors
    assert not TeamWebhook.objects.exists()
