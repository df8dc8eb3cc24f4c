"""Every main page, as each persona opens it, at a desktop and a phone width.

Given the demo data, when each demo login (requester, use-case owner, council member, chair,
finance analyst, platform admin) opens every main page it may open in Chromium at 1366 px and at
390 px, then:
- nothing scrolls sideways: the document is no wider than the window (wide tables scroll inside
  their own box);
- the browser logs no console error and no uncaught exception;
- no request the page makes (styles, scripts, images, the favicon, htmx fragments) is answered
  4xx or 5xx;
- axe-core finds no serious or critical violation, and the basics hold (one main landmark, one top
  heading, all content inside landmarks, unique landmarks) (checked once per page and persona, at 1366 px;
  the phone layout is the same markup under other media queries).

Each page is loaded once, at 1366 px, then the window is narrowed to 390 px, which re-applies the
media queries as a phone would, and measured again.

Pages a persona may not open are left out for that persona (the permission matrix tests the
refusals); a page answers 200 to the test client before Chromium opens it.
"""

import contextlib

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from aifinops.core.tests.pages import PERSONAS, main_pages
from aifinops.core.tests.test_accessibility import AXE, REQUIRED_RULES, RUN_AXE, SERIOUS

pytestmark = pytest.mark.django_db(transaction=True)

WIDTHS = (1366, 390)


def _pages_for(client, username):
    user = get_user_model().objects.get(username=username)
    client.force_login(user)
    opens = [url for url in main_pages() if client.get(url).status_code == 200]
    client.logout()
    return opens


class Watch:
    """What went wrong on a page while it loaded: console errors, exceptions, 4xx/5xx answers."""

    def __init__(self, page):
        self.problems = []
        page.on("console", lambda m: m.type == "error" and self.problems.append(f"console: {m.text}"))
        page.on("pageerror", lambda e: self.problems.append(f"exception: {e}"))
        page.on(
            "response",
            lambda r: r.status >= 400 and self.problems.append(f"{r.status} {r.request.method} {r.url}"),
        )

    def take(self):
        problems, self.problems = self.problems, []
        return problems


FITS = "() => document.documentElement.scrollWidth <= window.innerWidth"
HTMX_IDLE = "() => !document.querySelector('.htmx-request, .htmx-settling, .htmx-swapping')"


@pytest.mark.parametrize("username", PERSONAS)
def test_every_main_page_at_desktop_and_phone_width(username, demo, page, log_in, client):
    urls = _pages_for(client, username)
    assert len(urls) >= 8, f"{username} opens only {urls}"
    watch = Watch(page)
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})
    log_in(username, "demo")
    watch.take()
    found = {}
    for url in urls:
        # One load per page: at 1366 px it is checked by axe-core, then the window is narrowed to
        # 390 px, which re-applies the media queries as on a phone, and measured again.
        page.set_viewport_size({"width": WIDTHS[0], "height": 900})
        page.goto(url, wait_until="load")
        page.wait_for_function(HTMX_IDLE)
        page.add_script_tag(path=str(AXE))
        problems = [
            f"axe {v['impact']} {v['id']} ({v['help']}) at {', '.join(v['nodes'])}"
            for v in page.evaluate(RUN_AXE)
            if v["impact"] in SERIOUS or v["id"] in REQUIRED_RULES
        ]
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            # Charts redraw at the new width a moment after the window's resize event.
            with contextlib.suppress(PlaywrightTimeout):
                page.wait_for_function(FITS, timeout=3_000)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            if overflow > 0:
                problems.append(f"scrolls sideways by {overflow} px at {width} px")
        problems += watch.take()
        if problems:
            found[url] = problems

    report = "\n".join(f"{url}:\n  " + "\n  ".join(problems) for url, problems in found.items())
    assert not found, f"{username}: {len(found)} of {len(urls)} pages had problems:\n{report}"
