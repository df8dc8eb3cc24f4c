"""The stage gates: which items each target stage needs, and whether a use case meets them.

A move into a stage needs that stage's gate complete. The guardrails checklist is part of the
pilot gate and the production deployment gate part of the launch gate. Items that data can
prove are computed from the use case (and from showback, through its selectors); the others are
attested by a named person with a date and evidence. Any item can be marked not applicable, but
only with a reason. Where a computed item's data is missing, a person may attest it instead only
if the item says so (`attestable`).
"""

from dataclasses import dataclass, field

from django.conf import settings

from aifinops.core import periods

from ..choices import GateItemStatus, MilestoneStatus, PromptCaching, RiskTier, Stage

FORWARD = [Stage.CONCEPT, Stage.MVP, Stage.PILOT, Stage.LAUNCH, Stage.SCALE]
STAGE_GROUP, GUARDRAILS, DEPLOYMENT = "stage", "guardrails", "deployment"
GROUP_LABELS = {
    STAGE_GROUP: "Stage gate",
    GUARDRAILS: "Guardrails checklist",
    DEPLOYMENT: "Production deployment gate",
}


@dataclass(frozen=True)
class GateItem:
    code: str
    label: str
    stage: str
    group: str = STAGE_GROUP
    check: object = None  # (use_case, facts) -> None when met, else what is missing, in words
    attestable: bool = True  # may a person attest it (always true for items with no check)
    hint: str = ""

    @property
    def computed(self):
        return self.check is not None


@dataclass
class GateFacts:
    """What the computed checks read, gathered once per use case so a page asks a few queries."""

    has_recent_spend: bool = False
    has_recent_value_signal: bool = False
    tag_problems: dict = field(default_factory=dict)
    model_count: int = 0
    has_future_review: bool = False
    economics_viable: bool | None = None
    via_triage: bool = False


def _missing(condition, text):
    return None if condition else text


ITEMS = [
    # Concept: what intake established.
    GateItem(
        "value_proposition",
        "Value proposition",
        Stage.CONCEPT,
        check=lambda uc, f: _missing(uc.purpose and uc.value_metric, "Give the purpose and a value metric."),
    ),
    GateItem(
        "model_shortlist",
        "Model shortlist",
        Stage.CONCEPT,
        check=lambda uc, f: _missing(f.model_count, "Choose the candidate models from the catalog."),
    ),
    GateItem(
        "risk_scan",
        "Risk scan",
        Stage.CONCEPT,
        check=lambda uc, f: _missing(f.via_triage, "No intake triage on record: attest a risk scan."),
        hint="Done by intake triage; attest it for use cases registered without intake.",
    ),
    # MVP.
    GateItem(
        "cost_value_baselines",
        "Cost and value baselines",
        Stage.MVP,
        hint="Today's cost and value of the work the use case changes, measured.",
    ),
    GateItem(
        "token_output_budgets",
        "Token and output budgets",
        Stage.MVP,
        check=lambda uc, f: _missing(
            uc.token_budget_monthly and uc.max_output_tokens,
            "Set the monthly token budget and the max output tokens per call.",
        ),
        attestable=False,
    ),
    GateItem("testing_plan", "Testing plan", Stage.MVP, hint="How quality is evaluated before users see it."),
    # Pilot.
    GateItem(
        "cost_attribution_live",
        "Cost attribution live",
        Stage.PILOT,
        check=lambda uc, f: _missing(
            f.has_recent_spend, f"No spend attributed to {uc.key} in the last 14 days: tag it."
        ),
        attestable=False,
    ),
    GateItem(
        "unit_economics_tracked",
        "Unit economics tracked",
        Stage.PILOT,
        check=lambda uc, f: _missing(
            f.has_recent_value_signal, "Record last month's value signals (outcomes, quality)."
        ),
        attestable=False,
    ),
    GateItem(
        "guardrails_enforced",
        "Guardrails enforced",
        Stage.PILOT,
        hint="The guardrail settings are applied in the call path, not only written down.",
    ),
    GateItem(
        "token_budget_defined",
        "Token budget defined",
        Stage.PILOT,
        GUARDRAILS,
        check=lambda uc, f: _missing(uc.token_budget_monthly, "Set the monthly token budget."),
        attestable=False,
    ),
    GateItem(
        "max_output_tokens_set",
        "Max output tokens per call set",
        Stage.PILOT,
        GUARDRAILS,
        check=lambda uc, f: _missing(uc.max_output_tokens, "Set the max output tokens per call."),
        attestable=False,
    ),
    GateItem(
        "anomaly_threshold_configured",
        "Anomaly threshold configured",
        Stage.PILOT,
        GUARDRAILS,
        check=lambda uc, f: _missing(uc.anomaly_threshold_pct is not None, "Set the anomaly threshold."),
        attestable=False,
    ),
    GateItem(
        "routing_policy_documented",
        "Model routing policy documented",
        Stage.PILOT,
        GUARDRAILS,
        check=lambda uc, f: _missing(uc.routing_policy.strip(), "Document the model routing policy."),
        attestable=False,
    ),
    GateItem(
        "prompt_caching",
        "Prompt caching enabled where applicable",
        Stage.PILOT,
        GUARDRAILS,
        check=lambda uc, f: _missing(
            uc.prompt_caching in (PromptCaching.ENABLED, PromptCaching.NOT_APPLICABLE),
            "Enable prompt caching, or say it does not apply.",
        ),
        attestable=False,
    ),
    GateItem(
        "tagging_schema_validated",
        "Tagging schema present and validated",
        Stage.PILOT,
        GUARDRAILS,
        check=lambda uc, f: _missing(
            not f.tag_problems, "Fix the tags: " + "; ".join(f.tag_problems.values())
        ),
        attestable=False,
    ),
    # Launch.
    GateItem(
        "business_case_validated",
        "Business case validated",
        Stage.LAUNCH,
        hint="Pilot results against the business case, signed off by the business owner.",
    ),
    GateItem(
        "post_decision_review_scheduled",
        "Post-decision review scheduled",
        Stage.LAUNCH,
        check=lambda uc, f: _missing(f.has_future_review, "Add a pending milestone for the review."),
        attestable=False,
    ),
    GateItem(
        "named_business_owner",
        "Named business owner",
        Stage.LAUNCH,
        DEPLOYMENT,
        check=lambda uc, f: _missing(uc.business_owner_id, "Name the business owner."),
        attestable=False,
    ),
    GateItem(
        "named_technical_owner",
        "Named technical owner",
        Stage.LAUNCH,
        DEPLOYMENT,
        check=lambda uc, f: _missing(uc.technical_owner_id, "Name the technical owner."),
        attestable=False,
    ),
    GateItem(
        "cost_center",
        "Cost center",
        Stage.LAUNCH,
        DEPLOYMENT,
        check=lambda uc, f: _missing(uc.cost_center, "Give the cost center."),
        attestable=False,
    ),
    GateItem(
        "model_tier",
        "Model tier",
        Stage.LAUNCH,
        DEPLOYMENT,
        check=lambda uc, f: _missing(f.model_count, "Choose the models (their tier comes from the catalog)."),
        attestable=False,
    ),
    GateItem(
        "expected_usage_profile",
        "Expected usage profile",
        Stage.LAUNCH,
        DEPLOYMENT,
        check=lambda uc, f: _missing(
            uc.outcomes_per_month and uc.expected_monthly_cost,
            "Give the expected outcomes per month and monthly cost.",
        ),
        attestable=False,
    ),
    GateItem(
        "budget_threshold",
        "Budget threshold",
        Stage.LAUNCH,
        DEPLOYMENT,
        check=lambda uc, f: _missing(uc.budget_threshold is not None, "Set the monthly budget threshold."),
        attestable=False,
    ),
    GateItem(
        "observability_tags",
        "Observability tags",
        Stage.LAUNCH,
        DEPLOYMENT,
        check=lambda uc, f: _missing(
            not f.tag_problems and uc.environment, "Complete the tags and the environment."
        ),
        attestable=False,
    ),
    GateItem("data_classification_review", "Data classification review", Stage.LAUNCH, DEPLOYMENT),
    GateItem("security_review", "Security review", Stage.LAUNCH, DEPLOYMENT),
    GateItem(
        "fallback_plan",
        "Fallback plan",
        Stage.LAUNCH,
        DEPLOYMENT,
        hint="What happens when the model or the provider fails.",
    ),
    GateItem(
        "quality_metric",
        "Quality metric",
        Stage.LAUNCH,
        DEPLOYMENT,
        check=lambda uc, f: _missing(uc.success_metric, "Name the success or quality metric."),
        attestable=False,
    ),
    GateItem(
        "business_value_metric",
        "Business value metric",
        Stage.LAUNCH,
        DEPLOYMENT,
        check=lambda uc, f: _missing(uc.value_metric, "Name the business value metric."),
        attestable=False,
    ),
    # Scale.
    GateItem(
        "margin_target_met",
        "Margin target met",
        Stage.SCALE,
        check=lambda uc, f: _missing(
            f.economics_viable, "Full cost per outcome is not below value per outcome yet."
        ),
        attestable=False,
    ),
    GateItem(
        "model_routing_tuned",
        "Model routing tuned",
        Stage.SCALE,
        hint="Routine requests go to the smallest model that does them well.",
    ),
    # Sunset.
    GateItem(
        "sunset_criteria",
        "Sunset criteria met, or missed at two consecutive reviews",
        Stage.SUNSET,
        check=lambda uc, f: _missing(
            uc.consecutive_missed_milestones >= 2,
            "Attest the sunset criteria (or two consecutive missed milestones).",
        ),
        attestable=True,
    ),
]

ITEMS_BY_CODE = {item.code: item for item in ITEMS}


def items_for(stage):
    return [item for item in ITEMS if item.stage == stage]


def next_stage(use_case):
    if use_case.stage in FORWARD[:-1]:
        return FORWARD[FORWARD.index(use_case.stage) + 1]
    return None


@dataclass
class ItemResult:
    item: GateItem
    met: bool
    how: str  # computed, attested, not_applicable, open
    missing: str = ""
    state: object = None

    @property
    def code(self):
        return self.item.code


@dataclass
class GateResult:
    stage: str
    results: list

    @property
    def complete(self):
        return all(r.met for r in self.results)

    @property
    def unmet(self):
        return [r for r in self.results if not r.met]

    def by_group(self):
        groups = {}
        for r in self.results:
            groups.setdefault(r.item.group, []).append(r)
        return [(GROUP_LABELS[g], rs) for g, rs in groups.items()]

    def as_error_list(self):
        return [{"code": r.code, "item": r.item.label, "missing": r.missing} for r in self.unmet]


def evaluate(use_case, stage, *, facts, states):
    """The gate of `stage` for `use_case`. `states` maps code to its GateItemState, if any."""
    results = []
    for item in items_for(stage):
        state = states.get(item.code)
        if state is not None and state.status == GateItemStatus.NOT_APPLICABLE:
            results.append(ItemResult(item, True, "not_applicable", state=state))
            continue
        missing = item.check(use_case, facts) if item.computed else "Needs a named person's attestation."
        if missing is None:
            results.append(ItemResult(item, True, "computed", state=state))
        elif state is not None and state.status == GateItemStatus.ATTESTED and item.attestable:
            results.append(ItemResult(item, True, "attested", state=state))
        else:
            results.append(ItemResult(item, False, "open", missing=missing, state=state))
    return GateResult(stage=stage, results=results)


def review_reasons(use_case, target_stage):
    """Why moving into `target_stage` needs an approved funding decision (empty: it needs none)."""
    reasons = []
    if target_stage == Stage.SUNSET:
        return reasons
    if use_case.risk_tier in (RiskTier.MEDIUM, RiskTier.HIGH, RiskTier.CRITICAL):
        reasons.append(f"{use_case.get_risk_tier_display()} risk tier.")
    if target_stage in (Stage.LAUNCH, Stage.SCALE):
        reasons.append("A pilot asking to scale: every move from pilot on is reviewed.")
    threshold = settings.AIFINOPS_REVIEW_FUNDING_THRESHOLD
    if use_case.expected_monthly_cost and use_case.expected_monthly_cost > threshold:
        reasons.append(f"Funding above {threshold:,.0f} {use_case.currency} a month.")
    return reasons


def has_future_review(milestones, today=None):
    today = today or periods.today()
    return any(m.status == MilestoneStatus.PENDING and m.due_date >= today for m in milestones)


def recent_month_start(today=None):
    return periods.months_back(today or periods.today(), 1)
