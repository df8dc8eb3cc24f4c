"""Live pages: what the value cards record refreshes the stage gate that reads it (htmx, out of band),
and old refusals at the top of the page go when the stage section is re-rendered. Sunset asks for a
confirmation the service requires, on the page and through the API alike."""

import datetime
import re

import pytest
from django.urls import reverse

from aifinops.core import periods
from aifinops.core.models import AuditEvent
from aifinops.core.services import api_token_create
from portfolio.choices import Stage
from portfolio.gates import rules as gates
from portfolio.models import UseCase
from portfolio.tests.factories import UseCaseFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def mvp(cast):
    """An MVP of team A owned by `owner`: the pilot gate asks for last month's value signal."""
    return UseCaseFactory(
        key="ticket-triage",
        name="Ticket triage",
        team=cast.team_a,
        business_owner=cast.owner,
        stage=Stage.MVP,
    )


def _item(html, code):
    """The <li> of a gate item in the rendered stage section."""
    start = html.index(f'id="item-{code}"')
    return html[start : html.index("</li>", start)]


def _stage_oob(html):
    start = html.index('<section id="stage-section"')
    return html[start : html.index("</section>", start)]


def test_recording_last_months_value_signal_meets_the_gate_that_asked_for_it(cast, login, mvp):
    # Given the gates tab asks for last month's value signal
    client = login(cast.owner)
    page = client.get(mvp.get_tab_url("gates")).content.decode()
    assert "Record last month&#x27;s value signals" in _item(page, "unit_economics_tracked")

    # When the owner records it from the value tab's card (htmx)
    response = client.post(
        reverse("portfolio:value_signal_record", args=[mvp.key]),
        {"month": gates.recent_month_start().strftime("%Y-%m"), "outcomes": "900"},
        HTTP_HX_CURRENT_URL=f"http://testserver{mvp.get_tab_url('value')}",
        **HTMX,
    )

    # Then the answer is the card, without the stage section the value tab does not hold (htmx would
    # find no target for it), but with the old alerts at the top of the page cleared
    body = response.content.decode()
    assert 'id="value-signals"' in body
    assert 'id="stage-section"' not in body
    assert '<div id="stage-alerts" hx-swap-oob="true"></div>' in body
    # ... and the gates tab, opened next, has the item met
    item = _item(client.get(mvp.get_tab_url("gates")).content.decode(), "unit_economics_tracked")
    assert "Met:" in item and "Record last month" not in item


def test_a_value_change_sent_from_the_gates_tab_refreshes_its_stage_section(cast, login, mvp):
    # Given a page holding the stage section sends a value signal (its HX-Current-URL)
    client = login(cast.owner)
    response = client.post(
        reverse("portfolio:value_signal_record", args=[mvp.key]),
        {"month": gates.recent_month_start().strftime("%Y-%m"), "outcomes": "900"},
        HTTP_HX_CURRENT_URL=f"http://testserver{mvp.get_tab_url('gates')}",
        **HTMX,
    )

    # Then the stage section travels along out of band, the item met
    section = _stage_oob(response.content.decode())
    assert 'hx-swap-oob="true"' in section.split(">", 1)[0]
    assert "Met:" in _item(section, "unit_economics_tracked")


def test_adding_a_pending_milestone_refreshes_the_launch_gate(cast, login):
    # Given a pilot whose launch gate asks for a pending review milestone
    pilot = UseCaseFactory(key="pilot-uc", team=cast.team_a, business_owner=cast.owner, stage=Stage.PILOT)
    client = login(cast.owner)
    page = client.get(pilot.get_tab_url("gates")).content.decode()
    assert "Add a pending milestone for the review." in _item(page, "post_decision_review_scheduled")

    # When the owner adds one (htmx)
    response = client.post(
        reverse("portfolio:milestone_create", args=[pilot.key]),
        {
            "name": "Post-launch review",
            "due_date": (periods.today() + datetime.timedelta(days=60)).isoformat(),
            "target_stage": "launch",
        },
        **HTMX,
    )

    # Then the gates tab has the item met
    assert 'id="value-milestones"' in response.content.decode()
    page = client.get(pilot.get_tab_url("gates")).content.decode()
    assert "Met:" in _item(page, "post_decision_review_scheduled")


def test_a_refused_move_stays_on_the_page_until_the_section_is_re_rendered(cast, login, mvp):
    # Given a browser (no htmx) tried to move before the gate was complete
    client = login(cast.owner)
    client.post(reverse("portfolio:stage_move", args=[mvp.key]), {"target_stage": "pilot"})
    page = client.get(mvp.get_tab_url("gates")).content.decode()
    alerts = page.split('<div id="stage-alerts">', 1)[1].split("</div>\n    </div>", 1)[0]
    assert "Ticket triage cannot move to Pilot" in alerts

    # When an item is attested (htmx)
    response = client.post(
        reverse("portfolio:gate_item_attest", args=[mvp.key, "guardrails_enforced"]),
        {"evidence": "Gateway config, PR 412."},
        **HTMX,
    )

    # Then the answer empties the alerts out of band: the section says what is still open
    body = response.content.decode()
    assert '<div id="stage-alerts" hx-swap-oob="true"></div>' in body
    assert "attested by" in _item(body, "guardrails_enforced")


def test_a_refused_move_through_htmx_shows_in_the_section_and_goes_with_the_next_change(cast, login, mvp):
    client = login(cast.owner)
    refused = client.post(reverse("portfolio:stage_move", args=[mvp.key]), {"target_stage": "pilot"}, **HTMX)
    assert "cannot move to Pilot" in refused.content.decode()

    after = client.post(
        reverse("portfolio:gate_item_attest", args=[mvp.key, "guardrails_enforced"]),
        {"evidence": "Gateway config, PR 412."},
        **HTMX,
    )
    assert "cannot move to Pilot" not in after.content.decode()


# Sunset asks first.


@pytest.fixture
def retiring(cast):
    """A pilot of team A with its sunset criteria attested: an admin may sunset it."""
    use_case = UseCaseFactory(
        key="old-bot", name="Old bot", team=cast.team_a, business_owner=cast.owner, stage=Stage.PILOT
    )
    from portfolio import services

    services.gate_item_attest(
        actor=cast.owner, use_case=use_case, code="sunset_criteria", evidence="Replaced by the new bot."
    )
    return use_case


def test_the_page_says_what_sunset_does_before_it_does_it(cast, login, retiring):
    page = login(cast.admin).get(retiring.get_tab_url("gates")).content.decode()

    assert "Sunset Old bot?" in page
    assert "cannot move back to any stage" in page
    assert 'name="confirm" value="yes"' in page


def test_sunset_without_confirm_changes_nothing_and_says_why(cast, login, retiring):
    response = login(cast.admin).post(
        reverse("portfolio:stage_move", args=[retiring.key]), {"target_stage": "sunset"}, **HTMX
    )

    assert "Sunset is final" in response.content.decode()
    assert UseCase.objects.get(pk=retiring.pk).stage == Stage.PILOT
    assert not AuditEvent.objects.filter(action="use_case.move").exists()


def test_sunset_with_confirm_moves_it_audited_and_reloads_the_page(cast, login, retiring):
    response = login(cast.admin).post(
        reverse("portfolio:stage_move", args=[retiring.key]),
        {"target_stage": "sunset", "confirm": "yes"},
        **HTMX,
    )

    assert response.headers["HX-Redirect"] == retiring.get_tab_url("gates")
    assert UseCase.objects.get(pk=retiring.pk).stage == Stage.SUNSET
    event = AuditEvent.objects.get(action="use_case.move")
    assert event.after["stage"] == Stage.SUNSET


@pytest.mark.parametrize(
    "body", [{}, {"confirm": False}, {"confirm": "maybe"}, {"confirm": "\x00"}, {"confirm": [True]}]
)
def test_the_api_sunset_needs_confirm_true_and_names_it(cast, client, retiring, body):
    token = api_token_create(user=cast.admin, name="t")[1]
    url = f"/api/v1/use-cases/{retiring.key}/sunset/"

    response = client.post(url, body, content_type="application/json", HTTP_AUTHORIZATION=f"Token {token}")

    assert response.status_code == 400, response.content
    assert "confirm" in response.json()["error"]["fields"]
    assert UseCase.objects.get(pk=retiring.pk).stage == Stage.PILOT


def test_the_api_sunset_refuses_a_body_that_is_not_an_object(cast, client, retiring):
    token = api_token_create(user=cast.admin, name="t")[1]

    response = client.post(
        f"/api/v1/use-cases/{retiring.key}/sunset/",
        [True],
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token}",
    )

    assert response.status_code == 400
    assert UseCase.objects.get(pk=retiring.pk).stage == Stage.PILOT


def test_the_api_sunset_with_confirm_true_moves_it(cast, client, retiring):
    token = api_token_create(user=cast.admin, name="t")[1]

    response = client.post(
        f"/api/v1/use-cases/{retiring.key}/sunset/",
        {"confirm": True},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token}",
    )

    assert response.status_code == 200
    assert response.json()["stage"] == "sunset"
    assert AuditEvent.objects.filter(action="use_case.move").count() == 1


def _ids(html):
    return set(re.findall(r'\sid="([^"]+)"', html))


def _oob_targets(html):
    """The ids of the elements an htmx answer swaps out of band."""
    return {
        re.search(r'\sid="([^"]+)"', tag).group(1)
        for tag in re.findall(r"<[a-z]+\s[^>]*hx-swap-oob[^>]*>", html)
    }


@pytest.mark.parametrize(
    ("url_name", "data"),
    [
        ("value_signal_record", {"month": "{month}", "outcomes": "900"}),
        ("value_signal_record", {"month": "not a month", "outcomes": "900"}),
        ("milestone_create", {"name": "Review", "due_date": "{due}", "target_stage": "pilot"}),
        ("milestone_create", {"name": "", "due_date": "{due}"}),
        ("cost_line_record", {"month": "{month}", "category": "evaluation", "amount": "120"}),
        ("cost_line_record", {"month": "{month}", "category": "evaluation", "amount": "-5"}),
    ],
)
def test_a_value_tab_form_answers_no_out_of_band_element_missing_from_the_tab(
    cast, login, mvp, url_name, data
):
    # Given the owner has the value tab open (the whole page: base.html's #stage-alerts is on it)
    client = login(cast.owner)
    value_tab = mvp.get_tab_url("value")
    on_page = _ids(client.get(value_tab).content.decode())
    filled = {
        key: value.format(
            month=gates.recent_month_start().strftime("%Y-%m"),
            due=(periods.today() + datetime.timedelta(days=30)).isoformat(),
        )
        for key, value in data.items()
    }

    # When a card's form is sent from it (htmx), valid or not
    response = client.post(
        reverse(f"portfolio:{url_name}", args=[mvp.key]),
        filled,
        HTTP_HX_CURRENT_URL=f"http://testserver{value_tab}",
        **HTMX,
    )

    # Then every element swapped out of band has its target on the value tab
    assert response.status_code == 200
    targets = _oob_targets(response.content.decode())
    assert targets, "the answer carries the cleared stage alerts at least"
    assert targets <= on_page, targets - on_page
