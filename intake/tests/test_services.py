"""Intake lifecycle through the services: given an intake, when a step runs, then what a user sees."""

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from aifinops.core.exceptions import ConflictError
from aifinops.core.models import AuditEvent, Notification
from intake import services
from intake.forms import DRAFT, SUBMIT, IntakeForm
from intake.models import IntakeRequest, IntakeStatus, ReviewPath
from portfolio.models import UseCase

pytestmark = pytest.mark.django_db


def _save(user, data, mode=DRAFT):
    form = IntakeForm(data, user=user, mode=mode)
    assert form.is_valid(), form.errors
    return services.intake_save(actor=user, values=form.cleaned_data)


def test_low_risk_intake_is_fast_tracked_into_a_concept_use_case(
    cast, intake_data, django_capture_on_commit_callbacks
):
    intake = _save(cast.requester_a, intake_data)

    with django_capture_on_commit_callbacks(execute=True):
        intake = services.intake_submit(actor=cast.requester_a, intake=intake)

    assert intake.status == IntakeStatus.ACCEPTED
    assert intake.risk_tier == "low"
    assert intake.review_path == ReviewPath.FAST_TRACK
    use_case = UseCase.objects.get(key="macro-suggestions")
    assert use_case.stage == "concept"
    assert use_case.intake == intake
    assert use_case.team == cast.team_a
    assert use_case.business_owner == cast.owner
    assert use_case.tags == {"function": "customer_support", "workflow": "ticket reply"}
    assert [m.key for m in use_case.ai_models.all()] == ["gpt-4.1-mini"]
    actions = list(
        AuditEvent.objects.filter(object_type="intake.intakerequest").values_list("action", flat=True)
    )
    assert sorted(actions) == sorted(["intake.create", "intake.submit", "intake.triage", "intake.accept"])
    assert AuditEvent.objects.filter(action="use_case.register", object_id=str(use_case.pk)).exists()
    assert Notification.objects.filter(recipient=cast.requester_a, subject__contains="accepted").exists()
    assert any("ai-use-case: macro-suggestions" in m.body for m in mail.outbox)


def test_customer_facing_intake_waits_for_review_and_deciders_are_told(cast, intake_data):
    intake = _save(cast.requester_a, {**intake_data, "customer_impact": "customer_facing"})

    intake = services.intake_submit(actor=cast.requester_a, intake=intake)

    assert intake.status == IntakeStatus.TRIAGED
    assert intake.review_required
    assert intake.risk_tier == "high"
    assert [r["text"] for r in intake.triage_reasons] == ["Customer-facing: its output reaches customers."]
    assert not UseCase.objects.filter(key="macro-suggestions").exists()
    assert Notification.objects.filter(recipient=cast.admin, subject__startswith="Intake to review").exists()
    assert Notification.objects.filter(recipient=cast.chair, subject__startswith="Intake to review").exists()


def test_admin_accepts_and_rejects_triaged_intakes(cast, intake_data):
    first = services.intake_submit(
        actor=cast.requester_a, intake=_save(cast.requester_a, {**intake_data, "customer_impact": "indirect"})
    )
    second = services.intake_submit(
        actor=cast.requester_a,
        intake=_save(cast.requester_a, {**intake_data, "name": "Other", "personal_data": "on"}),
    )

    accepted = services.intake_accept(actor=cast.admin, intake=first, note="Fine with guardrails")
    rejected = services.intake_reject(
        actor=cast.chair, intake=second, reason="Duplicate of support drafter", confirm=True
    )

    assert accepted.status == IntakeStatus.ACCEPTED
    assert accepted.use_case.stage == "concept"
    assert accepted.decided_by == cast.admin
    assert rejected.status == IntakeStatus.REJECTED
    assert rejected.decision_note == "Duplicate of support drafter"
    assert Notification.objects.filter(recipient=cast.requester_a, subject__endswith="rejected").exists()


def test_reject_needs_a_reason(cast, intake_data):
    intake = services.intake_submit(
        actor=cast.requester_a, intake=_save(cast.requester_a, {**intake_data, "customer_impact": "indirect"})
    )

    with pytest.raises(ValidationError) as error:
        services.intake_reject(actor=cast.admin, intake=intake, reason="  ")

    assert "reason" in error.value.message_dict
    intake.refresh_from_db()
    assert intake.status == IntakeStatus.TRIAGED


def test_reject_needs_confirm_and_changes_nothing_without_it(cast, intake_data):
    intake = services.intake_submit(
        actor=cast.requester_a, intake=_save(cast.requester_a, {**intake_data, "customer_impact": "indirect"})
    )

    with pytest.raises(ValidationError) as error:
        services.intake_reject(actor=cast.admin, intake=intake, reason="Too costly")

    assert error.value.message_dict["confirm"][0].startswith(f"Rejecting closes {intake.reference}")
    intake.refresh_from_db()
    assert intake.status == IntakeStatus.TRIAGED
    assert not AuditEvent.objects.filter(action="intake.reject").exists()


def test_a_step_that_is_no_longer_allowed_is_a_conflict_not_a_crash(cast, intake_data):
    intake = services.intake_submit(actor=cast.requester_a, intake=_save(cast.requester_a, intake_data))

    with pytest.raises(ConflictError, match="is accepted: it cannot be withdrawn now"):
        services.intake_withdraw(actor=cast.requester_a, intake=intake)


def test_submit_refuses_an_incomplete_draft_and_keeps_it_a_draft(cast, intake_data):
    intake = _save(
        cast.requester_a,
        {
            "name": "Half done",
            "team": "support",
            "currency": "USD",
            "user_audience": "internal",
            "data_classification": "internal",
            "customer_impact": "none",
            "autonomy_level": "assistive",
            "environment": "development",
        },
    )

    with pytest.raises(ValidationError) as error:
        services.intake_submit(actor=cast.requester_a, intake=intake)

    problems = error.value.message_dict
    assert problems["business_owner"] == ["Name the business owner, who answers for its value."]
    assert "ai_models" in problems
    intake.refresh_from_db()
    assert intake.status == IntakeStatus.DRAFT
    assert not AuditEvent.objects.filter(action="intake.submit").exists()


def test_a_failed_submit_writes_nothing(cast, intake_data, monkeypatch):
    intake = _save(cast.requester_a, intake_data)

    def broken_register(**kwargs):
        raise RuntimeError("portfolio unavailable")

    monkeypatch.setattr(services, "use_case_register", broken_register)
    with pytest.raises(RuntimeError):
        services.intake_submit(actor=cast.requester_a, intake=intake)

    intake.refresh_from_db()
    assert intake.status == IntakeStatus.DRAFT
    assert not AuditEvent.objects.filter(action__in=["intake.submit", "intake.triage"]).exists()
    assert not Notification.objects.exists()


def test_editing_someone_elses_draft_is_refused(cast, intake_data):
    intake = _save(cast.requester_a, intake_data)
    form = IntakeForm({**intake_data, "name": "Hijacked"}, instance=intake, user=cast.owner)
    assert form.is_valid()

    with pytest.raises(PermissionDenied):
        services.intake_save(actor=cast.owner, values=form.cleaned_data, intake=intake)

    assert IntakeRequest.objects.get(pk=intake.pk).name == "Macro suggestions"


def test_the_key_of_an_existing_use_case_cannot_be_proposed(cast, intake_data):
    form = IntakeForm(
        {**intake_data, "proposed_key": "support-summarizer"}, user=cast.requester_a, mode=SUBMIT
    )

    assert not form.is_valid()
    assert form.errors["proposed_key"] == [
        "The key “support-summarizer” is already used by the use case Support summarizer: choose another."
    ]


def test_nobody_decides_an_intake_they_requested(cast, intake_data):
    draft = services.intake_save(
        actor=cast.admin, values=_clean(cast.admin, {**intake_data, "customer_impact": "indirect"})
    )
    mine = services.intake_submit(actor=cast.admin, intake=draft)

    with pytest.raises(PermissionDenied, match="someone else must accept it"):
        services.intake_accept(actor=cast.admin, intake=mine)

    assert services.intake_accept(actor=cast.chair, intake=mine).status == IntakeStatus.ACCEPTED


def _clean(user, data):
    form = IntakeForm(data, user=user, mode=SUBMIT)
    assert form.is_valid(), form.errors
    return form.cleaned_data
