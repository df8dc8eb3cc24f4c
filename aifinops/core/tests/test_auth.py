import pytest
from django.test import Client
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
    # The one navigation, without only what a requester may not open (Admin).
    nav = [item["label"] for item in response.context["nav_items"]]
    assert nav == ["Home", "Intake", "Portfolio", "Council", "Showback", "Dashboard"]


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


def test_guessing_a_few_passwords_on_many_accounts_from_one_address_locks_the_address(client, password):
    # Given eight accounts, and one client address guessing four wrong passwords on each
    users = [UserFactory(username=f"sprayed-{i}", roles=[Role.REQUESTER]) for i in range(8)]
    for user in users:
        for guess in range(4):
            client.post(reverse("core:login"), {"username": user.username, "password": f"guess-{guess}"})

    # When that address then tries the right passwords, then each is refused, with the message
    for user in users:
        response = client.post(reverse("core:login"), {"username": user.username, "password": password})

        assert response.status_code == 429, user.username
        assert b"Too many failed log-in attempts" in response.content
        assert "_auth_user_id" not in client.session

    # And another address still logs in to the same accounts
    other = Client(REMOTE_ADDR="10.0.0.9")
    response = other.post(reverse("core:login"), {"username": users[0].username, "password": password})
    assert response.status_code == 302
    assert "_auth_user_id" in other.session


def test_a_few_failures_of_several_people_behind_one_address_lock_nobody_out(client, password):
    # Given six people behind one office address, each mistyping their password four times
    users = [UserFactory(username=f"office-{i}", roles=[Role.REQUESTER]) for i in range(6)]
    for user in users:
        for _ in range(4):
            client.post(reverse("core:login"), {"username": user.username, "password": "typo"})

    # When each types it right, then each logs in
    for user in users:
        client.logout()
        response = client.post(reverse("core:login"), {"username": user.username, "password": password})

        assert response.status_code == 302, user.username


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
