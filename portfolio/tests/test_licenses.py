"""Internal AI tools and licences: given a seat plan and the vendor's seat export, then what people see."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from aifinops.core import periods
from aifinops.core.models import AuditEvent, Notification
from portfolio.choices import MembershipRole, OptimizationStatus
from portfolio.licenses import services
from portfolio.models import BillingCycle, OptimizationItem, SeatActivity, ToolSubscription

from .factories import MembershipFactory

pytestmark = pytest.mark.django_db
TODAY = periods.today()


def _subscription(cast, **extra):
    values = {
        "vendor": "GitHub",
        "product": "Copilot Business",
        "team": cast.team_a,
        "owner": cast.owner,
        "use_case": cast.use_case_a,
        "seats": 10,
        "price_per_seat": Decimal("19"),
        "billing_cycle": BillingCycle.MONTHLY,
        "currency": "USD",
        "renewal_date": TODAY + datetime.timedelta(days=120),
    }
    return services.subscription_create(actor=cast.finance, **(values | extra))


def _csv(*rows, header="email,last_active"):
    return SimpleUploadedFile(
        "seats.csv", ("\n".join([header, *rows]) + "\n").encode(), content_type="text/csv"
    )


def _days_ago(days):
    return (TODAY - datetime.timedelta(days=days)).isoformat()


def test_seat_activity_gives_seats_in_use_cost_per_active_user_and_a_backlog_proposal(cast):
    subscription = _subscription(cast)

    found = services.seat_activity_import(
        actor=cast.owner,
        subscription=subscription,
        uploaded_file=_csv(
            f"a@x.com,{_days_ago(1)}",
            f"b@x.com,{_days_ago(29)}",
            f"c@x.com,{_days_ago(31)}",
            "d@x.com,",
            f"e@x.com,{_days_ago(3)}T10:00:00Z",
        ),
    )

    assert (found.seats, found.holders, found.active, found.unused) == (10, 5, 3, 7)
    assert found.cost_per_active_user == Decimal("190") / 3
    item = ToolSubscription.objects.get().seat_proposal
    assert item.use_case == cast.use_case_a
    assert item.lever == "license_cleanup"
    assert item.expected_monthly_savings == Decimal("133.00")  # 7 seats x 19
    assert item.title.startswith("Drop 7 unused Copilot Business seats")
    assert AuditEvent.objects.filter(action="subscription.seat_activity_import").count() == 1


def test_a_product_named_for_its_seats_says_seats_once_in_the_proposal(cast):
    # Given a tool whose product name already says "seats"
    subscription = _subscription(cast, product="ChatGPT Enterprise seats")

    # When its seat activity shows 9 of 10 seats unused
    services.seat_activity_import(
        actor=cast.owner, subscription=subscription, uploaded_file=_csv(f"a@x.com,{_days_ago(1)}")
    )

    # Then the backlog item reads as a person would write it
    renewal = subscription.renewal_date
    assert ToolSubscription.objects.get().seat_proposal.title == (
        f"Drop 9 unused ChatGPT Enterprise seats at the {renewal.day} {renewal:%b %Y} renewal"
    )


def test_a_new_export_updates_a_proposed_saving_but_leaves_an_accepted_one_alone(cast):
    subscription = _subscription(cast, billing_cycle=BillingCycle.ANNUAL, price_per_seat=Decimal("240"))
    services.seat_activity_import(
        actor=cast.finance, subscription=subscription, uploaded_file=_csv("a@x.com,")
    )
    item = OptimizationItem.objects.get()
    assert item.expected_monthly_savings == Decimal("200.00")  # 10 unused x 240 / 12

    fresh = [f"u{i}@x.com,{_days_ago(2)}" for i in range(6)]
    services.seat_activity_import(actor=cast.finance, subscription=subscription, uploaded_file=_csv(*fresh))
    item.refresh_from_db()
    assert item.expected_monthly_savings == Decimal("80.00")  # 4 unused

    item.status = OptimizationStatus.IN_PROGRESS
    item.save()
    services.seat_activity_import(
        actor=cast.finance, subscription=subscription, uploaded_file=_csv("a@x.com,")
    )
    item.refresh_from_db()
    assert item.expected_monthly_savings == Decimal("80.00")
    assert OptimizationItem.objects.count() == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (_csv(header="name,seen").read(), "No user column"),
        (_csv("a@x.com,yesterday").read(), "line 2, column last_active: 'yesterday' is not a date"),
        (
            _csv("a@x.com,2026-01-01", "A@x.com,2026-01-02").read(),
            "line 3, column email: A@x.com is already on line 2",
        ),
        (_csv(",2026-01-01").read(), "line 2, column email: the user is empty"),
        (b"", "The file is empty"),
        (b"\xff\xfe\x00", "not UTF-8"),
    ],
)
def test_a_bad_seat_export_names_the_line_and_column_and_keeps_the_seats_there_were(cast, content, message):
    subscription = _subscription(cast)
    services.seat_activity_import(
        actor=cast.finance, subscription=subscription, uploaded_file=_csv("kept@x.com,")
    )

    with pytest.raises(ValidationError) as caught:
        services.seat_activity_import(
            actor=cast.finance, subscription=subscription, uploaded_file=SimpleUploadedFile("s.csv", content)
        )

    assert message in str(caught.value)
    assert list(SeatActivity.objects.values_list("user_label", flat=True)) == ["kept@x.com"]


def test_renewals_are_announced_once_per_lead_time_to_the_owner_and_the_team_lead(cast):
    lead = MembershipFactory(team=cast.team_a, role=MembershipRole.LEAD).user
    subscription = _subscription(cast, renewal_date=TODAY + datetime.timedelta(days=75))

    first = services.renewals_warn(today=TODAY)
    again = services.renewals_warn(today=TODAY)

    assert [(s.pk, days) for s, days in first] == [(subscription.pk, 90)]
    assert again == []
    assert set(Notification.objects.values_list("recipient", flat=True)) == {cast.owner.pk, lead.pk}
    later = services.renewals_warn(today=TODAY + datetime.timedelta(days=50))  # 25 days left
    assert [days for _, days in later] == [30]
    assert subscription.warnings.count() == 3


def test_only_finance_admins_and_the_teams_owners_manage_subscriptions(cast):
    subscription = _subscription(cast)
    with pytest.raises(services.PermissionDenied):
        services.subscription_update(actor=cast.requester_a, subscription=subscription, seats=5)
    with pytest.raises(services.PermissionDenied):
        services.subscription_create(
            actor=cast.owner,
            vendor="X",
            product="Y",
            team=cast.team_b,
            seats=1,
            price_per_seat=Decimal("1"),
            renewal_date=TODAY,
        )
    updated = services.subscription_update(actor=cast.owner, subscription=subscription, seats=8)
    assert updated.seats == 8
    assert AuditEvent.objects.filter(action="subscription.update").count() == 1


def test_the_register_page_shows_each_team_its_own_tools(cast, login, django_assert_max_num_queries):
    mine = _subscription(cast)
    theirs = _subscription(cast, team=cast.team_b, product="Seats B", use_case=None)
    url = reverse("portfolio:subscription_list")

    page = login(cast.requester_a).get(url)
    assert page.status_code == 200
    assert b"Copilot Business" in page.content and b"Seats B" not in page.content
    assert (
        login(cast.requester_a).get(reverse("portfolio:subscription_detail", args=[theirs.pk])).status_code
        == 404
    )
    assert (
        login(cast.requester_a).post(reverse("portfolio:subscription_detail", args=[mine.pk])).status_code
        == 403
    )
    finance = login(cast.finance)
    for i in range(6):
        _subscription(cast, product=f"More {i}")
    with django_assert_max_num_queries(12):
        body = finance.get(url).content
    assert b"Seats B" in body and b"More 5" in body
    assert b"Register a tool" in body


def test_an_owner_registers_a_tool_and_imports_its_seats_in_the_browser_forms(cast, login):
    client = login(cast.owner)
    response = client.post(
        reverse("portfolio:subscription_list"),
        {
            "vendor": "Anthropic",
            "product": "Claude Team",
            "team": "support",
            "use_case": "support-summarizer",
            "seats": "4",
            "price_per_seat": "30",
            "billing_cycle": "monthly",
            "currency": "USD",
            "renewal_date": (TODAY + datetime.timedelta(days=40)).isoformat(),
            "auto_renews": "on",
        },
    )
    subscription = ToolSubscription.objects.get(product="Claude Team")
    assert response.status_code == 302
    assert subscription.owner == cast.owner

    bad = client.post(
        reverse("portfolio:subscription_detail", args=[subscription.pk]),
        {"action": "seats", "file": _csv("a@x.com,31/31/2026")},
    )
    assert bad.status_code == 200
    assert b"line 2, column last_active" in bad.content

    client.post(
        reverse("portfolio:subscription_detail", args=[subscription.pk]),
        {"action": "seats", "file": _csv(f"a@x.com,{_days_ago(1)}", "b@x.com,")},
    )
    page = client.get(reverse("portfolio:subscription_detail", args=[subscription.pk]))
    assert b"1 of 4" in page.content
    assert b"$120.00" in page.content  # cost per active user: 4 x 30 / 1


def test_the_api_lists_creates_and_imports_seats(cast, login):
    client = login(cast.finance)
    created = client.post(
        "/api/v1/subscriptions/",
        {
            "vendor": "OpenAI",
            "product": "ChatGPT Enterprise",
            "team": "marketing",
            "seats": 2,
            "price_per_seat": "720",
            "billing_cycle": "annual",
            "currency": "USD",
            "renewal_date": "2027-01-31",
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["monthly_cost"] == "120.00"
    pk = created.json()["id"]

    refused = client.post("/api/v1/subscriptions/", {"vendor": "X"}, content_type="application/json")
    assert refused.status_code in (400, 422)
    assert "product" in refused.content.decode()

    uploaded = client.post(
        f"/api/v1/subscriptions/{pk}/seat-activity/", {"file": _csv(f"a@x.com,{_days_ago(1)}", "b@x.com,")}
    )
    assert uploaded.status_code == 200, uploaded.content
    assert uploaded.json()["seats_in_use"] == 1
    assert uploaded.json()["cost_per_active_user"] == "120.00"
    assert login(cast.requester_a).get(f"/api/v1/subscriptions/{pk}/").status_code == 404


def test_renewals_feed_the_forecast_and_commitment_planning(cast, login):
    from showback.analytics.selectors.licences import licence_lines, licence_totals

    subscription = _subscription(cast, renewal_date=TODAY + datetime.timedelta(days=40))
    services.seat_activity_import(
        actor=cast.finance,
        subscription=subscription,
        uploaded_file=_csv(*(f"u{i}@x.com,{_days_ago(2)}" for i in range(3))),
    )

    lines = licence_lines(user=cast.finance, months=6)

    assert [(line.commit_seats, line.monthly_saving, line.horizon_cost) for line in lines] == [
        (3, Decimal("133"), Decimal("1140"))  # 7 unused x 19; 10 x 19 x 6 months
    ]
    assert licence_totals(lines)["USD"]["saving"] == Decimal("133")
    page = login(cast.finance).get(reverse("analytics:forecast_portfolio"), {"months": 6})
    assert b"Seat licences over the next 6 months" in page.content
    assert b"3 seats" in page.content and b"$133.00" in page.content
    assert licence_lines(user=cast.requester_b, months=6) == []
