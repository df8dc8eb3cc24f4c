"""Changing the triage rules re-triages the open intakes, and the preview says beforehand exactly
what the save then does: given open and decided intakes, when a rule changes, then what moves."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from aifinops.core.exceptions import ConflictError
from aifinops.core.models import AuditEvent, Notification
from council.tests.factories import IntakeRequestFactory
from intake import services
from intake.models import IntakeRequest, IntakeStatus, ReviewPath, TriageRule, TriageRuleCode
from intake.retriage import result_as_stored, stored_result, triage_rules_preview
from intake.selectors import triage_rule_settings
from intake.triage import IntakeFacts, RuleSetting, triage
from portfolio.choices import AutonomyLevel, CustomerImpact, DataClassification, RiskTier, UserAudience

pytestmark = pytest.mark.django_db
C = TriageRuleCode


def _intake(cast, status=IntakeStatus.TRIAGED, **facts):
    """An intake of team A in `status`, holding the triage the rules in force give it."""
    intake = IntakeRequestFactory(
        requester=cast.requester_a, team=cast.team_a, use_case=None, status=status, decided_at=None, **facts
    )
    stored = result_as_stored(triage(IntakeFacts.of(intake), triage_rule_settings()))
    IntakeRequest.objects.filter(pk=intake.pk).update(**stored)
    intake.refresh_from_db()
    return intake


def test_a_rule_change_re_triages_the_open_intakes_it_affects_and_audits_each(
    cast, django_capture_on_commit_callbacks
):
    # Given an open intake with personal data (medium risk, review) and one with nothing risky
    personal = _intake(cast, personal_data=True, name="Personal")
    plain = _intake(cast, name="Plain")
    assert personal.risk_tier == RiskTier.MEDIUM

    # When the admin previews and then saves: personal data now counts as high risk
    edits = {C.PERSONAL_DATA: RuleSetting(tier=RiskTier.HIGH)}
    preview, fingerprint = triage_rules_preview(edits=edits)
    with django_capture_on_commit_callbacks(execute=True):
        done = services.triage_rules_change(actor=cast.admin, edits=edits, expected_fingerprint=fingerprint)

    # Then the preview named only the personal-data intake, and the save moved only it
    assert [c.intake.pk for c in preview] == [personal.pk]
    assert [c.intake.pk for c in done] == [personal.pk]
    assert preview[0].tier_before == "Medium" and preview[0].tier_after == "High"
    assert preview[0].why == ["Personal data. Medium → High"]
    personal.refresh_from_db()
    assert personal.risk_tier == RiskTier.HIGH
    assert personal.status == IntakeStatus.TRIAGED
    plain.refresh_from_db()
    assert plain.risk_tier == RiskTier.LOW
    # and the rule and the intake each have their audit event, and the requester is told
    assert TriageRule.objects.get(code=C.PERSONAL_DATA).tier == RiskTier.HIGH
    assert AuditEvent.objects.filter(action="triage_rule.update", actor=cast.admin).count() == 1
    event = AuditEvent.objects.get(action="intake.retriage")
    assert event.object_id == str(personal.pk)
    assert event.before["risk_tier"] == "medium" and event.after["risk_tier"] == "high"
    assert Notification.objects.filter(recipient=cast.requester_a, subject__contains="re-triaged").exists()


def test_decided_intakes_and_drafts_keep_their_triage(cast):
    # Given intakes with personal data that are accepted, rejected, withdrawn, or still drafts
    kept = [
        _intake(cast, status=status, personal_data=True)
        for status in (
            IntakeStatus.ACCEPTED,
            IntakeStatus.REJECTED,
            IntakeStatus.WITHDRAWN,
            IntakeStatus.DRAFT,
        )
    ]

    # When personal data becomes critical
    edits = {C.PERSONAL_DATA: RuleSetting(tier=RiskTier.CRITICAL)}
    preview, _ = triage_rules_preview(edits=edits)
    done = services.triage_rules_change(actor=cast.admin, edits=edits)

    # Then nothing is re-triaged
    assert preview == [] and done == []
    for intake in kept:
        before = stored_result(intake)
        intake.refresh_from_db()
        assert stored_result(intake) == before
    assert not AuditEvent.objects.filter(action="intake.retriage").exists()


def test_turning_a_rule_off_can_fast_track_an_open_intake_that_waited_for_review(cast):
    # Given an open intake in review only because it is used outside the company
    intake = _intake(cast, user_audience=UserAudience.EXTERNAL)
    assert intake.review_path == ReviewPath.REVIEW

    # When that rule is turned off
    services.triage_rules_change(
        actor=cast.admin, edits={C.EXTERNAL_USERS: RuleSetting(tier="medium", enabled=False)}
    )

    # Then it is low risk and on the fast track, still waiting for a decider's acceptance
    intake.refresh_from_db()
    assert (intake.risk_tier, intake.review_path, intake.status) == ("low", ReviewPath.FAST_TRACK, "triaged")
    assert intake.triage_reasons == []


def test_a_save_after_the_open_intakes_moved_is_refused_and_writes_nothing(cast):
    # Given a preview taken with one open intake
    _intake(cast, personal_data=True)
    edits = {C.PERSONAL_DATA: RuleSetting(tier=RiskTier.HIGH)}
    _, fingerprint = triage_rules_preview(edits=edits)

    # When a second open intake arrives before the save
    _intake(cast, personal_data=True)

    # Then the save is refused with a conflict, and neither the rule nor any intake changed
    with pytest.raises(ConflictError, match="changed since your preview"):
        services.triage_rules_change(actor=cast.admin, edits=edits, expected_fingerprint=fingerprint)
    assert TriageRule.objects.get(code=C.PERSONAL_DATA).tier == RiskTier.MEDIUM
    assert not AuditEvent.objects.filter(action__in=["intake.retriage", "triage_rule.update"]).exists()


@pytest.mark.parametrize("persona", ["requester_a", "owner", "council", "chair", "finance"])
def test_only_platform_admins_change_the_triage_rules(cast, persona):
    with pytest.raises(PermissionDenied, match="Only platform admins change the triage rules"):
        services.triage_rules_change(
            actor=getattr(cast, persona), edits={C.PERSONAL_DATA: RuleSetting(tier=RiskTier.HIGH)}
        )
    assert TriageRule.objects.get(code=C.PERSONAL_DATA).tier == RiskTier.MEDIUM


@pytest.mark.parametrize(
    ("edits", "field"),
    [
        ({"no_such_rule": RuleSetting(tier="high")}, "code"),
        ({C.PERSONAL_DATA: RuleSetting(tier="extreme")}, "tier"),
        ({C.COST_ABOVE_THRESHOLD: RuleSetting(tier="medium", threshold=None)}, "threshold"),
        ({C.COST_ABOVE_THRESHOLD: RuleSetting(tier="medium", threshold=Decimal("-1"))}, "threshold"),
    ],
)
def test_a_bad_edit_is_refused_naming_the_field(cast, edits, field):
    with pytest.raises(ValidationError) as refused:
        services.triage_rules_change(actor=cast.admin, edits=edits)
    assert field in refused.value.message_dict
    assert not AuditEvent.objects.filter(action="triage_rule.update").exists()


# The property: for any edit of the rules over any open and decided intakes, the preview's
# predicted changes are exactly what the save then does, and decided intakes never change.

FACTS = st.fixed_dictionaries(
    {
        "customer_impact": st.sampled_from(CustomerImpact.values),
        "user_audience": st.sampled_from(UserAudience.values),
        "data_classification": st.sampled_from(DataClassification.values),
        "personal_data": st.booleans(),
        "autonomy_level": st.sampled_from(AutonomyLevel.values),
        "external_actions": st.booleans(),
        "expected_monthly_cost": st.sampled_from(
            [None, Decimal("0"), Decimal("4999"), Decimal("6000"), Decimal("60000")]
        ),
        "currency": st.sampled_from(["USD", "USD", "EUR"]),
    }
)
INTAKES = st.lists(
    st.tuples(
        st.sampled_from(
            [IntakeStatus.TRIAGED, IntakeStatus.TRIAGED, IntakeStatus.ACCEPTED, IntakeStatus.REJECTED]
        ),
        FACTS,
    ),
    min_size=1,
    max_size=6,
)
SETTING = st.builds(
    RuleSetting,
    tier=st.sampled_from(RiskTier.values),
    threshold=st.sampled_from(
        [Decimal("0"), Decimal("1"), Decimal("2"), Decimal("5000"), Decimal("50000"), Decimal("1000000")]
    ),
    enabled=st.booleans(),
)
EDITS = st.dictionaries(st.sampled_from(C.values), SETTING, min_size=1, max_size=4)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(intakes=INTAKES, edits=EDITS, stale=st.booleans())
@example(
    intakes=[
        (IntakeStatus.TRIAGED, {"personal_data": True}),
        (IntakeStatus.ACCEPTED, {"personal_data": True}),
    ],
    edits={C.PERSONAL_DATA: RuleSetting(tier="critical")},
    stale=False,
)
def test_the_preview_predicts_exactly_what_the_save_does(cast, intakes, edits, stale):
    with transaction.atomic():
        # Given open and decided intakes, each holding the triage of the rules in force, or (stale)
        # a triage from before some earlier, blind change of the rules
        made = [_intake(cast, status=status, **facts) for status, facts in intakes]
        if stale:
            IntakeRequest.objects.filter(pk=made[0].pk).update(risk_tier="critical", triage_reasons=[])
        before = {i.pk: (i.status, stored_result(IntakeRequest.objects.get(pk=i.pk))) for i in made}

        # When the admin previews an edit, then saves it
        preview, fingerprint = triage_rules_preview(edits=edits)
        predicted = {c.intake.pk: c.after for c in preview}
        done = services.triage_rules_change(actor=cast.admin, edits=edits, expected_fingerprint=fingerprint)

        # Then the save changed exactly the intakes the preview named, into what it predicted
        assert {c.intake.pk: c.after for c in done} == predicted
        for pk, (status, stored) in before.items():
            now = IntakeRequest.objects.get(pk=pk)
            assert now.status == status
            if pk in predicted:
                assert status == IntakeStatus.TRIAGED
                assert stored_result(now) == predicted[pk]
            else:
                # Decided intakes, and open ones the edit does not change, are as they were
                assert stored_result(now) == stored
        assert AuditEvent.objects.filter(action="intake.retriage").count() == len(predicted)
        # and a second preview of the same rules has nothing left to change
        assert triage_rules_preview(edits=edits)[0] == []
        transaction.set_rollback(True)
