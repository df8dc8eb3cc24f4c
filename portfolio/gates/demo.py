"""Demo lifecycle: each demo use case's record agrees with its stage.

A use case at a stage has passed the gates of every stage before it: its guardrail settings are
filled in, its attested items are attested by an owner (dated and evidenced), its milestones,
value signals, hidden costs and optimization ideas exist. A few use cases carry the trouble a
council should see: missed milestones, a move request, an approval waiting to be used.

Runs after the showback demo (cost attribution is proven by spend). Everything goes through the
services, so the audit trail is real. A use case that already has gate items recorded is skipped.
"""

import datetime
from decimal import Decimal

from aifinops.core import periods
from aifinops.core.demo import demo_user
from aifinops.core.periods import months_back

from ..choices import (
    CostCategory,
    Level,
    OptimizationLever,
    OptimizationStatus,
    PromptCaching,
    Stage,
)
from ..models import GateItemState, UseCase
from ..services import (
    gate_item_attest,
    stage_approval_record,
    stage_move_request,
    use_case_guardrails_update,
)
from ..value.services import (
    cost_line_record,
    milestone_create,
    milestone_mark_met,
    milestone_mark_missed,
    milestones_mark_overdue,
    optimization_create,
    optimization_update,
    value_signal_record,
)
from . import rules as gates

FORWARD = gates.FORWARD
EVIDENCE = {
    "risk_scan": "Risk scan in the intake review notes, signed by the security partner.",
    "cost_value_baselines": "Baseline sheet: current handling cost and volume, last 3 months.",
    "testing_plan": "Evaluation set of 200 cases with pass criteria, in the team wiki.",
    "guardrails_enforced": "Gateway policy applied: budget and output caps active.",
    "business_case_validated": "Pilot readout approved by the business owner.",
    "data_classification_review": "Data protection review DPR-{n} closed.",
    "security_review": "Security review SEC-{n} passed.",
    "fallback_plan": "Runbook: falls back to the human queue when the provider errors.",
    "model_routing_tuned": "Routing rules: FAQs to the small model since last quarter.",
    "sunset_criteria": "Usage fell below the floor for two reviews; replaced by the platform feature.",
}
# Use cases that show a council trouble in the demo.
MISSED_TWICE = {"social-listening-summaries", "sales-call-coach"}
ASKING_TO_SCALE = {"support-call-summarizer": "Pilot met its targets for two months: asking to launch."}
APPROVED_NEXT = {"ticket-triage-router"}


def _stages_passed(use_case):
    if use_case.stage == Stage.SUNSET:
        return [*FORWARD[1:4], Stage.SUNSET]
    return FORWARD[1 : FORWARD.index(use_case.stage) + 1]


def _actor(use_case, admin):
    return use_case.business_owner or use_case.technical_owner or admin


def _lifecycle(use_case, *, admin, chair, today, n):
    actor = _actor(use_case, admin)
    passed = _stages_passed(use_case)
    at_least = {stage: stage in passed for stage in Stage.values}

    if at_least[Stage.MVP]:
        settings = {"token_budget_monthly": 40_000_000 + 5_000_000 * (n % 7), "max_output_tokens": 800}
        if at_least[Stage.PILOT]:
            settings |= {
                "anomaly_threshold_pct": Decimal("50"),
                "routing_policy": "Routine requests to the small model; escalations to the larger one.",
                "prompt_caching": PromptCaching.ENABLED if n % 3 else PromptCaching.NOT_APPLICABLE,
                "budget_threshold": (use_case.expected_monthly_cost * Decimal("1.1")).quantize(Decimal("1")),
            }
        use_case_guardrails_update(actor=actor, use_case=use_case, values=settings)

    if at_least[Stage.PILOT] or use_case.stage == Stage.SUNSET:
        for back in range(6, 0, -1):
            month = months_back(today, back)
            growth = Decimal(1) + Decimal(6 - back) / Decimal(20)
            value_signal_record(
                actor=actor,
                use_case=use_case,
                month=month,
                outcomes=int(use_case.outcomes_per_month * growth * Decimal("0.8")),
                quality_score=Decimal(78 + (n + back) % 14),
                active_users=max(5, use_case.expected_users or 40),
                human_review_rate=Decimal(30 - back * 2 if use_case.stage != Stage.PILOT else 45),
                acceptance_rate=Decimal(70 + (n + back) % 20),
            )

    if use_case.stage in (Stage.LAUNCH, Stage.SCALE):
        for back in range(3, 0, -1):
            month = months_back(today, back)
            cost_line_record(
                actor=actor,
                use_case=use_case,
                month=month,
                category=CostCategory.HUMAN_REVIEW,
                amount=(use_case.expected_monthly_cost * Decimal("0.15")).quantize(Decimal("1")),
            )
            cost_line_record(
                actor=actor,
                use_case=use_case,
                month=month,
                category=CostCategory.OBSERVABILITY,
                amount=Decimal(250 + 50 * (n % 4)),
            )
            cost_line_record(
                actor=actor,
                use_case=use_case,
                month=month,
                category=CostCategory.PLATFORM_OPERATIONS,
                amount=Decimal(400),
            )
        review = milestone_create(
            actor=actor,
            use_case=use_case,
            name="Post-decision review",
            due_date=today + datetime.timedelta(days=30 + n % 40),
            target_stage=Stage.SCALE,
        )
        done = milestone_create(
            actor=actor,
            use_case=use_case,
            name="Launch readiness sign-off",
            due_date=today + datetime.timedelta(days=1),
            target_stage=Stage.LAUNCH,
        )
        milestone_mark_met(actor=actor, milestone=done)
        assert review.status == "pending"
        optimization_create(
            actor=actor,
            use_case=use_case,
            title="Route routine requests to a small model",
            lever=OptimizationLever.MODEL_ROUTING,
            expected_monthly_savings=(use_case.expected_monthly_cost * Decimal("0.25")).quantize(
                Decimal("1")
            ),
            value_impact="None expected: routine requests only.",
            risk=Level.LOW,
            effort=Level.MEDIUM,
        )
        cache = optimization_create(
            actor=actor,
            use_case=use_case,
            title="Cache the system prompt and retrieved context",
            lever=OptimizationLever.CACHING,
            expected_monthly_savings=(use_case.expected_monthly_cost * Decimal("0.10")).quantize(
                Decimal("1")
            ),
            risk=Level.LOW,
            effort=Level.LOW,
        )
        if use_case.stage == Stage.SCALE:
            optimization_update(actor=actor, item=cache, status=OptimizationStatus.IN_PROGRESS)
            optimization_update(
                actor=actor,
                item=cache,
                status=OptimizationStatus.DONE,
                realised_monthly_savings=(use_case.expected_monthly_cost * Decimal("0.08")).quantize(
                    Decimal("1")
                ),
            )
    elif use_case.stage in (Stage.MVP, Stage.PILOT):
        milestone_create(
            actor=actor,
            use_case=use_case,
            name=f"Ready for {gates.next_stage(use_case).title()}",
            due_date=today + datetime.timedelta(days=20 + n % 30),
            target_stage=gates.next_stage(use_case) or "",
        )

    if use_case.key in MISSED_TWICE:
        # Milestones cannot be created in the past; these were due at the last two reviews and missed.
        for review in ("Adoption target, review 1", "Adoption target, review 2"):
            missed = milestone_create(actor=actor, use_case=use_case, name=review, due_date=today)
            milestone_mark_missed(actor=actor, milestone=missed)

    # Attest every attestable item of the gates already passed; computed items hold from the data.
    states = {s.code: s for s in GateItemState.objects.filter(use_case=use_case)}
    for stage in [Stage.CONCEPT, *passed] if use_case.stage != Stage.CONCEPT else [Stage.CONCEPT]:
        for item in gates.items_for(stage):
            if item.code in states or not item.attestable:
                continue
            if item.computed and item.check(use_case, _facts_stub(use_case)) is None:
                continue
            gate_item_attest(
                actor=actor,
                use_case=use_case,
                code=item.code,
                evidence=EVIDENCE.get(item.code, f"{item.label}: reviewed.").format(n=1000 + n),
                on=today - datetime.timedelta(days=10 + 3 * FORWARD.index(stage) if stage in FORWARD else 5),
            )

    if use_case.key in ASKING_TO_SCALE:
        stage_move_request(
            actor=actor,
            use_case=use_case,
            target_stage=gates.next_stage(use_case),
            note=ASKING_TO_SCALE[use_case.key],
        )
    if use_case.key in APPROVED_NEXT and gates.next_stage(use_case):
        stage_approval_record(
            actor=chair,
            use_case=use_case,
            target_stage=gates.next_stage(use_case),
            note="Funded for the next milestone only: three months at the current run rate.",
            amount=use_case.expected_monthly_cost * 3,
        )


def _facts_stub(use_case):
    # Only the via-triage fact matters for items that are both computed and attestable (risk scan).
    return gates.GateFacts(via_triage=hasattr(use_case, "intake") and use_case.intake.triaged_at is not None)


def seed(*, stdout):
    admin, chair = demo_user("admin"), demo_user("chair")
    today = periods.today()
    done = 0
    recorded = set(GateItemState.objects.values_list("use_case_id", flat=True))
    use_cases = UseCase.objects.select_related("business_owner", "technical_owner").order_by("key")
    for n, use_case in enumerate(use_cases):
        if use_case.pk in recorded or use_case.stage == Stage.CONCEPT:
            continue
        _lifecycle(use_case, admin=admin, chair=chair, today=today, n=n)
        done += 1
    missed = milestones_mark_overdue(today=today)
    stdout.write(
        f"  lifecycle: {done} use cases given consistent gates and records, {missed} milestones missed"
    )
