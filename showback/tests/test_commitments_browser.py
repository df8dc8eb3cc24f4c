"""The commitments pages in a real browser, on the demo data, as the finance analyst: the list
shows both demo commitments with their utilisation, and the provisioned-throughput detail shows
its months, coverage, saving and its cost amortised to use cases, at desktop and phone widths.

Set COMMITMENTS_SHOTS to a directory to keep the screenshots there.
"""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from portfolio.templatetags.executive import share
from showback.commitments import selectors
from showback.models import Commitment

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = os.environ.get("COMMITMENTS_SHOTS")
PTU = "Azure OpenAI provisioned throughput, GPT-4o"
SPEND = "Anthropic committed spend, annual"


def _shot(page, name):
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def test_finance_reads_the_commitments_and_a_ptus_utilisation(demo, page, log_in):
    ptu = Commitment.objects.get(name=PTU)
    totals = selectors.commitment_get(pk=ptu.pk).totals_to_date
    log_in("finance", demo.password)

    for width, height in ((1366, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto("/showback/commitments/")
        table = page.get_by_test_id("commitments")
        expect(table.get_by_role("link", name=PTU)).to_be_visible()
        expect(table.get_by_role("link", name=SPEND)).to_be_visible()
        _shot(page, f"commitments-list-{width}")
        # nothing wider than the screen but the tables, which scroll in their own box
        assert page.evaluate("document.documentElement.scrollWidth") <= width

        table.get_by_role("link", name=PTU).click()
        expect(page.get_by_role("heading", name=PTU)).to_be_visible()
        expect(page.get_by_test_id("utilisation")).to_have_text(share(totals.utilisation, 1))
        expect(page.get_by_test_id("amortised")).to_contain_text("Unused (waste)")
        expect(page.locator("#chart-commitment .main-svg").first).to_be_attached()
        _shot(page, f"commitment-ptu-{width}")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
