import re

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from aifinops.core import views
from aifinops.core.models import ApiToken
from aifinops.core.tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_htmx_requests_carry_the_csrf_token(cast):
    # Given a browser that enforces CSRF, logged in through the login page
    client = Client(enforce_csrf_checks=True)
    page = client.get(reverse("core:login"))
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content).group(1).decode()
    client.post(
        reverse("core:login"), {"username": "req-a", "password": PASSWORD, "csrfmiddlewaretoken": token}
    )

    # When htmx posts with the header the base layout sets on <body>
    home = client.get(reverse("home")).content.decode()
    header_token = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', home).group(1)
    accepted = client.post(
        reverse("core:profile"), {"name": "htmx"}, HTTP_X_CSRFTOKEN=header_token, HTTP_HX_REQUEST="true"
    )
    refused = client.post(reverse("core:profile"), {"name": "no header"}, HTTP_HX_REQUEST="true")

    # Then the request with the header is accepted and the one without is refused
    assert accepted.status_code == 302
    assert refused.status_code == 403
    assert list(ApiToken.objects.values_list("name", flat=True)) == ["htmx"]


def test_404_page_is_friendly(login, cast):
    response = login(cast.requester_a).get("/portfolio/use-cases/nothing-here/")

    assert response.status_code == 404
    assert b"Page not found" in response.content


def test_500_page_renders_without_the_database_or_context():
    response = views.server_error(RequestFactory().get("/"))

    assert response.status_code == 500
    assert b"Something went wrong on our side" in response.content


def test_audit_log_is_for_finance_and_admins(login, cast):
    assert login(cast.requester_a).get(reverse("core:audit_log")).status_code == 403
    assert login(cast.finance).get(reverse("core:audit_log")).status_code == 200


@pytest.mark.parametrize(
    ("amount", "text"),
    [("0.075000", "$0.075"), ("2.500000", "$2.50"), ("15", "$15.00"), ("0.000100", "$0.0001"), (None, "—")],
)
def test_unit_prices_keep_their_sub_cent_digits(amount, text):
    from aifinops.core.templatetags.afo import unit_price

    assert unit_price(amount) == text
