"""Browser journeys: Playwright driving Debian's Chromium against pytest-django's live server.

Import the fixtures in a conftest.py. A failing journey leaves a screenshot and the page's HTML
in test-artifacts/.
"""

import importlib
import os
import re
from pathlib import Path

import pytest
from django.conf import settings

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"
# Chromium's background services try the network at start; this machine has none.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


# Rows that data migrations create. A transactional test's flush removes them, and pytest-django
# runs transactional tests last, so those tests put them back with `migration_data`.
DATA_MIGRATIONS = [
    ("aifinops.core.migrations.0002_role_groups", "create_role_groups"),
    ("portfolio.migrations.0002_default_tag_schema", "create_tag_schema"),
    ("intake.migrations.0002_default_triage_rules", "create_rules"),
]


@pytest.fixture
def migration_data(transactional_db):
    from django.apps import apps

    for module, function in DATA_MIGRATIONS:
        getattr(importlib.import_module(module), function)(apps, None)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not at {CHROMIUM}: `make test` installs it (apt-get install chromium).")
    # Playwright's sync API runs an event loop in this thread; the tests' own ORM calls are still
    # synchronous and run between its calls.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        # Never let it reach processes started later (`check --deploy` refuses it, rightly).
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def page(browser, live_server, migration_data, request):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1300, "height": 900})
    context.set_default_timeout(15_000)
    # Web assertions wait as long as actions do (their own default is 5 s, which a loaded
    # machine's htmx swap can exceed).
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)
    page = context.new_page()
    yield page
    failed = getattr(request.node, "report_call", None)
    if failed is not None and failed.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.nodeid)
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        (ARTIFACTS / f"{name}.html").write_text(page.content())
    context.close()


@pytest.fixture
def log_in(page):
    def _log_in(username, password):
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(re.compile(r".*/$"))
        return page

    return _log_in
