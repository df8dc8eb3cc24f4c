"""Accessibility basics, checked by axe-core in Chromium: no serious or critical violation
(labelled form fields, colour contrast, names of links and buttons, nothing interactive nested in a
chart), and one main landmark, one top heading, all content inside landmarks, unique landmarks.

This file holds the checks and the login page; every signed-in main page is checked as each
persona opens it by test_page_sweep.py.

axe-core 4.14.1 is vendored in aifinops/core/testing/vendor/ (from `npm pack axe-core@4`, with its
MPL-2.0 licence), so the test needs no network.
"""

from pathlib import Path

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db(transaction=True)

AXE = Path(__file__).resolve().parents[1] / "testing" / "vendor" / "axe.min.js"
SERIOUS = {"serious", "critical"}
# Labelled fields are axe's critical "label" rule; one main landmark, one top heading and all
# content inside landmarks are "moderate" rules that the basics also require.
REQUIRED_RULES = {"landmark-one-main", "page-has-heading-one", "region", "landmark-unique"}
RUN_AXE = """async () => {
    const result = await axe.run(document, {resultTypes: ["violations"]});
    return result.violations.map((v) => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.slice(0, 4).map((n) => n.target.join(" ")),
    }));
}"""


def _violations(page, url):
    page.goto(url)
    page.wait_for_load_state("networkidle")
    page.add_script_tag(path=str(AXE))
    return [v for v in page.evaluate(RUN_AXE) if v["impact"] in SERIOUS or v["id"] in REQUIRED_RULES]


def test_the_login_page_has_no_serious_or_critical_accessibility_violations(page):
    # The signed-in pages are checked by test_page_sweep.py, as each persona opens them.
    violations = _violations(page, reverse("core:login"))

    assert not violations, violations
