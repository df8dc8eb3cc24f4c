"""Rule-based triage of an intake: a risk tier, a review path and reasons a person can read.

`triage(facts, rules)` is a pure function of the intake's facts and the rules' settings (kept in
the TriageRule table, tuned by admins), so the whole rule table is tested without a database.
Rules that describe the same factor at two strengths are exclusive: restricted data does not
also count as confidential, an autonomous agent with external actions not also as an
autonomous agent, cost above the high threshold not also as cost above the review threshold.
When an admin turns off the stronger rule of such a pair, the weaker one still applies.
Cost thresholds are in USD; the product holds no exchange rates, so a cost in another currency
cannot be compared and is sent to review rather than guessed.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from portfolio.catalog import is_above_recommendation, recommended_tier
from portfolio.choices import (
    AutonomyLevel,
    CustomerImpact,
    DataClassification,
    ModelStatus,
    ModelTier,
    RiskTier,
    UserAudience,
)

from .models import ReviewPath, TriageRuleCode

C = TriageRuleCode
THRESHOLD_CURRENCY = "USD"
TIER_ORDER = [RiskTier.LOW, RiskTier.MEDIUM, RiskTier.HIGH, RiskTier.CRITICAL]

# code: (tier, threshold). Also the content of migration 0002, which puts them in the database.
DEFAULT_RULES = {
    C.CUSTOMER_FACING: (RiskTier.HIGH, None),
    C.INDIRECT_CUSTOMER_IMPACT: (RiskTier.MEDIUM, None),
    C.EXTERNAL_USERS: (RiskTier.MEDIUM, None),
    C.RESTRICTED_DATA: (RiskTier.HIGH, None),
    C.CONFIDENTIAL_DATA: (RiskTier.MEDIUM, None),
    C.PERSONAL_DATA: (RiskTier.MEDIUM, None),
    C.SUPERVISED_AGENT: (RiskTier.MEDIUM, None),
    C.AUTONOMOUS_AGENT: (RiskTier.HIGH, None),
    C.AGENT_EXTERNAL_ACTIONS: (RiskTier.HIGH, None),
    C.AUTONOMOUS_EXTERNAL_ACTIONS: (RiskTier.CRITICAL, None),
    C.COST_ABOVE_THRESHOLD: (RiskTier.MEDIUM, Decimal("5000")),
    C.COST_ABOVE_HIGH_THRESHOLD: (RiskTier.HIGH, Decimal("50000")),
    C.UNLISTED_MODEL: (RiskTier.MEDIUM, None),
    C.RESTRICTED_MODEL: (RiskTier.MEDIUM, None),
    C.COMBINED_HIGH_RISKS: (RiskTier.CRITICAL, Decimal("3")),
}


@dataclass(frozen=True)
class RuleSetting:
    tier: str
    threshold: Decimal | None = None
    enabled: bool = True


def default_rule_settings():
    return {
        code: RuleSetting(tier=tier, threshold=threshold) for code, (tier, threshold) in DEFAULT_RULES.items()
    }


@dataclass(frozen=True)
class ModelFacts:
    name: str
    tier: str
    status: str


@dataclass(frozen=True)
class IntakeFacts:
    customer_impact: str = CustomerImpact.NONE
    user_audience: str = UserAudience.INTERNAL
    data_classification: str = DataClassification.INTERNAL
    personal_data: bool = False
    autonomy_level: str = AutonomyLevel.ASSISTIVE
    external_actions: bool = False
    expected_monthly_cost: Decimal | None = None
    currency: str = "USD"
    models: tuple[ModelFacts, ...] = ()
    unlisted_model: str = ""
    task_kind: str = ""

    @classmethod
    def of(cls, intake, models=None):
        """The facts of an IntakeRequest (saved, so that its models can be read)."""
        models = intake.ai_models.all() if models is None else models
        return cls(
            customer_impact=intake.customer_impact,
            user_audience=intake.user_audience,
            data_classification=intake.data_classification,
            personal_data=intake.personal_data,
            autonomy_level=intake.autonomy_level,
            external_actions=intake.external_actions,
            expected_monthly_cost=intake.expected_monthly_cost,
            currency=intake.currency,
            models=tuple(ModelFacts(m.name, m.tier, m.status) for m in models),
            unlisted_model=intake.unlisted_model.strip(),
            task_kind=intake.task_kind,
        )


@dataclass(frozen=True)
class Finding:
    code: str
    text: str
    tier: str = ""

    def as_dict(self):
        return {"code": self.code, "text": self.text, "tier": self.tier}


@dataclass
class TriageResult:
    risk_tier: str
    review_path: str
    reasons: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)

    @property
    def review_required(self):
        return self.review_path == ReviewPath.REVIEW

    @property
    def codes(self):
        return {r.code for r in self.reasons}


def _money(amount, currency):
    return f"{amount:,.0f} {currency}" if currency != "USD" else f"${amount:,.0f}"


def _candidate_reasons(facts: IntakeFacts, rules):
    """One tuple of (code, text) alternatives per risk factor present, the strongest first.

    `triage` takes the first alternative whose rule is enabled, so turning off the stronger rule
    of a pair leaves the weaker one in force rather than dropping the factor.
    """
    if facts.customer_impact == CustomerImpact.CUSTOMER_FACING:
        yield ((C.CUSTOMER_FACING, "Customer-facing: its output reaches customers."),)
    elif facts.customer_impact == CustomerImpact.INDIRECT:
        yield ((C.INDIRECT_CUSTOMER_IMPACT, "Indirect customer impact: customers feel its results."),)
    if facts.user_audience in (UserAudience.EXTERNAL, UserAudience.BOTH):
        yield ((C.EXTERNAL_USERS, "Used by people outside the company."),)

    if facts.data_classification == DataClassification.RESTRICTED:
        yield (
            (C.RESTRICTED_DATA, "Restricted data."),
            (
                C.CONFIDENTIAL_DATA,
                "Restricted data, counted as confidential (the restricted-data rule is off).",
            ),
        )
    elif facts.data_classification == DataClassification.CONFIDENTIAL:
        yield ((C.CONFIDENTIAL_DATA, "Confidential data."),)
    if facts.personal_data:
        yield ((C.PERSONAL_DATA, "Personal data."),)

    autonomous_text = "Autonomous agent: acts without a person approving each step."
    if facts.autonomy_level == AutonomyLevel.AUTONOMOUS_AGENT:
        if facts.external_actions:
            yield (
                (C.AUTONOMOUS_EXTERNAL_ACTIONS, "Autonomous agent with external actions."),
                (C.AUTONOMOUS_AGENT, autonomous_text),
            )
        else:
            yield ((C.AUTONOMOUS_AGENT, autonomous_text),)
    elif facts.autonomy_level == AutonomyLevel.SUPERVISED_AGENT:
        if facts.external_actions:
            yield (
                (C.AGENT_EXTERNAL_ACTIONS, "Agent with external actions, under supervision."),
                (C.SUPERVISED_AGENT, "Supervised agent."),
            )
        else:
            yield ((C.SUPERVISED_AGENT, "Supervised agent."),)

    cost = facts.expected_monthly_cost
    if cost is not None and facts.currency != THRESHOLD_CURRENCY:
        yield (
            (
                C.COST_ABOVE_THRESHOLD,
                f"Expected cost is in {facts.currency}; the cost thresholds are in {THRESHOLD_CURRENCY}, "
                "so it cannot be compared without review.",
            ),
        )
    elif cost is not None:
        alternatives = []
        for code in (C.COST_ABOVE_HIGH_THRESHOLD, C.COST_ABOVE_THRESHOLD):
            threshold = rules[code].threshold
            if threshold is not None and cost > threshold:
                text = (
                    f"Expected cost above {_money(threshold, 'USD')} a month "
                    f"({_money(cost, facts.currency)} expected)."
                )
                alternatives.append((code, text))
        if alternatives:
            yield tuple(alternatives)

    if facts.unlisted_model:
        yield ((C.UNLISTED_MODEL, f"Unlisted model: “{facts.unlisted_model}” is not in the catalog."),)
    restricted = [m.name for m in facts.models if m.status == ModelStatus.RESTRICTED]
    if restricted:
        yield ((C.RESTRICTED_MODEL, f"Model restricted in the catalog: {', '.join(restricted)}."),)


def _warnings(facts: IntakeFacts):
    recommended = recommended_tier(facts.task_kind)
    for m in facts.models:
        if recommended is not None and is_above_recommendation(m, facts.task_kind):
            yield Finding(
                "frontier_by_default",
                f"{m.name} is a {ModelTier(m.tier).label.lower()} model; this kind of task needs "
                f"{ModelTier(recommended).label.lower()}. Frontier by default? Say why.",
            )


def triage(facts: IntakeFacts, rules=None) -> TriageResult:
    rules = rules or default_rule_settings()
    reasons = []
    for alternatives in _candidate_reasons(facts, rules):
        for code, text in alternatives:
            if rules[code].enabled:
                reasons.append(Finding(code, text, rules[code].tier))
                break

    combined = rules[C.COMBINED_HIGH_RISKS]
    high_count = sum(1 for r in reasons if r.tier in (RiskTier.HIGH, RiskTier.CRITICAL))
    if combined.enabled and combined.threshold is not None and high_count >= combined.threshold:
        reasons.append(
            Finding(C.COMBINED_HIGH_RISKS, f"{high_count} high-risk factors together.", combined.tier)
        )

    tier = max((r.tier for r in reasons), key=TIER_ORDER.index, default=RiskTier.LOW)
    path = ReviewPath.FAST_TRACK if tier == RiskTier.LOW else ReviewPath.REVIEW
    return TriageResult(risk_tier=tier, review_path=path, reasons=reasons, warnings=list(_warnings(facts)))
