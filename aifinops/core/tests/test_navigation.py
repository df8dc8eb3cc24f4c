"""The one navigation: the same entries in the same order for everyone, without only the pages a
role may not open; the current part marked; a favicon, so no page's visit ends in a 404."""

import html
import re

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from .matrix_world import build_world

pytestmark = pytest.mark.django_db

PERSONAS = ("requester_a", "requester_b", "owner", "council", "chair", "finance", "admin")
EVERYTHING = [
    "Home",
    "Intake",
    "Portfolio",
    "Portfolio / Use cases",
    "Portfolio / Teams",
    "Portfolio / Model catalog",
    "Portfolio / AI tools",
    "Council",
    "Showback",
    "Showback / Spend",
    "Showback / Import spend",
    "Showback / Attribution",
    "Showback / Budgets",
    "Showback / Anomalies",
    "Showback / Forecast",
    "Showback / Chargeback",
    "Showback / Margins",
    "Showback / Commitments",
    "Showback / Exchange rates",
    "Dashboard",
    "Admin",
]
FINANCE_ONLY = {
    "Showback / Import spend",
    "Showback / Attribution",
    "Showback / Margins",
    "Showback / Commitments",
}
EXPECTED = {
    "requester_a": [e for e in EVERYTHING if e not in FINANCE_ONLY | {"Admin"}],
    "requester_b": [e for e in EVERYTHING if e not in FINANCE_ONLY | {"Admin"}],
    "owner": [e for e in EVERYTHING if e not in FINANCE_ONLY | {"Admin"}],
    "council": [e for e in EVERYTHING if e not in FINANCE_ONLY | {"Admin"}],
    "chair": [e for e in EVERYTHING if e not in FINANCE_ONLY | {"Admin"}],
    "finance": [e for e in EVERYTHING if e != "Admin"],
    "admin": EVERYTHING,
}


def _flat(items, parent=""):
    """[(label path, url)] of the bar, parents before their children."""
    found = []
    for item in items:
        label = f"{parent} / {item['label']}" if parent else item["label"]
        found.append((label, item["url"]))
        found += _flat(item["children"], label)
    return found


def _nav_html(response):
    html = response.content.decode()
    return html[html.index('id="nav-main"') : html.index("</nav>")]


@pytest.mark.parametrize("persona", PERSONAS)
def test_each_persona_gets_the_one_navigation_minus_only_what_it_may_not_open(persona, cast, login):
    # Given a persona of the permission matrix, signed in
    client = login(getattr(cast, persona))

    # When they open the home page
    response = client.get(reverse("home"))

    # Then the bar lists the one order of entries, without only those kept from the role
    entries = _flat(response.context["nav_items"])
    assert [label for label, _ in entries] == EXPECTED[persona]
    # and the page shows them in that order
    html = _nav_html(response)
    at = 0
    for label, _ in entries:
        at = html.index(f">{label.split(' / ')[-1]}<", at)
    # and every link it offers opens for them
    for label, url in entries:
        assert client.get(url).status_code == 200, f"{persona}: {label} ({url})"


@pytest.mark.parametrize("persona", PERSONAS)
def test_what_the_navigation_hides_is_what_the_page_refuses(persona, cast, login):
    # Given the whole bar, as the platform admin sees it
    full = dict(_flat(login(cast.admin).get(reverse("home")).context["nav_items"]))
    client = login(getattr(cast, persona))

    # When the persona opens each page the bar hides from them
    hidden = [label for label in EVERYTHING if label not in EXPECTED[persona]]
    answers = {label: client.get(full[label]).status_code for label in hidden}

    # Then each of them refuses the persona (the admin's pages send them to its own login)
    assert all(status in (302, 403) for status in answers.values()), answers


def test_council_sits_in_the_same_place_for_everyone_and_leads_where_each_may_go(cast, login):
    owner_bar = dict(_flat(login(cast.owner).get(reverse("home")).context["nav_items"]))
    chair_bar = dict(_flat(login(cast.chair).get(reverse("home")).context["nav_items"]))

    assert owner_bar["Council"] == reverse("council:my_items")
    assert chair_bar["Council"] == reverse("council:index")
    assert list(owner_bar).index("Council") == list(chair_bar).index("Council") == EVERYTHING.index("Council")


def test_the_current_part_and_page_are_marked(cast, login):
    client = login(cast.finance)

    response = client.get(reverse("showback:budget_list"))

    html = _nav_html(response)
    assert re.search(r'<summary class="nav-link active" aria-current="true">Showback</summary>', html)
    budgets = reverse("showback:budget_list")
    assert f'href="{budgets}" aria-current="page">Budgets<' in html
    # Spend, the showback page itself, is not current on the budgets page
    assert f'href="{reverse("showback:index")}">Spend<' in html
    # nor is any other part
    assert html.count("aria-current") == 2


def test_the_ai_tools_pages_mark_ai_tools_not_use_cases(cast, login):
    response = login(cast.requester_a).get(reverse("portfolio:subscription_list"))

    html = _nav_html(response)
    assert f'href="{reverse("portfolio:subscription_list")}" aria-current="page">AI tools<' in html
    assert f'href="{reverse("portfolio:use_case_list")}">Use cases<' in html


def test_anonymous_visitors_get_no_navigation(client):
    response = client.get(reverse("core:login"))

    assert response.context["nav_items"] == []
    assert b'id="nav-main"' not in response.content


def test_every_page_links_the_favicon_and_favicon_ico_leads_to_it(cast, login, client):
    page = login(cast.requester_a).get(reverse("home"))
    client.logout()

    response = client.get("/favicon.ico")

    assert b'rel="icon"' in page.content and b"favicon" in page.content
    assert response.status_code == 301
    assert response["Location"].endswith(".svg")
    assert finders.find("favicon.svg") is not None


def test_the_header_keeps_a_slot_for_the_search_box(cast, login):
    response = login(cast.requester_a).get(reverse("home"))

    assert "includes/search_box.html" in [t.name for t in response.templates]


HREF = re.compile(r'href="(/[^"#]*)"')
# Not pages to follow: leaving, the admin (Django's own), files and the API's docs.
NOT_FOLLOWED = ("/accounts/logout/", "/admin/", "/static/", "/api/")


@pytest.mark.parametrize("persona", ["requester_a", "owner", "chair", "finance"])
def test_no_link_two_steps_from_home_answers_404(persona, cast, login):
    # Given the world of the permission matrix, and a persona signed in
    build_world(cast)
    client = login(getattr(cast, persona))

    # When they follow every link of home, and every link of the pages those lead to
    seen, frontier, broken = set(), [reverse("home")], []
    for _depth in range(2):
        following = []
        for url in frontier:
            response = client.get(url)
            if response.status_code in (404, 500):
                broken.append((url, response.status_code))
            if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
                continue
            for href in HREF.findall(response.content.decode()):
                href = html.unescape(href)
                if href not in seen and not href.startswith(NOT_FOLLOWED):
                    seen.add(href)
                    following.append(href)
        frontier = following

    # Then none of them is missing (pages the persona may not open say so with 403, not 404)
    assert len(seen) > 30
    assert broken == []
