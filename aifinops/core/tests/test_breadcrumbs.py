"""Every detail page says where it sits, in the one breadcrumb trail (templates/includes/breadcrumbs.html):
each step links to the list or page above it, and the last names the page itself."""

import re

import pytest
from django.template import Context, Template, TemplateSyntaxError
from django.urls import reverse

from .matrix_world import build_world

pytestmark = pytest.mark.django_db

TRAIL = re.compile(r'<nav aria-label="breadcrumb"[^>]*><ol class="breadcrumb">(.*?)</ol></nav>', re.S)
STEP = re.compile(r'<li class="breadcrumb-item"><a href="([^"]+)">')

# URL name, its kwargs from the world, and the lists its trail must lead back to.
DETAIL_PAGES = [
    ("portfolio:use_case_detail", {"key": "use_case_a"}, ["portfolio:use_case_list"]),
    ("portfolio:team_detail", {"slug": "team_a"}, ["portfolio:team_list"]),
    ("portfolio:subscription_detail", {"pk": "subscription_a"}, ["portfolio:subscription_list"]),
    ("intake:detail", {"pk": "intake_a"}, ["intake:index"]),
    ("council:meeting_detail", {"pk": "meeting"}, ["council:index", "council:meeting_list"]),
    ("council:item_detail", {"pk": "item_a"}, ["council:index"]),
    ("showback:budget_detail", {"pk": "budget_a"}, ["showback:index", "showback:budget_list"]),
    ("showback:import_detail", {"pk": "import_batch"}, ["showback:index", "showback:import_list"]),
    ("analytics:anomaly_detail", {"pk": "anomaly_a"}, ["showback:index", "analytics:anomaly_list"]),
    (
        "analytics:forecast_use_case",
        {"key": "use_case_a"},
        ["showback:index", "analytics:forecast_portfolio"],
    ),
]


@pytest.mark.parametrize(("name", "kwargs", "lists"), DETAIL_PAGES, ids=[p[0] for p in DETAIL_PAGES])
def test_each_detail_page_has_a_trail_back_to_its_lists(cast, login, name, kwargs, lists):
    # Given the world of the permission matrix, seen by the platform admin
    world = build_world(cast)
    client = login(cast.admin)

    # When they open a detail page
    response = client.get(reverse(name, kwargs={k: world[v] for k, v in kwargs.items()}))

    # Then it has one trail, whose steps lead to its lists, in order, and which ends on the page
    assert response.status_code == 200
    trails = TRAIL.findall(response.content.decode())
    assert len(trails) == 1
    steps = STEP.findall(trails[0])
    expected = [reverse(list_name) for list_name in lists]
    assert [s for s in steps if s in expected] == expected
    assert 'aria-current="page"' in trails[0]
    for step in steps:
        assert client.get(step).status_code == 200, step


def test_an_owner_outside_the_council_is_led_back_to_their_items_not_to_a_refusal(cast, login):
    # Given an agenda item of the owner's use case; the owner does not sit on the council
    world = build_world(cast)
    client = login(cast.owner)

    # When they open the item
    response = client.get(reverse("council:item_detail", args=[world["item_a"]]))

    # Then its trail leads to where their items stand, and every step opens for them
    steps = STEP.findall(TRAIL.findall(response.content.decode())[0])
    assert steps == [reverse("council:my_items")]
    assert all(client.get(step).status_code == 200 for step in steps)


def test_a_step_without_a_page_is_text_and_a_wrong_trail_is_a_template_error():
    rendered = Template('{% load afo %}{% breadcrumbs "Council" "" "My items" %}').render(Context())

    assert '<li class="breadcrumb-item">Council</li>' in rendered
    assert '<li class="breadcrumb-item active" aria-current="page">My items</li>' in rendered
    with pytest.raises(TemplateSyntaxError):
        Template('{% load afo %}{% breadcrumbs "Council" "council:index" %}').render(Context())


def test_labels_are_escaped(cast):
    rendered = Template('{% load afo %}{% breadcrumbs "Portfolio" "portfolio:use_case_list" name %}').render(
        Context({"name": "<script>x</script>"})
    )

    assert "<script>" not in rendered and "&lt;script&gt;" in rendered
