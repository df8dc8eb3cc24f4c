"""A negotiated price in a real browser: a platform admin opens a model of the catalog, adds the
company's negotiated price effective earlier this month, reads the re-costing it made, and finds
the changed estimate, named by that price, on the reconciliation page.

Set PRICE_BOOK_JOURNEY_SHOTS to a directory to keep screenshots at 1366 and 390 pixels wide.
"""

import datetime
import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from aifinops.core import periods
from aifinops.core.models import AuditEvent
from showback.models import DailySpend, UsageEvent
from showback.rollups import daily_spend_rebuild

from .gateway_helpers import bearer, event, iso

# The live server reads what the test writes, so the data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = os.environ.get("PRICE_BOOK_JOURNEY_SHOTS")


def _shots(page, name):
    if not SHOTS:
        return
    Path(SHOTS).mkdir(parents=True, exist_ok=True)
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(Path(SHOTS) / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1300, "height": 900})


def test_an_admin_adds_a_negotiated_price_and_the_estimate_is_recosted(
    page, log_in, password, cast, catalog, gateway_key, redis_clean
):
    today = periods.today()
    month_start = periods.month_start(today)
    now = datetime.datetime.now(tz=datetime.UTC)
    answer = bearer(gateway_key.raw).post(
        "/api/v1/usage-events/",
        {
            "events": [
                event(
                    f"r{i}",
                    timestamp=iso(now - datetime.timedelta(minutes=5 + i)),
                    input_tokens=400_000,
                    output_tokens=100_000,
                )
                for i in range(5)
            ]
        },
        format="json",
    )
    assert answer.status_code == 200, answer.content
    daily_spend_rebuild(start=month_start, end=today)
    estimated = DailySpend.objects.filter(is_estimated=True)
    assert sum(d.estimated_cost for d in estimated) == Decimal("8")  # 5 x (0.4 x $2 + 0.1 x $8)

    log_in(cast.admin.username, password)
    page.goto("/showback/reconciliation/")
    expect(page.get_by_role("row", name=re.compile("OpenAI")).first).to_contain_text("$8.00")
    _shots(page, "0-reconciliation-before")
    page.goto("/portfolio/models/")
    page.get_by_role("link", name="GPT mini").click()
    expect(page.get_by_role("region", name="Price history")).to_be_visible()
    _shots(page, "1-model-before")

    form = page.locator("form", has=page.get_by_role("button", name="Add price"))
    form.get_by_label("Kind").select_option("negotiated")
    form.get_by_label("Effective from").fill(month_start.isoformat())
    form.get_by_label("Input / 1M tokens").fill("1")
    form.get_by_label("Output / 1M tokens").fill("4")
    form.get_by_label("Note").fill("Enterprise agreement")
    form.get_by_role("button", name="Add price").click()

    message = page.get_by_text(re.compile(r"Re-costed 5 estimated usage events since"))
    expect(message).to_be_visible()
    expect(message).to_contain_text("$8.00 → $4.00")
    expect(page.get_by_text(re.compile(r"5 estimated usage events since .* re-costed"))).to_be_visible()
    _shots(page, "2-model-after")

    page.goto("/showback/reconciliation/")
    expect(page.get_by_role("row", name=re.compile("OpenAI")).first).to_contain_text("$4.00")
    expect(page.get_by_role("row", name=re.compile("Estimate priced at"))).to_contain_text(
        re.compile(
            # The month's volume decides the tier: 2,500,000 tokens (fewer if the calls straddle two months).
            r"GPT mini \(month volume [\d,]+ tokens\): "
            + re.escape(
                f"negotiated price, standard tier, from {month_start:%-d %b %Y} ($1.00 / $4.00 per 1M tokens)"
            )
        )
    )
    _shots(page, "3-reconciliation")

    # A requester reads the price history but has no form to change it.
    page.context.clear_cookies()
    log_in(cast.requester_a.username, password)
    page.goto("/portfolio/models/")
    _shots(page, "4-catalog-as-requester")
    page.get_by_role("link", name="GPT mini").click()
    expect(page.get_by_role("region", name="Price history")).to_contain_text("Enterprise agreement")
    expect(page.get_by_role("button", name="Add price")).to_have_count(0)
    _shots(page, "5-model-as-requester")

    assert sum(UsageEvent.objects.values_list("cost", flat=True)) == Decimal("4")
    assert AuditEvent.objects.filter(action="ai_model.recost", actor=cast.admin).count() == 1
