"""Team visibility and role sections, on pages and the API alike."""

import pytest
from django.urls import reverse

from aifinops.core import permissions
from showback.tests.factories import DailySpendFactory

pytestmark = pytest.mark.django_db


def test_requester_sees_own_team_use_case_but_not_another_teams(login, cast):
    client = login(cast.requester_a)

    assert client.get(cast.use_case_a.get_absolute_url()).status_code == 200
    assert client.get(cast.use_case_b.get_absolute_url()).status_code == 404
    assert client.get(reverse("portfolio:team_detail", args=["marketing"])).status_code == 404
    listing = client.get(reverse("portfolio:use_case_list")).content
    assert b"Support summarizer" in listing
    assert b"Campaign writer" not in listing


def test_api_hides_other_teams_use_cases_and_spend(login, cast):
    DailySpendFactory(team=cast.team_a, use_case=cast.use_case_a)
    DailySpendFactory(team=cast.team_b, use_case=cast.use_case_b)
    client = login(cast.requester_b)

    keys = [uc["key"] for uc in client.get("/api/v1/use-cases/").json()["results"]]
    spend = client.get("/api/v1/daily-spend/").json()["results"]

    assert keys == ["campaign-writer"]
    assert client.get("/api/v1/use-cases/support-summarizer/").status_code == 404
    assert {row["team"] for row in spend} == {"marketing"}


@pytest.mark.parametrize("who", ["finance", "council", "chair", "admin"])
def test_cross_team_roles_see_every_team(login, cast, who):
    client = login(getattr(cast, who))

    assert client.get(cast.use_case_b.get_absolute_url()).status_code == 200
    assert len(client.get("/api/v1/use-cases/").json()["results"]) == 2


def test_business_owner_sees_the_use_case_they_own_outside_their_team(login, cast):
    cast.use_case_b.business_owner = cast.requester_a
    cast.use_case_b.save()

    assert login(cast.requester_a).get(cast.use_case_b.get_absolute_url()).status_code == 200


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("requester_a", 403),
        ("owner", 403),
        ("council", 200),
        ("chair", 200),
        ("finance", 200),
        ("admin", 200),
    ],
)
def test_council_section_is_for_council_finance_and_admins(login, cast, who, status):
    client = login(getattr(cast, who))

    assert client.get(reverse("council:index")).status_code == status
    assert client.get("/api/v1/councils/").status_code == status


def test_403_page_explains_and_links_home(login, cast):
    response = login(cast.requester_a).get(reverse("council:index"))

    assert b"You do not have access to this page" in response.content
    assert b"Your roles do not give access to Council" in response.content


def test_admin_section_is_for_platform_admins_only(login, cast):
    assert login(cast.finance).get("/admin/").status_code == 302
    assert login(cast.admin).get("/admin/").status_code == 200


def test_roles_are_read_once_per_user_object(cast, django_assert_num_queries):
    user = cast.requester_a
    permissions.forget(user)
    with django_assert_num_queries(2):
        for _ in range(5):
            permissions.can_view_use_case(user, cast.use_case_a)
            permissions.can_access_section(user, "council")
