import pytest
from django.urls import reverse

from aifinops.core.roles import Role
from aifinops.core.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_login_page_renders_for_anonymous(client):
    response = client.get(reverse("core:login"))

    assert response.status_code == 200
    assert b"Log in to aifinops" in response.content


def test_requester_logs_in_and_lands_on_their_dashboard(client, cast, password):
    response = client.post(reverse("core:login"), {"username": "req-a", "password": password}, follow=True)

    assert response.redirect_chain[-1][0] == reverse("home")
    assert b"Your teams' use cases" in response.content
    assert b"Support summarizer" in response.content
    # Only the sections a requester may open are in the navigation.
    nav = [item["section"] for item in response.context["nav_items"]]
    assert nav == ["intake", "portfolio", "dashboard", "showback"]


def test_wrong_password_is_refused_with_a_message(client, cast):
    response = client.post(reverse("core:login"), {"username": "req-a", "password": "nope"})

    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    assert "_auth_user_id" not in client.session


def test_login_is_locked_after_repeated_failures(client, settings, password):
    settings.AXES_FAILURE_LIMIT = 3
    UserFactory(username="victim", roles=[Role.REQUESTER])
    for _ in range(3):
        client.post(reverse("core:login"), {"username": "victim", "password": "guess"})

    response = client.post(reverse("core:login"), {"username": "victim", "password": password})

    assert response.status_code == 429
    assert b"Too many failed log-in attempts" in response.content
    assert "_auth_user_id" not in client.session


def test_logout_ends_the_session(login, cast):
    client = login(cast.requester_a)

    response = client.post(reverse("core:logout"))

    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 302


@pytest.mark.parametrize(
    ("username", "panel"),
    [
        ("owner", b"Use cases you own"),
        ("council-m", b"candidates to scale"),
        ("fin", b"Top use cases this month"),
        ("adm", b"Recent changes"),
    ],
)
def test_each_role_gets_its_panel(login, cast, username, panel):
    users = {u.username: u for u in (cast.owner, cast.council, cast.finance, cast.admin)}

    response = login(users[username]).get(reverse("home"))

    assert response.status_code == 200
    assert panel in response.content


def test_requester_dashboard_lists_their_intakes(login, cast):
    from intake.models import IntakeRequest

    IntakeRequest.objects.create(requester=cast.requester_a, team=cast.team_a, name="Draft idea")

    response = login(cast.requester_a).get(reverse("home"))

    assert b"Your intakes" in response.content
    assert b"Draft idea" in response.content
