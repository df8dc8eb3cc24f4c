"""A use case's value record: milestones, value signals, costs beyond the model bill, unit economics
and the optimization backlog, through the services, the page, its htmx fragments and the API."""

import datetime
import re
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from aifinops.core.models import AuditEvent, Notification
from aifinops.core.periods import month_start, months_back, today
from portfolio.choices import MilestoneStatus, OptimizationStatus
from portfolio.models import CostLine, Milestone, OptimizationItem, UseCase, ValueSignal
from portfolio.tasks import mark_missed_milestones
from portfolio.tests.factories import UseCaseFactory
from portfolio.value import economics, services
from portfolio.value.views import value_context
from showback.tests.factories import DailySpendFactory

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


def _this_month():
    return month_start(today())


def _last_month():
    return months_back(today(), 1)


def _audited(action, obj):
    return AuditEvent.objects.filter(action=action, object_type=obj._meta.label_lower, object_id=str(obj.pk))


def _spend(use_case, month, amount, currency="USD"):
    DailySpendFactory(
        use_case=use_case, team=use_case.team, date=month, effective_cost=Decimal(amount), currency=currency
    )


def _milestone(use_case, *, due, status=MilestoneStatus.PENDING, name="Pilot with 50 agents"):
    return Milestone.objects.create(use_case=use_case, name=name, due_date=due, status=status)


def _reload(use_case):
    return UseCase.objects.get(pk=use_case.pk)


def _text(response):
    """The page as a person reads it: no tags, single spaces."""
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


# Every service writes its audit event, and only owners and platform admins may call it.


def test_each_service_writes_its_audit_event(cast):
    uc, owner = cast.use_case_a, cast.owner

    milestone = services.milestone_create(
        actor=owner,
        use_case=uc,
        name="Pilot with 50 agents",
        due_date=today() + 30 * DAY,
        target_stage="pilot",
    )
    milestone = services.milestone_update(actor=owner, milestone=milestone, name="Pilot with 80 agents")
    other = services.milestone_create(actor=owner, use_case=uc, name="Launch", due_date=today() + 60 * DAY)
    services.milestone_mark_missed(actor=owner, milestone=other)
    services.milestone_mark_met(actor=owner, milestone=milestone)
    signal = services.value_signal_record(actor=owner, use_case=uc, month=_last_month(), outcomes=900)
    line = services.cost_line_record(
        actor=owner, use_case=uc, month=_last_month(), category="evaluation", amount="120.50"
    )
    services.cost_line_record(
        actor=owner, use_case=uc, month=_last_month(), category="evaluation", amount="99"
    )
    item = services.optimization_create(
        actor=owner,
        use_case=uc,
        title="Route FAQs to a small model",
        lever="model_routing",
        expected_monthly_savings="300",
    )
    services.optimization_update(actor=owner, item=item, status="in_progress")
    services.cost_line_delete(actor=owner, cost_line=line)

    assert _audited("milestone.create", milestone).exists()
    assert _audited("milestone.update", milestone).get().after["name"] == "Pilot with 80 agents"
    assert _audited("milestone.mark_missed", other).get().after["consecutive_missed_milestones"] == 1
    assert _audited("milestone.mark_met", milestone).get().after["consecutive_missed_milestones"] == 0
    assert _audited("value_signal.create", signal).get().after["outcomes"] == 900
    assert _audited("cost_line.create", line).exists()
    assert Decimal(_audited("cost_line.update", line).get().after["amount"]) == 99
    assert _audited("cost_line.delete", line).get().before["category"] == "evaluation"
    assert _audited("optimization.create", item).exists()
    assert _audited("optimization.in_progress", item).get().after["status"] == "in_progress"
    assert all(
        e.actor == owner
        for e in AuditEvent.objects.filter(
            action__regex=r"^(milestone|value_signal|cost_line|optimization)\."
        )
    )


@pytest.mark.parametrize("who", ["requester_a", "requester_b", "council", "chair", "finance"])
def test_services_refuse_anyone_but_the_owners_and_platform_admins(cast, who):
    uc, user = cast.use_case_a, getattr(cast, who)
    milestone = _milestone(uc, due=today() + 10 * DAY)
    line = CostLine.objects.create(use_case=uc, month=_last_month(), category="evaluation", amount=10)
    item = OptimizationItem.objects.create(use_case=uc, title="Cache", lever="caching")
    month = _last_month()
    calls = [
        lambda: services.milestone_create(actor=user, use_case=uc, name="X", due_date=today() + DAY),
        lambda: services.milestone_update(actor=user, milestone=milestone, name="Y"),
        lambda: services.milestone_mark_met(actor=user, milestone=milestone),
        lambda: services.milestone_mark_missed(actor=user, milestone=milestone),
        lambda: services.value_signal_record(actor=user, use_case=uc, month=month, outcomes=1),
        lambda: services.cost_line_record(
            actor=user, use_case=uc, month=month, category="evaluation", amount=1
        ),
        lambda: services.cost_line_delete(actor=user, cost_line=line),
        lambda: services.optimization_create(
            actor=user, use_case=uc, title="X", lever="caching", expected_monthly_savings=1
        ),
        lambda: services.optimization_update(actor=user, item=item, status="rejected"),
    ]
    events_before = AuditEvent.objects.count()

    for call in calls:
        with pytest.raises(PermissionDenied):
            call()

    assert AuditEvent.objects.count() == events_before
    assert Milestone.objects.get().status == MilestoneStatus.PENDING
    assert not ValueSignal.objects.exists()
    assert CostLine.objects.get().amount == 10
    assert OptimizationItem.objects.get().status == OptimizationStatus.PROPOSED


def test_a_platform_admin_may_keep_any_use_case_record(cast):
    milestone = services.milestone_create(
        actor=cast.admin, use_case=cast.use_case_b, name="MVP", due_date=today() + DAY
    )

    assert _audited("milestone.create", milestone).get().actor == cast.admin


# Milestones.


def test_a_milestone_due_in_the_past_is_refused_with_what_to_do(cast):
    with pytest.raises(ValidationError) as exc:
        services.milestone_create(
            actor=cast.owner, use_case=cast.use_case_a, name="Pilot", due_date=today() - DAY
        )

    assert "Pick today or a later date" in exc.value.message_dict["due_date"][0]
    assert not Milestone.objects.exists()


def test_overdue_pending_milestones_are_marked_missed_once_and_the_owners_told(cast):
    uc = cast.use_case_a
    overdue = _milestone(uc, due=today() - 2 * DAY, name="Pilot")
    also_overdue = _milestone(uc, due=today() - DAY, name="Evaluation set")
    due_today = _milestone(uc, due=today(), name="Due today")
    already_met = _milestone(uc, due=today() - 5 * DAY, status=MilestoneStatus.MET, name="Met")
    elsewhere = _milestone(cast.use_case_b, due=today() - DAY, name="Elsewhere")

    first = services.milestones_mark_overdue()
    second = services.milestones_mark_overdue()

    assert (first, second) == (3, 0)
    statuses = dict(Milestone.objects.values_list("name", "status"))
    assert statuses == {
        "Pilot": "missed",
        "Evaluation set": "missed",
        "Due today": "pending",
        "Met": "met",
        "Elsewhere": "missed",
    }
    assert _reload(uc).consecutive_missed_milestones == 2
    assert _reload(cast.use_case_b).consecutive_missed_milestones == 1
    assert AuditEvent.objects.filter(action="milestone.mark_missed", actor__isnull=True).count() == 3
    assert _audited("milestone.mark_missed", overdue).get().actor_label == "system"
    note = Notification.objects.get(recipient=cast.owner)
    assert note.subject == "Milestone missed: Support summarizer"
    assert "missed 2 milestones in a row" in note.body
    assert due_today.pk and also_overdue.pk and already_met.pk and elsewhere.pk


def test_meeting_a_milestone_resets_the_count_of_misses(cast):
    uc = cast.use_case_a
    _milestone(uc, due=today() - DAY)
    services.milestones_mark_overdue()
    pending = _milestone(uc, due=today() + DAY, name="Launch")
    services.milestone_mark_missed(actor=cast.owner, milestone=pending)
    assert _reload(uc).consecutive_missed_milestones == 2
    nxt = services.milestone_create(actor=cast.owner, use_case=uc, name="Scale", due_date=today() + DAY)

    services.milestone_mark_met(actor=cast.owner, milestone=nxt)

    assert _reload(uc).consecutive_missed_milestones == 0
    assert Milestone.objects.get(pk=nxt.pk).closed_at is not None


def test_a_closed_milestone_cannot_be_missed_again_nor_its_date_moved(cast):
    milestone = _milestone(cast.use_case_a, due=today() - DAY)
    services.milestones_mark_overdue()

    with pytest.raises(ValidationError) as missed:
        services.milestone_mark_missed(actor=cast.owner, milestone=milestone)
    with pytest.raises(ValidationError) as moved:
        services.milestone_update(actor=cast.owner, milestone=milestone, due_date=today() + DAY)

    assert "Only a pending milestone" in missed.value.message_dict["status"][0]
    assert "can no longer move" in moved.value.message_dict["due_date"][0]
    assert _reload(cast.use_case_a).consecutive_missed_milestones == 1


def test_the_scheduled_task_marks_overdue_milestones(cast):
    _milestone(cast.use_case_a, due=today() - DAY)

    result = mark_missed_milestones.delay()

    assert result.get() == 1
    assert Milestone.objects.get().status == MilestoneStatus.MISSED
    assert mark_missed_milestones.delay().get() == 0
    assert _reload(cast.use_case_a).consecutive_missed_milestones == 1


# Value signals and cost lines.


def test_a_value_signal_is_kept_per_month_and_recording_it_again_replaces_it(cast):
    uc = cast.use_case_a
    middle_of_last_month = _last_month() + 14 * DAY

    services.value_signal_record(
        actor=cast.owner, use_case=uc, month=middle_of_last_month, outcomes=800, quality_score="91.5"
    )
    signal = services.value_signal_record(
        actor=cast.owner, use_case=uc, month=_last_month(), outcomes=900, value_per_outcome="0.60"
    )

    assert ValueSignal.objects.count() == 1
    assert signal.month == _last_month()
    assert signal.outcomes == 900
    assert signal.value_per_outcome == Decimal("0.60")
    assert signal.quality_score is None
    assert _audited("value_signal.update", signal).get().before["outcomes"] == 800


def test_a_value_signal_without_value_per_outcome_takes_the_use_cases(cast):
    signal = services.value_signal_record(
        actor=cast.owner, use_case=cast.use_case_a, month=_this_month(), outcomes=5
    )

    assert signal.value_per_outcome == Decimal("2.50")
    assert signal.currency == "USD"


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"month": "future"}, "month", "Pick the current month or an earlier one"),
        ({"outcomes": -1}, "outcomes", "Enter a whole number (0 or more)."),
        ({"quality_score": "101"}, "quality_score", "Enter a number from 0 to 100."),
        ({"acceptance_rate": "-3"}, "acceptance_rate", "Enter a number from 0 to 100."),
        ({"value_per_outcome": "-0.5"}, "value_per_outcome", "Enter an amount of 0 or more."),
        ({"currency": "EUR"}, "currency", "Enter amounts in the use case's currency, USD"),
    ],
)
def test_a_wrong_value_signal_names_the_field_and_saves_nothing(cast, values, field, message):
    if values.get("month") == "future":
        values = {"month": months_back(today(), -1)}
    kwargs = {"month": _last_month(), "outcomes": 10, **values}

    with pytest.raises(ValidationError) as exc:
        services.value_signal_record(actor=cast.owner, use_case=cast.use_case_a, **kwargs)

    assert message in exc.value.message_dict[field][0]
    assert not ValueSignal.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="value_signal").exists()


def test_cost_lines_are_kept_per_month_and_category(cast):
    uc = cast.use_case_a
    services.cost_line_record(
        actor=cast.owner, use_case=uc, month=_last_month(), category="human_review", amount=100
    )
    services.cost_line_record(
        actor=cast.owner, use_case=uc, month=_last_month(), category="human_review", amount=150
    )
    services.cost_line_record(
        actor=cast.owner, use_case=uc, month=_last_month(), category="evaluation", amount=20
    )

    with pytest.raises(ValidationError) as exc:
        services.cost_line_record(
            actor=cast.owner, use_case=uc, month=_last_month(), category="lunch", amount=5
        )

    assert "Choose one of the cost categories" in exc.value.message_dict["category"][0]
    assert dict(CostLine.objects.values_list("category", "amount")) == {
        "human_review": Decimal("150"),
        "evaluation": Decimal("20"),
    }


# The optimization backlog.


def test_an_optimization_moves_through_its_statuses_and_records_realised_savings_when_done(cast):
    item = services.optimization_create(
        actor=cast.owner,
        use_case=cast.use_case_a,
        title="Cache the system prompt",
        lever="caching",
        expected_monthly_savings="250",
        owner=cast.owner.username,
    )
    with pytest.raises(ValidationError) as early:
        services.optimization_update(actor=cast.owner, item=item, realised_monthly_savings="10")
    with pytest.raises(ValidationError) as without:
        services.optimization_update(actor=cast.owner, item=item, status="done")

    services.optimization_update(actor=cast.owner, item=item, status="in_progress")
    done = services.optimization_update(
        actor=cast.owner, item=item, status="done", realised_monthly_savings="180"
    )

    assert "once the item is done" in early.value.message_dict["realised_monthly_savings"][0]
    assert "to mark it done" in without.value.message_dict["realised_monthly_savings"][0]
    assert done.status == OptimizationStatus.DONE
    assert done.realised_monthly_savings == Decimal("180")
    assert done.owner == cast.owner
    with pytest.raises(ValidationError) as final:
        services.optimization_update(actor=cast.owner, item=item, status="proposed")
    assert "it is final" in final.value.message_dict["status"][0]


def test_a_rejected_optimization_needs_no_savings_and_may_be_proposed_again(cast):
    item = services.optimization_create(
        actor=cast.owner,
        use_case=cast.use_case_a,
        title="Batch nightly",
        lever="batch_async",
        expected_monthly_savings=0,
    )

    rejected = services.optimization_update(actor=cast.owner, item=item, status="rejected")
    again = services.optimization_update(actor=cast.owner, item=item, status="proposed")

    assert rejected.realised_monthly_savings is None
    assert again.status == OptimizationStatus.PROPOSED
    assert _audited("optimization.rejected", item).exists()


# Unit economics.


def test_unit_economics_from_spend_outcomes_and_hidden_costs(cast):
    uc = cast.use_case_a
    month = _last_month()
    _spend(uc, month, "200")
    _spend(uc, month + 3 * DAY, "100")
    services.cost_line_record(
        actor=cast.owner, use_case=uc, month=month, category="human_review", amount="150"
    )
    services.cost_line_record(actor=cast.owner, use_case=uc, month=month, category="evaluation", amount="50")
    services.value_signal_record(
        actor=cast.owner, use_case=uc, month=month, outcomes=1000, value_per_outcome="0.60"
    )

    e = economics.unit_economics(use_case=uc, month=month)

    assert (e.model_cost, e.hidden_costs, e.full_cost) == (Decimal("300"), Decimal("200"), Decimal("500"))
    assert [(c, a) for c, _, a in e.hidden_by_category] == [
        ("human_review", Decimal("150")),
        ("evaluation", 50),
    ]
    assert str(e.cost_per_outcome_model) == "0.30"
    assert str(e.cost_per_outcome_full) == "0.50"
    assert e.viable is True
    assert str(e.margin_per_outcome) == "0.10"
    assert not e.has_expectations
    assert e.complete and not e.converted


def test_unit_economics_without_any_spend_uses_the_expected_cost_and_says_so(cast):
    e = economics.unit_economics(use_case=cast.use_case_a)

    assert e.month == _last_month()
    assert e.model_cost == Decimal("1000")
    assert e.model_cost_expected and e.outcomes_expected and e.value_expected
    assert e.outcomes == 1000
    assert e.cost_per_outcome_full == Decimal("1.00")
    assert e.viable is True


def test_unit_economics_is_not_viable_when_full_cost_per_outcome_reaches_value(cast):
    uc = cast.use_case_a
    _spend(uc, _last_month(), "2000")
    services.cost_line_record(
        actor=cast.owner, use_case=uc, month=_last_month(), category="platform_operations", amount="500"
    )

    e = economics.unit_economics(use_case=uc, month=_last_month())

    assert not e.model_cost_expected
    assert e.cost_per_outcome_model == Decimal("2.00")
    assert e.cost_per_outcome_full == Decimal("2.50")
    assert e.value_per_outcome == Decimal("2.50")
    assert e.viable is False
    assert e.margin_per_outcome == 0


def test_unit_economics_with_zero_outcomes_has_no_cost_per_outcome(cast):
    uc = cast.use_case_a
    _spend(uc, _this_month(), "10")
    services.value_signal_record(actor=cast.owner, use_case=uc, month=_this_month(), outcomes=0)

    e = economics.unit_economics(use_case=uc)

    assert e.month == _this_month()
    assert e.outcomes == 0
    assert e.cost_per_outcome_model is None and e.cost_per_outcome_full is None
    assert e.viable is None and e.margin_per_outcome is None


def test_once_spend_exists_a_month_without_spend_costs_nothing_rather_than_the_expectation(cast):
    uc = cast.use_case_a
    _spend(uc, months_back(today(), 3), "400")

    history = economics.economics_history(use_case=uc, months=6)

    assert [e.month for e in history] == [months_back(today(), n) for n in range(5, -1, -1)]
    assert [e.model_cost_expected for e in history] == [True, True, False, False, False, False]
    assert [e.model_cost for e in history][2:4] == [Decimal("400"), Decimal("0")]


def test_economics_history_reads_each_source_once_whatever_the_number_of_months(
    cast, django_assert_num_queries
):
    uc = cast.use_case_a
    for n in range(12):
        _spend(uc, months_back(today(), n), "10")
        ValueSignal.objects.create(
            use_case=uc, month=months_back(today(), n), outcomes=10, value_per_outcome=1
        )

    with django_assert_num_queries(4):
        economics.economics_history(use_case=uc, months=6)
    with django_assert_num_queries(4):
        history = economics.economics_history(use_case=uc, months=12)

    assert len(history) == 12
    assert all(e.cost_per_outcome_model == Decimal("1.00") for e in history)


# The use-case page.


def _detail(client, use_case, tab="value"):
    """The use-case page on one of its tabs: the value cards are on "value", the backlog on "backlog"."""
    return client.get(use_case.get_tab_url(tab))


def test_a_viewer_sees_the_value_section_without_forms(login, cast):
    uc = cast.use_case_a
    _milestone(uc, due=today() + DAY, name="Pilot with 50 agents")
    OptimizationItem.objects.create(use_case=uc, title="Cache the system prompt", lever="caching")

    response = _detail(login(cast.requester_a), uc)
    backlog = _detail(login(cast.requester_a), uc, "backlog")

    assert response.status_code == 200
    body = response.content.decode()
    assert "Unit economics" in body
    assert "Viable: full cost per outcome $1.00 is below value per outcome $2.50." in _text(response)
    assert "Pilot with 50 agents" in body
    assert "Cache the system prompt" in backlog.content.decode()
    assert "Add a milestone" not in body
    assert "Record a month" not in body
    assert "Propose an optimization" not in backlog.content.decode()
    assert response.context["value"]["can_manage"] is False
    assert backlog.context["value"]["can_manage"] is False


def test_the_owner_sees_the_forms_and_which_figures_are_expected(login, cast):
    client = login(cast.owner)
    response = _detail(client, cast.use_case_a)

    body = response.content.decode()
    assert "Add a milestone" in body
    assert "Record a month" in body
    assert "Record a monthly cost" in body
    assert "Propose an optimization" in _detail(client, cast.use_case_a, "backlog").content.decode()
    assert '<label class="form-label small mb-0" for="id_signal_outcomes">Outcomes' in body
    assert "no spend has been attributed to this use case yet" in body
    assert 'id="chart-unit-economics"' in body


def test_the_page_says_not_viable_when_costs_beat_value(login, cast):
    uc = cast.use_case_a
    _spend(uc, _last_month(), "600")
    services.value_signal_record(
        actor=cast.owner, use_case=uc, month=_last_month(), outcomes=1000, value_per_outcome="0.50"
    )

    body = _text(_detail(login(cast.owner), uc))

    assert "Not viable: full cost per outcome $0.60 is not below value per outcome $0.50." in body
    assert "Loss per outcome" in body


def test_the_value_section_keeps_a_constant_number_of_queries(login, cast):
    uc = cast.use_case_a
    client = login(cast.owner)
    request = RequestFactory().get("/")
    request.user = cast.owner

    def count():
        with CaptureQueriesContext(connection) as section:
            value_context(request, uc)
        with CaptureQueriesContext(connection) as page:
            assert _detail(client, uc).status_code == 200
        with CaptureQueriesContext(connection) as backlog:
            assert _detail(client, uc, "backlog").status_code == 200
        return len(section.captured_queries), len(page.captured_queries), len(backlog.captured_queries)

    few = count()
    for n in range(8):
        _milestone(uc, due=today() + (n + 1) * DAY, name=f"M{n}")
        OptimizationItem.objects.create(use_case=uc, title=f"Idea {n}", lever="caching", owner=cast.owner)
        CostLine.objects.create(
            use_case=uc,
            month=_last_month() if n % 2 else _this_month(),
            category=["evaluation", "enablement", "observability", "human_review"][n // 2],
            amount=n,
        )
        ValueSignal.objects.get_or_create(
            use_case=uc, month=months_back(today(), n), defaults={"outcomes": 5}
        )

    assert count() == few
    assert few[0] <= 9


def test_htmx_bad_input_shows_the_field_message_and_saves_nothing(login, cast):
    client = login(cast.owner)
    future = months_back(today(), -1).strftime("%Y-%m")

    response = client.post(
        reverse("portfolio:value_signal_record", args=[cast.use_case_a.key]),
        {"month": future, "outcomes": "12"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="value-signals"' in body
    assert "Pick the current month or an earlier one" in body
    assert "is-invalid" in body
    assert 'value="12"' in body
    assert not ValueSignal.objects.exists()


def test_htmx_unparseable_input_is_a_field_message_too(login, cast):
    response = login(cast.owner).post(
        reverse("portfolio:milestone_create", args=[cast.use_case_a.key]),
        {"name": "", "due_date": "soon"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert b"This field is required." in response.content
    assert b"Enter a valid date." in response.content
    assert not Milestone.objects.exists()


def test_htmx_cost_line_answers_with_its_card_and_the_economics_out_of_band(login, cast):
    response = login(cast.owner).post(
        reverse("portfolio:cost_line_record", args=[cast.use_case_a.key]),
        {"month": _last_month().strftime("%Y-%m"), "category": "human_review", "amount": "250"},
        HTTP_HX_REQUEST="true",
    )

    body = response.content.decode()
    assert 'id="value-costs"' in body
    assert "Cost line recorded." in body
    assert 'id="value-economics" aria-labelledby="h-economics" hx-swap-oob="true"' in body
    assert "$1.25" in body  # (1000 expected + 250) / 1000 expected outcomes
    assert CostLine.objects.get().amount == Decimal("250")


def test_without_htmx_a_write_redirects_back_with_a_message(login, cast):
    client = login(cast.owner)

    response = client.post(
        reverse("portfolio:milestone_create", args=[cast.use_case_a.key]),
        {"name": "Pilot", "due_date": (today() + DAY).isoformat(), "target_stage": "pilot"},
        follow=True,
    )

    # Back on the tab the form was on
    assert response.redirect_chain[-1][0].endswith(f"{cast.use_case_a.get_tab_url('value')}#value-milestones")
    assert b"Milestone added." in response.content
    assert Milestone.objects.get().target_stage == "pilot"


def test_marking_a_milestone_met_from_the_page_resets_the_count(login, cast):
    uc = cast.use_case_a
    UseCase.objects.filter(pk=uc.pk).update(consecutive_missed_milestones=3)
    milestone = _milestone(uc, due=today() + DAY)

    response = login(cast.owner).post(
        reverse("portfolio:milestone_met", args=[uc.key, milestone.pk]), HTTP_HX_REQUEST="true"
    )

    assert b"No misses in a row" in response.content
    assert _reload(uc).consecutive_missed_milestones == 0


def test_updating_an_optimization_with_a_wrong_status_shows_why(login, cast):
    uc = cast.use_case_a
    item = OptimizationItem.objects.create(
        use_case=uc,
        title="Cache",
        lever="caching",
        status="done",
        realised_monthly_savings=5,
        expected_monthly_savings=10,
    )
    data = {
        "title": "Cache",
        "lever": "caching",
        "expected_monthly_savings": "10",
        "risk": "low",
        "effort": "medium",
        "status": "proposed",
        "realised_monthly_savings": "",
    }

    response = login(cast.owner).post(
        reverse("portfolio:optimization_update", args=[uc.key, item.pk]), data, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    assert b"A done item cannot become proposed; it is final." in response.content
    assert OptimizationItem.objects.get().status == "done"


@pytest.mark.parametrize("who", ["requester_a", "finance", "chair"])
def test_non_owners_cannot_post_to_the_value_record(login, cast, who):
    response = login(getattr(cast, who)).post(
        reverse("portfolio:milestone_create", args=[cast.use_case_a.key]),
        {"name": "Pilot", "due_date": (today() + DAY).isoformat()},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 403
    assert not Milestone.objects.exists()


def test_someone_who_cannot_see_the_use_case_gets_404(login, cast):
    response = login(cast.requester_b).post(
        reverse("portfolio:value_signal_record", args=[cast.use_case_a.key]),
        {"month": "2025-01", "outcomes": 1},
    )

    assert response.status_code == 404


def test_writes_are_post_only(login, cast):
    response = login(cast.owner).get(reverse("portfolio:milestone_create", args=[cast.use_case_a.key]))

    assert response.status_code == 405


# The backlog across the portfolio.


def test_the_backlog_lists_only_visible_use_cases_and_totals_per_currency(login, cast):
    OptimizationItem.objects.create(
        use_case=cast.use_case_a, title="Route FAQs", lever="model_routing", expected_monthly_savings=300
    )
    OptimizationItem.objects.create(
        use_case=cast.use_case_a,
        title="Cache",
        lever="caching",
        status="done",
        expected_monthly_savings=100,
        realised_monthly_savings=80,
    )
    OptimizationItem.objects.create(
        use_case=cast.use_case_a,
        title="Rejected idea",
        lever="caching",
        status="rejected",
        expected_monthly_savings=999,
    )
    OptimizationItem.objects.create(
        use_case=cast.use_case_b,
        title="Hidden from team A",
        lever="caching",
        expected_monthly_savings=50,
        currency="EUR",
    )

    response = login(cast.requester_a).get(reverse("portfolio:optimization_backlog"))

    body = response.content.decode()
    assert "Route FAQs" in body and "Cache" in body
    assert "Hidden from team A" not in body
    assert response.context["totals"] == [
        {"currency": "USD", "expected": Decimal("400"), "realised": Decimal("80")}
    ]
    finance = login(cast.finance).get(reverse("portfolio:optimization_backlog"), {"lever": "caching"})
    assert {i.title for i in finance.context["page"]} == {"Hidden from team A", "Cache", "Rejected idea"}
    assert {t["currency"] for t in finance.context["totals"]} == {"USD", "EUR"}


def test_the_backlog_lists_items_by_status_in_the_choices_order_then_the_largest_saving(login, cast):
    # Given items of every status, the done one saving the most ("done" sorts first by its value)
    for title, status, saving in [
        ("Idea echo", "rejected", 900),
        ("Idea delta", "done", 800),
        ("Idea bravo", "proposed", 10),
        ("Idea charlie", "in_progress", 50),
        ("Idea alpha", "proposed", 300),
    ]:
        OptimizationItem.objects.create(
            use_case=cast.use_case_a,
            title=title,
            lever="caching",
            status=status,
            expected_monthly_savings=saving,
            realised_monthly_savings=1 if status == "done" else None,
        )
    client = login(cast.owner)
    expected = ["Idea alpha", "Idea bravo", "Idea charlie", "Idea delta", "Idea echo"]

    # When the owner reads the portfolio backlog, the use case's backlog tab and the API
    page = client.get(reverse("portfolio:optimization_backlog"))
    tab = client.get(cast.use_case_a.get_tab_url("backlog")).content.decode()
    api = client.get("/api/v1/optimizations/").json()["results"]

    # Then proposed items come first, then in progress, done and rejected, each largest saving first
    assert [i.title for i in page.context["page"]] == expected
    assert sorted(expected, key=tab.index) == expected
    assert [r["title"] for r in api] == expected


def test_the_backlog_filters_by_status_and_team(login, cast):
    OptimizationItem.objects.create(use_case=cast.use_case_a, title="A proposed", lever="caching")
    OptimizationItem.objects.create(use_case=cast.use_case_b, title="B proposed", lever="caching")
    OptimizationItem.objects.create(
        use_case=cast.use_case_b, title="B done", lever="caching", status="done", realised_monthly_savings=1
    )

    response = login(cast.finance).get(
        reverse("portfolio:optimization_backlog"), {"team": "marketing", "status": "proposed"}
    )

    assert [i.title for i in response.context["page"]] == ["B proposed"]


def test_the_backlog_keeps_a_constant_number_of_queries(login, cast, django_assert_max_num_queries):
    client = login(cast.finance)
    for n in range(25):
        uc = UseCaseFactory(team=cast.team_a if n % 2 else cast.team_b, business_owner=cast.owner)
        OptimizationItem.objects.create(
            use_case=uc, title=f"Idea {n}", lever="caching", owner=cast.owner, expected_monthly_savings=n
        )

    with django_assert_max_num_queries(12):
        response = client.get(reverse("portfolio:optimization_backlog"))

    assert response.status_code == 200
    assert response.context["page"].paginator.count == 25


# The API.


@pytest.fixture
def api():
    def _api(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    return _api


def test_the_api_lists_only_visible_rows_filtered_by_use_case(cast, api):
    _milestone(cast.use_case_a, due=today() + DAY, name="A1")
    _milestone(cast.use_case_b, due=today() + DAY, name="B1")

    mine = api(cast.requester_a).get("/api/v1/milestones/")
    finance = api(cast.finance).get("/api/v1/milestones/", {"use_case": cast.use_case_b.key})

    assert [m["name"] for m in mine.json()["results"]] == ["A1"]
    assert [(m["name"], m["use_case"]) for m in finance.json()["results"]] == [("B1", "campaign-writer")]


def test_the_api_creates_through_the_services(cast, api):
    client = api(cast.owner)

    milestone = client.post(
        "/api/v1/milestones/",
        {"use_case": cast.use_case_a.key, "name": "Pilot", "due_date": (today() + DAY).isoformat()},
        format="json",
    )
    signal = client.post(
        "/api/v1/value-signals/",
        {
            "use_case": cast.use_case_a.key,
            "month": _last_month().strftime("%Y-%m"),
            "outcomes": 700,
            "acceptance_rate": 81.5,
        },
        format="json",
    )
    line = client.post(
        "/api/v1/cost-lines/",
        {
            "use_case": cast.use_case_a.key,
            "month": _last_month().isoformat(),
            "category": "evaluation",
            "amount": "75",
        },
        format="json",
    )
    item = client.post(
        "/api/v1/optimizations/",
        {
            "use_case": cast.use_case_a.key,
            "title": "Cache",
            "lever": "caching",
            "expected_monthly_savings": "40",
            "owner": "owner",
        },
        format="json",
    )

    assert [r.status_code for r in (milestone, signal, line, item)] == [201, 201, 201, 201]
    assert signal.json()["acceptance_rate"] == "81.50"
    assert line.json()["amount"] == "75.000000"
    assert item.json()["owner"] == "owner"
    assert item.json()["status"] == "proposed"
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"milestone.create", "value_signal.create", "cost_line.create", "optimization.create"} <= actions


def test_the_api_moves_milestones_and_backlog_items(cast, api):
    client = api(cast.owner)
    milestone = _milestone(cast.use_case_a, due=today() + DAY)
    item = OptimizationItem.objects.create(use_case=cast.use_case_a, title="Cache", lever="caching")
    line = CostLine.objects.create(
        use_case=cast.use_case_a, month=_last_month(), category="evaluation", amount=1
    )

    missed = client.post(f"/api/v1/milestones/{milestone.pk}/missed/")
    renamed = client.patch(f"/api/v1/milestones/{milestone.pk}/", {"name": "Pilot, late"}, format="json")
    done = client.patch(
        f"/api/v1/optimizations/{item.pk}/",
        {"status": "done", "realised_monthly_savings": "12"},
        format="json",
    )
    deleted = client.delete(f"/api/v1/cost-lines/{line.pk}/")

    assert missed.json()["status"] == "missed"
    assert renamed.json()["name"] == "Pilot, late"
    assert done.json()["status"] == "done" and done.json()["realised_monthly_savings"] == "12.000000"
    assert deleted.status_code == 204
    assert _reload(cast.use_case_a).consecutive_missed_milestones == 1


def test_the_api_refuses_a_non_owner_with_403(cast, api):
    client = api(cast.requester_a)
    milestone = _milestone(cast.use_case_a, due=today() + DAY)

    created = client.post(
        "/api/v1/milestones/",
        {"use_case": cast.use_case_a.key, "name": "Pilot", "due_date": (today() + DAY).isoformat()},
        format="json",
    )
    met = client.post(f"/api/v1/milestones/{milestone.pk}/met/")
    signal = client.post(
        "/api/v1/value-signals/",
        {"use_case": cast.use_case_a.key, "month": "2025-01", "outcomes": 1},
        format="json",
    )

    assert [r.status_code for r in (created, met, signal)] == [403, 403, 403]
    assert created.json()["error"]["code"] == "permission_denied"
    assert Milestone.objects.get().status == "pending"
    assert not ValueSignal.objects.exists()


def test_the_api_names_the_wrong_field(cast, api):
    client = api(cast.owner)

    bad = client.post(
        "/api/v1/value-signals/",
        {
            "use_case": cast.use_case_a.key,
            "month": _last_month().isoformat(),
            "outcomes": 5,
            "quality_score": 140,
        },
        format="json",
    )
    hidden = api(cast.requester_b).post(
        "/api/v1/milestones/",
        {"use_case": cast.use_case_a.key, "name": "X", "due_date": "2099-01-01"},
        format="json",
    )

    assert bad.status_code == 400
    assert bad.json()["error"]["fields"] == {"quality_score": ["Enter a number from 0 to 100."]}
    assert hidden.status_code == 400
    assert "use_case" in hidden.json()["error"]["fields"]
    assert not ValueSignal.objects.exists() and not Milestone.objects.exists()


def test_a_cost_per_outcome_below_ten_cents_keeps_its_sub_cent_digits(cast):
    uc = cast.use_case_a
    _spend(uc, _last_month(), "42")
    ValueSignal.objects.create(use_case=uc, month=_last_month(), outcomes=10000, value_per_outcome="0.01")

    e = economics.unit_economics(use_case=uc, month=_last_month())

    assert str(e.cost_per_outcome_full) == "0.0042"
    assert e.viable is True
