"""Stage gates: what each gate asks for, who may move a use case, and what a refused move says.

The same service (`portfolio.services.use_case_move`) and the same predicates
(`aifinops.core.permissions`) guard the API and the page; the matrix below runs every role against
every transition through the API, and a slice of it through the page.
"""

import datetime
import json
import threading
from dataclasses import dataclass
from decimal import Decimal

import factory
import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from aifinops.core import periods
from aifinops.core.exceptions import ConflictError
from aifinops.core.models import AuditEvent, Notification
from aifinops.core.periods import months_back
from aifinops.core.services import api_token_create
from aifinops.core.tests.factories import UserFactory
from intake.models import IntakeRequest
from portfolio import selectors, services
from portfolio.choices import GateItemStatus, MilestoneStatus, MoveRequestStatus, RiskTier, Stage
from portfolio.gates import rules as gates
from portfolio.models import GateItemState, Milestone, StageApproval, StageMoveRequest, UseCase, ValueSignal
from portfolio.tests.factories import AIModelFactory, UseCaseFactory
from showback.models import DailySpend
from showback.tests.factories import DailySpendFactory

pytestmark = pytest.mark.django_db

TAGS = {"function": "customer_support", "workflow": "ticket reply"}
GUARDRAILS = {
    "token_budget_monthly": 40_000_000,
    "max_output_tokens": 800,
    "anomaly_threshold_pct": Decimal("50"),
    "routing_policy": "Short replies on the mini model; escalations on the frontier model.",
    "prompt_caching": "enabled",
    "budget_threshold": Decimal("1500"),
}


def _today():
    return periods.today()


def _days_ago(n):
    return _today() - datetime.timedelta(days=n)


class ValueSignalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ValueSignal

    use_case = factory.SubFactory(UseCaseFactory)
    month = factory.LazyFunction(gates.recent_month_start)
    outcomes = 1000
    value_per_outcome = Decimal("5.00")
    quality_score = Decimal("92")


class MilestoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Milestone

    use_case = factory.SubFactory(UseCaseFactory)
    name = "Post-decision review"
    due_date = factory.LazyFunction(lambda: _days_ago(-30))
    status = MilestoneStatus.PENDING


def _fresh(use_case):
    # refresh_from_db would assign the protected stage field; a new instance does not.
    return UseCase.objects.get(pk=use_case.pk)


def _result(use_case, code):
    item = gates.ITEMS_BY_CODE[code]
    gate = selectors.stage_gate(use_case=_fresh(use_case), stage=item.stage)
    return next(r for r in gate.results if r.code == code)


def _moves(use_case):
    return AuditEvent.objects.for_object(use_case).filter(action="use_case.move")


@pytest.fixture
def ready(db):
    """ready(use_case, target) -> the use case with every gate up to `target` complete.

    Its data makes the computed items true (guardrails through the service, valid tags, both
    owners, metrics, spend yesterday, last month's value signal, a pending review ahead) and its
    business owner attests the items that need a person. Risk stays low and the expected cost
    under the review threshold, so only moves into launch and scale need an approval.
    """

    def _ready(use_case, target):
        UseCase.objects.filter(pk=use_case.pk).update(
            technical_owner=UserFactory(username="tech-owner"),
            cost_center="CC-4100",
            tags=TAGS,
            value_metric="Minutes saved per ticket",
            success_metric="Reply accepted without edits in 80 % of tickets",
            outcomes_per_month=1000,
            expected_monthly_cost=Decimal("1000"),
        )
        use_case = _fresh(use_case)
        use_case.ai_models.add(AIModelFactory())
        DailySpendFactory(use_case=use_case, team=use_case.team, date=_days_ago(1))
        ValueSignalFactory(use_case=use_case)
        MilestoneFactory(use_case=use_case, target_stage=target)
        owner = use_case.business_owner
        services.use_case_guardrails_update(actor=owner, use_case=use_case, values=GUARDRAILS)
        path = gates.FORWARD[1 : gates.FORWARD.index(target) + 1] if target in gates.FORWARD else []
        for stage in path:
            for item in gates.items_for(stage):
                if not item.computed:
                    services.gate_item_attest(
                        actor=owner, use_case=use_case, code=item.code, evidence=f"https://wiki/{item.code}"
                    )
        if target == Stage.SUNSET:
            services.gate_item_attest(
                actor=owner, use_case=use_case, code="sunset_criteria", evidence="Usage fell to zero in May."
            )
        use_case = _fresh(use_case)
        gate = selectors.stage_gate(use_case=use_case, stage=target)
        assert gate.complete, gate.as_error_list()
        return use_case

    return _ready


# Gate conditions: computed items.


def _update(**fields):
    return lambda uc: UseCase.objects.filter(pk=uc.pk).update(**fields)


def _triaged_intake(triaged):
    def apply(uc):
        IntakeRequest.objects.update_or_create(
            use_case=uc,
            defaults={
                "requester": uc.business_owner,
                "team": uc.team,
                "name": uc.name,
                "triaged_at": timezone.now() if triaged else None,
            },
        )

    return apply


# code: (break it, make it, what the gate says while it is broken)
COMPUTED = {
    "value_proposition": (_update(value_metric=""), _update(value_metric="Minutes saved"), "value metric"),
    "model_shortlist": (
        lambda uc: uc.ai_models.clear(),
        lambda uc: uc.ai_models.add(AIModelFactory()),
        "Choose the candidate models",
    ),
    "risk_scan": (_triaged_intake(False), _triaged_intake(True), "attest a risk scan"),
    "token_output_budgets": (
        _update(max_output_tokens=None),
        _update(max_output_tokens=800),
        "the max output tokens per call",
    ),
    "cost_attribution_live": (
        lambda uc: DailySpend.objects.filter(use_case=uc).update(date=_days_ago(20)),
        lambda uc: DailySpend.objects.filter(use_case=uc).update(date=_days_ago(1)),
        "in the last 14 days: tag it",
    ),
    "unit_economics_tracked": (
        lambda uc: ValueSignal.objects.filter(use_case=uc).update(month=months_back(_today(), 2)),
        lambda uc: ValueSignal.objects.filter(use_case=uc).update(month=gates.recent_month_start()),
        "Record last month's value signals",
    ),
    "token_budget_defined": (
        _update(token_budget_monthly=None),
        _update(token_budget_monthly=1_000_000),
        "Set the monthly token budget",
    ),
    "max_output_tokens_set": (
        _update(max_output_tokens=None),
        _update(max_output_tokens=800),
        "Set the max output tokens",
    ),
    "anomaly_threshold_configured": (
        _update(anomaly_threshold_pct=None),
        _update(anomaly_threshold_pct=Decimal("0")),
        "Set the anomaly threshold",
    ),
    "routing_policy_documented": (
        _update(routing_policy="   "),
        _update(routing_policy="Everything on the mini model."),
        "Document the model routing policy",
    ),
    "prompt_caching": (
        _update(prompt_caching="disabled"),
        _update(prompt_caching="not_applicable"),
        "Enable prompt caching, or say it does not apply",
    ),
    "tagging_schema_validated": (
        _update(tags={"function": "astrology", "workflow": "ticket reply"}),
        _update(tags=TAGS),
        "Fix the tags: Business function must be one of",
    ),
    "post_decision_review_scheduled": (
        lambda uc: Milestone.objects.filter(use_case=uc).update(due_date=_days_ago(1)),
        lambda uc: Milestone.objects.filter(use_case=uc).update(due_date=_days_ago(-60)),
        "Add a pending milestone",
    ),
    "named_business_owner": (
        _update(business_owner=None),
        lambda uc: UseCase.objects.filter(pk=uc.pk).update(business_owner=UserFactory()),
        "Name the business owner",
    ),
    "named_technical_owner": (
        _update(technical_owner=None),
        lambda uc: UseCase.objects.filter(pk=uc.pk).update(technical_owner=UserFactory()),
        "Name the technical owner",
    ),
    "cost_center": (_update(cost_center=""), _update(cost_center="CC-1"), "Give the cost center"),
    "model_tier": (
        lambda uc: uc.ai_models.clear(),
        lambda uc: uc.ai_models.add(AIModelFactory()),
        "their tier comes from the catalog",
    ),
    "expected_usage_profile": (
        _update(outcomes_per_month=0),
        _update(outcomes_per_month=500),
        "expected outcomes per month",
    ),
    "budget_threshold": (
        _update(budget_threshold=None),
        _update(budget_threshold=Decimal("0")),
        "Set the monthly budget threshold",
    ),
    "observability_tags": (
        _update(tags={"function": "customer_support"}),
        _update(tags=TAGS),
        "Complete the tags and the environment",
    ),
    "quality_metric": (
        _update(success_metric=""),
        _update(success_metric="CSAT"),
        "Name the success or quality metric",
    ),
    "business_value_metric": (
        _update(value_metric=""),
        _update(value_metric="Minutes saved"),
        "Name the business value metric",
    ),
    "margin_target_met": (
        lambda uc: ValueSignal.objects.filter(use_case=uc).update(value_per_outcome=Decimal("0.01")),
        lambda uc: ValueSignal.objects.filter(use_case=uc).update(value_per_outcome=Decimal("5")),
        "Full cost per outcome is not below value per outcome",
    ),
    "sunset_criteria": (
        _update(consecutive_missed_milestones=1),
        _update(consecutive_missed_milestones=2),
        "two consecutive missed milestones",
    ),
}


def test_every_computed_item_of_every_gate_has_a_break_and_a_make_case():
    assert set(COMPUTED) == {item.code for item in gates.ITEMS if item.computed}


@pytest.mark.parametrize("code", list(COMPUTED))
def test_a_computed_item_is_open_without_its_data_and_met_with_it(code, cast, ready):
    # Given a use case at launch (the scale gate reads its economics only from there) whose
    # every gate is complete
    use_case = ready(
        UseCaseFactory(team=cast.team_a, business_owner=cast.owner, stage=Stage.LAUNCH), Stage.SCALE
    )
    break_it, make_it, says = COMPUTED[code]

    # When its data is taken away
    break_it(use_case)

    # Then the item is open and says what is missing
    broken = _result(use_case, code)
    assert not broken.met
    assert broken.how == "open"
    assert says in broken.missing

    # When the data is back
    make_it(use_case)

    # Then the item is met, from data
    fixed = _result(use_case, code)
    assert fixed.met
    assert fixed.how == "computed"
    assert fixed.missing == ""


@pytest.mark.parametrize(("missed", "met"), [(0, False), (1, False), (2, True), (3, True)])
def test_sunset_criteria_are_met_automatically_at_two_consecutive_missed_milestones(missed, met, cast):
    UseCase.objects.filter(pk=cast.use_case_a.pk).update(consecutive_missed_milestones=missed)

    result = _result(cast.use_case_a, "sunset_criteria")

    assert result.met is met
    assert result.how == ("computed" if met else "open")


# Gate conditions: attested and not-applicable items.

ATTESTABLE_ONLY = [item.code for item in gates.ITEMS if not item.computed]
NOT_ATTESTABLE = [item.code for item in gates.ITEMS if not item.attestable]


@pytest.mark.parametrize("code", ATTESTABLE_ONLY)
def test_an_attested_item_is_met_with_who_when_and_the_evidence(code, cast):
    use_case = cast.use_case_a
    assert not _result(use_case, code).met

    services.gate_item_attest(
        actor=cast.owner, use_case=use_case, code=code, evidence="https://wiki/x", on=_days_ago(3)
    )

    result = _result(use_case, code)
    assert result.met
    assert result.how == "attested"
    assert (result.state.by, result.state.on, result.state.evidence) == (
        cast.owner,
        _days_ago(3),
        "https://wiki/x",
    )
    event = AuditEvent.objects.for_object(use_case).get(action="gate_item.attest")
    assert event.after["item"] == gates.ITEMS_BY_CODE[code].label
    assert (event.before["status"], event.after["status"]) == ("open", "attested")
    assert (event.after["by"], event.after["evidence"]) == ("owner", "https://wiki/x")


@pytest.mark.parametrize("evidence", ["", "   ", None])
def test_attesting_without_evidence_is_refused_with_a_message_naming_the_evidence(evidence, cast):
    with pytest.raises(ValidationError) as refused:
        services.gate_item_attest(
            actor=cast.owner, use_case=cast.use_case_a, code="testing_plan", evidence=evidence
        )

    assert "evidence" in refused.value.message_dict
    assert "evidence" in refused.value.message_dict["evidence"][0]
    assert not _result(cast.use_case_a, "testing_plan").met
    assert not AuditEvent.objects.filter(action="gate_item.attest").exists()


def test_an_attestation_dated_in_the_future_is_refused(cast):
    with pytest.raises(ValidationError) as refused:
        services.gate_item_attest(
            actor=cast.owner, use_case=cast.use_case_a, code="testing_plan", evidence="x", on=_days_ago(-1)
        )

    assert refused.value.message_dict == {"on": ["An attestation cannot be dated in the future."]}
    assert not GateItemState.objects.filter(status=GateItemStatus.ATTESTED).exists()


@pytest.mark.parametrize("code", NOT_ATTESTABLE)
def test_an_item_proven_by_data_refuses_attestation(code, cast):
    with pytest.raises(ValidationError) as refused:
        services.gate_item_attest(actor=cast.owner, use_case=cast.use_case_a, code=code, evidence="trust me")

    assert "is proven by data, not attested" in refused.value.message_dict["code"][0]
    assert not GateItemState.objects.filter(code=code).exists()


def test_the_refusal_to_attest_a_data_item_says_what_to_do_instead(cast):
    with pytest.raises(ValidationError) as refused:
        services.gate_item_attest(
            actor=cast.owner, use_case=cast.use_case_a, code="token_budget_defined", evidence="trust me"
        )

    message = refused.value.message_dict["code"][0]
    assert not message.endswith(":")
    assert "Set the monthly token budget" in message


def test_a_computed_item_that_allows_it_can_be_attested_instead(cast):
    # Given a use case registered without intake: no triage proves its risk scan
    assert not _result(cast.use_case_a, "risk_scan").met

    services.gate_item_attest(
        actor=cast.owner, use_case=cast.use_case_a, code="risk_scan", evidence="Security scan SR-12"
    )

    assert _result(cast.use_case_a, "risk_scan").how == "attested"


@pytest.mark.parametrize("reason", ["", "  "])
def test_not_applicable_needs_a_reason(reason, cast):
    with pytest.raises(ValidationError) as refused:
        services.gate_item_not_applicable(
            actor=cast.owner, use_case=cast.use_case_a, code="fallback_plan", reason=reason
        )

    assert refused.value.message_dict == {"reason": ["Say why this item does not apply to this use case."]}
    assert not _result(cast.use_case_a, "fallback_plan").met


@pytest.mark.parametrize("code", ["fallback_plan", "prompt_caching"])
def test_not_applicable_with_a_reason_counts_as_met(code, cast):
    services.gate_item_not_applicable(
        actor=cast.owner, use_case=cast.use_case_a, code=code, reason="Batch job: nobody waits on it."
    )

    result = _result(cast.use_case_a, code)
    assert result.met
    assert result.how == "not_applicable"
    assert result.state.reason == "Batch job: nobody waits on it."


@pytest.mark.parametrize("mark", ["attest", "not_applicable"])
def test_reopen_makes_the_item_open_again(mark, cast):
    use_case = cast.use_case_a
    if mark == "attest":
        services.gate_item_attest(actor=cast.owner, use_case=use_case, code="security_review", evidence="x")
    else:
        services.gate_item_not_applicable(
            actor=cast.owner, use_case=use_case, code="security_review", reason="y"
        )
    assert _result(use_case, "security_review").met

    services.gate_item_reopen(actor=cast.owner, use_case=use_case, code="security_review")

    result = _result(use_case, "security_review")
    assert not result.met
    assert result.how == "open"
    assert (result.state.status, result.state.by, result.state.evidence) == (GateItemStatus.OPEN, None, "")
    assert AuditEvent.objects.for_object(use_case).filter(action="gate_item.reopen").count() == 1


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("requester_a", False),
        ("requester_b", False),
        ("council", False),
        ("chair", False),
        ("finance", False),
        ("owner", True),
        ("admin", True),
    ],
)
def test_only_the_owners_and_admins_keep_the_gate_items(role, allowed, cast):
    actor = getattr(cast, role)

    if allowed:
        services.gate_item_attest(actor=actor, use_case=cast.use_case_a, code="testing_plan", evidence="x")
        assert _result(cast.use_case_a, "testing_plan").met
    else:
        with pytest.raises(PermissionDenied):
            services.gate_item_attest(
                actor=actor, use_case=cast.use_case_a, code="testing_plan", evidence="x"
            )
        assert not GateItemState.objects.exists()


def test_an_unknown_gate_item_is_refused_by_name(cast):
    with pytest.raises(ValidationError) as refused:
        services.gate_item_attest(actor=cast.owner, use_case=cast.use_case_a, code="vibes", evidence="x")

    assert refused.value.message_dict == {"code": ["“vibes” is not a gate item."]}


# review_reasons.


def test_a_low_risk_cheap_use_case_needs_no_review_into_mvp_or_pilot(cast):
    assert gates.review_reasons(cast.use_case_a, Stage.MVP) == []
    assert gates.review_reasons(cast.use_case_a, Stage.PILOT) == []


@pytest.mark.parametrize("target", [Stage.MVP, Stage.PILOT, Stage.LAUNCH, Stage.SCALE])
@pytest.mark.parametrize("tier", [RiskTier.MEDIUM, RiskTier.HIGH, RiskTier.CRITICAL])
def test_medium_risk_and_above_need_review_for_any_move(tier, target):
    use_case = UseCaseFactory(risk_tier=tier)

    assert f"{use_case.get_risk_tier_display()} risk tier." in gates.review_reasons(use_case, target)


@pytest.mark.parametrize("target", [Stage.LAUNCH, Stage.SCALE])
def test_moves_into_launch_and_scale_are_always_reviewed(target, cast):
    assert gates.review_reasons(cast.use_case_a, target) == [
        "A pilot asking to scale: every move from pilot on is reviewed."
    ]


def test_sunset_never_needs_review():
    assert gates.review_reasons(UseCaseFactory(risk_tier=RiskTier.CRITICAL), Stage.SUNSET) == []


@pytest.mark.parametrize(
    ("cost", "reviewed"), [(Decimal("4999.99"), False), (Decimal("5000"), False), (Decimal("5000.01"), True)]
)
def test_expected_cost_above_the_funding_threshold_needs_review(cost, reviewed, settings):
    settings.AIFINOPS_REVIEW_FUNDING_THRESHOLD = Decimal("5000")
    use_case = UseCaseFactory(expected_monthly_cost=cost)

    reasons = gates.review_reasons(use_case, Stage.MVP)

    assert reasons == (["Funding above 5,000 USD a month."] if reviewed else [])


# Every transition against every role.

TARGETS = (Stage.MVP, Stage.PILOT, Stage.LAUNCH, Stage.SCALE, Stage.SUNSET)
SOURCE = {
    Stage.MVP: Stage.CONCEPT,
    Stage.PILOT: Stage.MVP,
    Stage.LAUNCH: Stage.PILOT,
    Stage.SCALE: Stage.LAUNCH,
    Stage.SUNSET: Stage.PILOT,
}
API_ACTION = {
    Stage.MVP: "to-mvp",
    Stage.PILOT: "to-pilot",
    Stage.LAUNCH: "to-launch",
    Stage.SCALE: "to-scale",
    Stage.SUNSET: "sunset",
}
MOVED, DENIED, HIDDEN, ANON = "moved", "denied", "hidden", "anonymous"
# Each row: the role's outcome for (to MVP, to Pilot, to Launch, to Scale, to Sunset). The gate is
# complete in every cell, and the moves into launch and scale have the chair's approval.
MATRIX = {
    "anonymous": (ANON, ANON, ANON, ANON, ANON),
    "requester_a": (DENIED, DENIED, DENIED, DENIED, DENIED),  # same team, not an owner
    "requester_b": (HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN),  # another team: cannot see it
    "owner": (MOVED, MOVED, DENIED, DENIED, DENIED),
    "council": (DENIED, DENIED, DENIED, DENIED, DENIED),
    "chair": (MOVED, MOVED, MOVED, MOVED, DENIED),
    "finance": (DENIED, DENIED, DENIED, DENIED, DENIED),
    "admin": (DENIED, DENIED, DENIED, DENIED, MOVED),
}
CELLS = [(role, target) for role in MATRIX for target in TARGETS]
API_STATUS = {MOVED: 200, DENIED: 403, HIDDEN: 404, ANON: 401}


def _expected(role, target):
    return MATRIX[role][TARGETS.index(target)]


@pytest.fixture
def movable(cast, ready):
    """movable(target) -> (use case of team A owned by `owner`, approval or None), ready to move."""

    def _movable(target):
        use_case = ready(
            UseCaseFactory(
                key="ticket-triage",
                name="Ticket triage",
                team=cast.team_a,
                business_owner=cast.owner,
                stage=SOURCE[target],
            ),
            target,
        )
        approval = None
        if gates.review_reasons(use_case, target):
            approval = services.stage_approval_record(
                actor=cast.chair, use_case=use_case, target_stage=target, note="Funded by the council."
            )
        return use_case, approval

    return _movable


def _client_for(role, cast, client, login):
    return client if role == "anonymous" else login(getattr(cast, role))


@dataclass
class ApiAnswer:
    status: int
    body: object


@pytest.fixture
def api(cast):
    """api(who, use_case, target) -> ApiAnswer of POST /api/v1/use-cases/<key>/<action>/.

    `who` is a role of the cast, "anonymous", or a user; callers authenticate with an API token.
    """

    def _post(who, use_case, target):
        user = getattr(cast, who) if isinstance(who, str) and who != "anonymous" else who
        headers = {}
        if user != "anonymous":
            _, key = api_token_create(user=user, name="tests")
            headers["HTTP_AUTHORIZATION"] = f"Token {key}"
        path = f"/api/v1/use-cases/{use_case.key}/{API_ACTION[target]}/"
        if target == Stage.SUNSET:  # final: the API asks for it in so many words
            response = Client().post(path, {"confirm": True}, content_type="application/json", **headers)
        else:
            response = Client().post(path, **headers)
        is_json = response.get("Content-Type", "").startswith("application/json")
        return ApiAnswer(response.status_code, json.loads(response.content) if is_json else None)

    return _post


def _assert_moved(use_case, target, approval):
    assert _fresh(use_case).stage == target
    event = _moves(use_case).get()
    assert event.before == {"stage": SOURCE[target]}
    assert event.after["stage"] == target
    if approval is not None:
        approval = StageApproval.objects.get(pk=approval.pk)
        assert approval.used_at is not None
        assert event.after["approval"] == approval.pk


def _assert_not_moved(use_case, target, approval):
    assert _fresh(use_case).stage == SOURCE[target]
    assert not _moves(use_case).exists()
    if approval is not None:
        assert StageApproval.objects.get(pk=approval.pk).used_at is None


API_CELLS = [pytest.param(role, target, id=f"{role}-{target}") for role, target in CELLS]


@pytest.mark.parametrize(("role", "target"), API_CELLS)
def test_api_move_matrix(role, target, movable, api):
    # Given a use case whose gate into `target` is complete (and approved where it is reviewed)
    use_case, approval = movable(target)
    expected = _expected(role, target)

    # When `role` asks the API to move it
    answer = api(role, use_case, target)

    # Then it moves, or it is refused with the API's error body and nothing changes
    assert answer.status == API_STATUS[expected], answer.body
    assert answer.body is not None, "The answer is not the API's JSON."
    if expected == MOVED:
        assert answer.body["key"] == use_case.key
        assert answer.body["stage"] == target
        _assert_moved(use_case, target, approval)
    else:
        assert answer.body["error"]["status"] == API_STATUS[expected]
        assert answer.body["error"]["message"]
        _assert_not_moved(use_case, target, approval)


PAGE_TARGETS = (Stage.MVP, Stage.LAUNCH, Stage.SUNSET)
PAGE_CELLS = [(role, target) for role in MATRIX for target in PAGE_TARGETS]


@pytest.mark.parametrize(("role", "target"), PAGE_CELLS, ids=[f"{r}-{t}" for r, t in PAGE_CELLS])
def test_page_move_matrix_follows_the_same_rule(role, target, cast, movable, client, login):
    use_case, approval = movable(target)
    expected = _expected(role, target)

    response = _client_for(role, cast, client, login).post(
        reverse("portfolio:stage_move", args=[use_case.key]),
        {"target_stage": target, **({"confirm": "yes"} if target == Stage.SUNSET else {})},
    )

    if expected == MOVED:
        assert response.status_code == 302
        assert response.url == use_case.get_tab_url("gates")  # back on the tab the form was on
        assert [str(m) for m in get_messages(response.wsgi_request)] == [f"Moved to {Stage(target).label}."]
        _assert_moved(use_case, target, approval)
    else:
        if expected == ANON:
            assert response.status_code == 302
            assert response.url.startswith(reverse("core:login"))
        else:
            assert response.status_code == API_STATUS[expected]
        _assert_not_moved(use_case, target, approval)


@pytest.mark.parametrize("source", [Stage.CONCEPT, Stage.MVP, Stage.PILOT, Stage.LAUNCH, Stage.SCALE])
def test_an_admin_can_sunset_from_any_stage(source, cast, ready, api):
    use_case = ready(UseCaseFactory(team=cast.team_a, business_owner=cast.owner, stage=source), Stage.SUNSET)

    answer = api("admin", use_case, Stage.SUNSET)

    assert answer.status == 200
    assert _fresh(use_case).stage == Stage.SUNSET
    assert _moves(use_case).get().before == {"stage": source}


def test_a_sunset_use_case_cannot_be_sunset_again(cast, ready, api):
    use_case = ready(
        UseCaseFactory(team=cast.team_a, business_owner=cast.owner, stage=Stage.SUNSET), Stage.SUNSET
    )

    answer = api("admin", use_case, Stage.SUNSET)

    assert answer.status == 409
    assert answer.body["error"]["message"] == f"{use_case.name} cannot move to Sunset from here."
    assert not _moves(use_case).exists()


def test_a_use_case_walks_the_whole_path_with_one_audit_event_per_move(cast, ready, api):
    use_case = ready(cast.use_case_a, Stage.LAUNCH)

    assert api("owner", use_case, Stage.MVP).status == 200
    assert api("owner", use_case, Stage.PILOT).status == 200
    services.stage_approval_record(actor=cast.chair, use_case=use_case, target_stage=Stage.LAUNCH)
    assert api("chair", use_case, Stage.LAUNCH).status == 200

    assert _fresh(use_case).stage == Stage.LAUNCH
    assert [(e.before["stage"], e.after["stage"]) for e in _moves(use_case).order_by("id")] == [
        ("concept", "mvp"),
        ("mvp", "pilot"),
        ("pilot", "launch"),
    ]


# Refused moves: what is missing, wrong stage.


def test_an_incomplete_gate_blocks_the_api_move_and_lists_every_unmet_item(cast, api):
    # Given a concept use case with nothing done for its MVP gate
    use_case = cast.use_case_a

    # When its owner asks to move it to MVP
    answer = api("owner", use_case, Stage.MVP)

    # Then 422 lists each unmet item, and nothing moved
    assert answer.status == 422
    error = answer.body["error"]
    assert error["code"] == "unprocessable"
    assert error["message"] == "Support summarizer cannot move to MVP: 3 gate items not met."
    assert error["details"] == [
        {
            "code": "cost_value_baselines",
            "item": "Cost and value baselines",
            "missing": "Needs a named person's attestation.",
        },
        {
            "code": "token_output_budgets",
            "item": "Token and output budgets",
            "missing": "Set the monthly token budget and the max output tokens per call.",
        },
        {"code": "testing_plan", "item": "Testing plan", "missing": "Needs a named person's attestation."},
    ]
    assert _fresh(use_case).stage == Stage.CONCEPT
    assert not _moves(use_case).exists()


def test_an_incomplete_pilot_gate_lists_the_guardrails_and_the_data_it_lacks(cast, api):
    use_case = UseCaseFactory(key="bare", team=cast.team_a, business_owner=cast.owner, stage=Stage.MVP)

    answer = api("owner", use_case, Stage.PILOT)

    assert answer.status == 422
    details = answer.body["error"]["details"]
    assert [d["code"] for d in details] == [item.code for item in gates.items_for(Stage.PILOT)]
    by_code = {d["code"]: d for d in details}
    assert by_code["cost_attribution_live"]["missing"] == (
        "No spend attributed to bare in the last 14 days: tag it."
    )
    assert by_code["tagging_schema_validated"]["missing"].startswith(
        "Fix the tags: Business function is required."
    )
    assert all(d["item"] and d["missing"] for d in details)
    assert _fresh(use_case).stage == Stage.MVP
    assert not _moves(use_case).exists()


def test_one_open_item_is_named_alone(cast, ready, api):
    use_case = ready(cast.use_case_a, Stage.MVP)
    services.gate_item_reopen(actor=cast.owner, use_case=use_case, code="testing_plan")

    answer = api("owner", use_case, Stage.MVP)

    assert answer.status == 422
    assert answer.body["error"]["message"].endswith(": 1 gate item not met.")
    assert [d["code"] for d in answer.body["error"]["details"]] == ["testing_plan"]


def test_an_incomplete_gate_on_the_page_shows_the_missing_items_as_messages(cast, login):
    client = login(cast.owner)

    response = client.post(
        reverse("portfolio:stage_move", args=[cast.use_case_a.key]), {"target_stage": "mvp"}, follow=True
    )

    content = response.content.decode()
    assert "Support summarizer cannot move to MVP: 3 gate items not met." in content
    assert "Cost and value baselines: Needs a named person&#x27;s attestation." in content
    assert "Token and output budgets: Set the monthly token budget and the max output tokens per call." in (
        content
    )
    assert "Testing plan: Needs a named person&#x27;s attestation." in content
    assert _fresh(cast.use_case_a).stage == Stage.CONCEPT
    assert not _moves(cast.use_case_a).exists()


def test_an_incomplete_gate_through_htmx_re_renders_the_section_with_the_missing_items(cast, login):
    response = login(cast.owner).post(
        reverse("portfolio:stage_move", args=[cast.use_case_a.key]),
        {"target_stage": "mvp"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert response.templates[0].name == "portfolio/partials/_stage_section.html"
    content = response.content.decode()
    assert 'role="alert"' in content
    assert "<strong>Testing plan</strong>: Needs a named person&#x27;s attestation." in content
    assert "<strong>Cost and value baselines</strong>" in content
    assert _fresh(cast.use_case_a).stage == Stage.CONCEPT


def test_a_reviewed_move_without_an_approval_is_422_naming_the_funding_approval(cast, ready, api):
    # Given a pilot whose launch gate is complete but nobody approved the launch
    use_case = ready(
        UseCaseFactory(team=cast.team_a, business_owner=cast.owner, stage=Stage.PILOT), Stage.LAUNCH
    )

    # When the chair moves it
    answer = api("chair", use_case, Stage.LAUNCH)

    # Then the missing approval is the one unmet item
    assert answer.status == 422
    assert answer.body["error"]["details"] == [
        {
            "code": "funding_approval",
            "item": "Approved funding decision for this milestone",
            "missing": "Needs review: A pilot asking to scale: every move from pilot on is reviewed.",
        }
    ]
    assert _fresh(use_case).stage == Stage.PILOT
    assert not _moves(use_case).exists()


def test_an_approval_for_another_stage_or_one_already_used_does_not_count(cast, ready, api):
    use_case = ready(
        UseCaseFactory(team=cast.team_a, business_owner=cast.owner, stage=Stage.LAUNCH), Stage.SCALE
    )
    services.stage_approval_record(actor=cast.chair, use_case=use_case, target_stage=Stage.LAUNCH)
    used = services.stage_approval_record(actor=cast.chair, use_case=use_case, target_stage=Stage.SCALE)
    StageApproval.objects.filter(pk=used.pk).update(used_at=timezone.now())

    answer = api("chair", use_case, Stage.SCALE)

    assert answer.status == 422
    assert [d["code"] for d in answer.body["error"]["details"]] == ["funding_approval"]


def test_a_medium_risk_use_case_needs_an_approval_even_into_mvp(cast, ready, api):
    use_case = ready(
        UseCaseFactory(team=cast.team_a, business_owner=cast.owner, risk_tier=RiskTier.MEDIUM), Stage.MVP
    )

    by_owner = api("owner", use_case, Stage.MVP)
    by_chair = api("chair", use_case, Stage.MVP)

    assert by_owner.status == 403
    assert by_owner.body["error"]["message"] == (
        "This move needs review (Medium risk tier.): the council chair executes it."
    )
    assert by_chair.status == 422
    assert by_chair.body["error"]["details"][0]["missing"] == "Needs review: Medium risk tier."


def test_a_move_to_the_wrong_stage_is_a_409_that_says_where_the_use_case_is(cast, ready, api):
    use_case = ready(cast.use_case_a, Stage.LAUNCH)

    answer = api("chair", use_case, Stage.LAUNCH)

    assert answer.status == 409
    error = answer.body["error"]
    assert error["code"] == "conflict"
    assert error["message"] == (
        "Support summarizer is at Concept now: it cannot move to Launch. Reload the page."
    )
    assert _fresh(use_case).stage == Stage.CONCEPT
    assert not _moves(use_case).exists()


def test_a_move_to_the_wrong_stage_on_the_page_says_so(cast, login):
    response = login(cast.owner).post(
        reverse("portfolio:stage_move", args=[cast.use_case_a.key]), {"target_stage": "pilot"}
    )

    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Support summarizer is at Concept now: it cannot move to Pilot. Reload the page."
    ]


def test_the_gates_endpoint_lists_every_gate_of_the_path(cast, ready, login):
    use_case = ready(cast.use_case_a, Stage.MVP)

    response = login(cast.owner).get(f"/api/v1/use-cases/{use_case.key}/gates/")

    assert response.status_code == 200
    body = {g["stage"]: g for g in response.json()}
    assert list(body) == ["concept", "mvp", "pilot", "launch", "scale", "sunset"]
    assert body["mvp"]["complete"] is True
    assert {i["code"]: i["how"] for i in body["mvp"]["items"]} == {
        "cost_value_baselines": "attested",
        "token_output_budgets": "computed",
        "testing_plan": "attested",
    }
    assert body["launch"]["complete"] is False
    assert login(cast.requester_b).get(f"/api/v1/use-cases/{use_case.key}/gates/").status_code == 404


# Concurrency: two people press "Move" at once.


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_moves_give_one_move_and_one_conflict(cast, migration_data, ready):
    # Given a use case ready for MVP, loaded by two people at once
    use_case = ready(cast.use_case_a, Stage.MVP)
    barrier = threading.Barrier(2)
    outcomes, unexpected = [], []

    def press_move():
        try:
            actor = get_user_model().objects.get(pk=cast.owner.pk)
            seen = UseCase.objects.get(pk=use_case.pk)
            barrier.wait(timeout=10)
            services.use_case_move(actor=actor, use_case=seen, target_stage=Stage.MVP)
            outcomes.append("moved")
        except ConflictError as exc:
            outcomes.append(exc)
        except Exception as exc:
            unexpected.append(exc)
        finally:
            connection.close()

    # When both press "Move to MVP"
    threads = [threading.Thread(target=press_move) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # Then one moves it and the other is told it moved meanwhile
    assert not unexpected, unexpected
    assert outcomes.count("moved") == 1
    (conflict,) = [o for o in outcomes if isinstance(o, ConflictError)]
    assert str(conflict) == "Support summarizer is at MVP now: it cannot move to MVP. Reload the page."
    assert _fresh(use_case).stage == Stage.MVP
    assert _moves(use_case).count() == 1


# Move requests.


@pytest.fixture
def pilot(cast, ready):
    """A pilot of team A owned by `owner`, its launch gate complete: the move waits for the chair."""
    return ready(
        UseCaseFactory(
            key="ticket-triage",
            name="Ticket triage",
            team=cast.team_a,
            business_owner=cast.owner,
            stage=Stage.PILOT,
        ),
        Stage.LAUNCH,
    )


def test_an_owner_requests_a_move_once_and_the_chair_is_told(cast, pilot):
    first = services.stage_move_request(
        actor=cast.owner, use_case=pilot, target_stage=Stage.LAUNCH, note="Pilot hit its targets."
    )
    again = services.stage_move_request(actor=cast.owner, use_case=pilot, target_stage=Stage.LAUNCH)

    assert first.pk == again.pk
    request = StageMoveRequest.objects.get()
    assert (request.status, request.requested_by, request.note) == (
        MoveRequestStatus.OPEN,
        cast.owner,
        "Pilot hit its targets.",
    )
    assert list(
        Notification.objects.filter(subject__contains="asks to move").values_list("recipient", "subject")
    ) == [(cast.chair.pk, "Ticket triage asks to move to Launch")]
    assert AuditEvent.objects.for_object(pilot).filter(action="stage_move.request").count() == 1


def test_a_request_for_a_stage_that_is_not_the_next_is_refused(cast, pilot):
    with pytest.raises(ValidationError) as refused:
        services.stage_move_request(actor=cast.owner, use_case=pilot, target_stage=Stage.SCALE)

    assert refused.value.message_dict == {
        "target_stage": ["Ticket triage can only move to the next stage from here."]
    }
    assert not StageMoveRequest.objects.exists()


def test_the_move_closes_the_open_request(cast, pilot, api):
    services.stage_move_request(actor=cast.owner, use_case=pilot, target_stage=Stage.LAUNCH)
    services.stage_approval_record(actor=cast.chair, use_case=pilot, target_stage=Stage.LAUNCH)

    answer = api("chair", pilot, Stage.LAUNCH)

    assert answer.status == 200
    request = StageMoveRequest.objects.get()
    assert request.status == MoveRequestStatus.DONE
    assert request.closed_at is not None


@pytest.mark.parametrize(
    ("role", "status"),
    [("requester_a", 403), ("requester_b", 404), ("council", 403), ("chair", 403), ("finance", 403)],
)
def test_non_owners_cannot_request_a_move(role, status, cast, pilot, login):
    with pytest.raises(PermissionDenied):
        services.stage_move_request(actor=getattr(cast, role), use_case=pilot, target_stage=Stage.LAUNCH)

    response = login(getattr(cast, role)).post(
        reverse("portfolio:stage_move_request", args=[pilot.key]), {"target_stage": "launch"}
    )

    assert response.status_code == status
    assert not StageMoveRequest.objects.exists()
    assert not Notification.objects.filter(subject__contains="asks to move").exists()


def test_the_owner_requests_on_the_page_and_the_section_shows_it(cast, pilot, login):
    client = login(cast.owner)
    page = client.get(pilot.get_tab_url("gates")).content.decode()
    assert "Request move to Launch" in page
    assert "Move to Launch" not in page.replace("Request move to Launch", "")

    response = client.post(
        reverse("portfolio:stage_move_request", args=[pilot.key]),
        {"target_stage": "launch", "note": "Ready."},
        HTTP_HX_REQUEST="true",
    )

    content = response.content.decode()
    assert '<span class="badge text-bg-info">requested</span>' in content
    assert "Request move to Launch" not in content
    assert StageMoveRequest.objects.get().status == MoveRequestStatus.OPEN


# htmx.


def test_attesting_with_htmx_returns_the_re_rendered_section(cast, login):
    response = login(cast.owner).post(
        reverse("portfolio:gate_item_attest", args=[cast.use_case_a.key, "testing_plan"]),
        {"evidence": "https://wiki/eval-plan", "on": ""},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert response.templates[0].name == "portfolio/partials/_stage_section.html"
    content = response.content.decode()
    assert content.lstrip().startswith('<section id="stage-section"')
    assert f"attested by {cast.owner.get_full_name()} on {_today():%Y-%m-%d}" in content
    assert 'href="https://wiki/eval-plan"' in content
    assert _result(cast.use_case_a, "testing_plan").how == "attested"


def test_attesting_in_the_future_with_htmx_shows_why_in_the_section(cast, login):
    response = login(cast.owner).post(
        reverse("portfolio:gate_item_attest", args=[cast.use_case_a.key, "testing_plan"]),
        {"evidence": "x", "on": _days_ago(-2).isoformat()},
        HTTP_HX_REQUEST="true",
    )

    assert "An attestation cannot be dated in the future." in response.content.decode()
    assert not _result(cast.use_case_a, "testing_plan").met


def test_attesting_blank_evidence_on_the_page_names_the_evidence(cast, login):
    response = login(cast.owner).post(
        reverse("portfolio:gate_item_attest", args=[cast.use_case_a.key, "testing_plan"]),
        {"evidence": "   "},
        HTTP_HX_REQUEST="true",
    )

    alert = response.content.decode().split('role="alert"', 1)[1].split("<strong>Next:", 1)[0]
    assert "evidence" in alert.lower()
    assert not _result(cast.use_case_a, "testing_plan").met


def test_guardrails_saved_with_htmx_complete_the_guardrails_checklist(cast, login):
    response = login(cast.owner).post(
        reverse("portfolio:guardrails_update", args=[cast.use_case_a.key]),
        {**GUARDRAILS, "anomaly_threshold_pct": "50", "budget_threshold": "1500"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    gate = selectors.stage_gate(use_case=_fresh(cast.use_case_a), stage=Stage.PILOT)
    # Every setting of the checklist is met; only the tags, which the form does not set, stay open
    assert [r.code for r in gate.results if r.item.group == gates.GUARDRAILS and not r.met] == [
        "tagging_schema_validated"
    ]
    # The section comes back with the pilot gate, where the checklist lives, unfolded
    assert 'open id="gate-pilot"' in response.content.decode()
    assert AuditEvent.objects.for_object(cast.use_case_a).filter(action="use_case.guardrails").count() == 1


def test_the_history_tab_reads_gate_items_and_move_requests_by_their_labels(login, cast):
    # Given an attested gate item and a move request on a use case at MVP
    use_case = UseCaseFactory(team=cast.team_a, business_owner=cast.owner, stage=Stage.MVP)
    code = ATTESTABLE_ONLY[0]
    services.gate_item_attest(actor=cast.owner, use_case=use_case, code=code, evidence="https://wiki/x")
    services.stage_move_request(actor=cast.owner, use_case=use_case, target_stage=Stage.PILOT)

    # When the owner reads the history tab
    body = login(cast.owner).get(use_case.get_tab_url("history")).content.decode()

    # Then statuses and stages read as the pages label them, not as they are stored
    assert "<del>Open</del> → Attested" in body
    assert "<del>open</del>" not in body and "→ attested" not in body
    assert "<strong>Target stage</strong>: Pilot" in body
    assert "<strong>Status</strong>: Open" in body
    assert ": pilot<" not in body


def test_approvals_and_move_requests_are_named_by_their_labels(cast):
    approval = StageApproval(use_case=cast.use_case_a, target_stage=Stage.MVP)
    request = StageMoveRequest(
        use_case=cast.use_case_a, target_stage=Stage.MVP, status=MoveRequestStatus.OPEN
    )

    assert str(approval) == "Support summarizer → MVP"
    assert str(request) == "Support summarizer → MVP (open)"
