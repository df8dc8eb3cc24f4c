"""Decisions waiting: an intake waiting for the council appears once, as the council's item with
its meeting once it is on an agenda, and as an intake decision before; the dashboard's filters
keep or drop it by its team."""

import pytest
from django.urls import reverse
from django.utils import timezone

from aifinops.dashboard.filters import parse_filters
from aifinops.dashboard.waiting import waiting_items
from council.services import agenda_build
from council.tests.page_fixtures import board_fixture  # noqa: F401 (fixture)
from council.tests.test_intake_review import high_risk_intake  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture(name="intake")
def intake_fixture(high_risk_intake):  # noqa: F811 (the fixture imported above)
    """Requester A's customer-facing refund agent, which triage sent to review."""
    return high_risk_intake


def _about(items, intake):
    return [(i.kind, i.url) for i in items if intake.name in i.subject]


def test_an_intake_waiting_for_the_council_is_listed_once_before_and_after_the_agenda(cast, board, intake):
    now = timezone.now()
    before = waiting_items(user=cast.finance, now=now)

    meeting = agenda_build(actor=cast.chair, council=board).meeting
    item = meeting.items.get(intake=intake)
    after = waiting_items(user=cast.finance, now=now)
    filtered = waiting_items(user=cast.finance, filters=parse_filters({}, user=cast.finance)[0], now=now)

    assert _about(before, intake) == [("Intake decision", intake.get_absolute_url())]
    on_agenda = [("Council item", reverse("council:item_detail", args=[item.pk]))]
    assert _about(after, intake) == on_agenda
    assert _about(filtered, intake) == on_agenda


def test_the_dashboard_filters_keep_the_intake_of_the_team_and_drop_it_for_another_or_a_stage(
    cast, board, intake
):
    agenda_build(actor=cast.chair, council=board)
    now = timezone.now()

    def listed(params):
        filters = parse_filters(params, user=cast.finance)[0]
        return _about(waiting_items(user=cast.finance, filters=filters, now=now), intake)

    assert [kind for kind, _ in listed({"team": cast.team_a.slug})] == ["Council item"]
    assert listed({"team": cast.team_b.slug}) == []
    assert listed({"stage": "pilot"}) == []


def test_the_dashboard_page_lists_the_intake_once(cast, board, intake, login):
    agenda_build(actor=cast.chair, council=board)

    body = login(cast.finance).get(reverse("dashboard:index")).content.decode()

    assert body.count(intake.name) == 1
