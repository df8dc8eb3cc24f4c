"""Routing guidance and cost estimates from the model catalog."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from aifinops.core import periods

from .choices import ModelTier, TaskKind
from .pricing import usage_cost

CENTS = Decimal("0.01")

# Which tier suits which kind of work. A model above the tier its task needs is "frontier by
# default": it costs more for no better answer, so the intake asks why.
ROUTING_GUIDANCE = {
    TaskKind.CLASSIFICATION: ModelTier.SMALL,
    TaskKind.EXTRACTION: ModelTier.SMALL,
    TaskKind.FORMATTING: ModelTier.SMALL,
    TaskKind.SHORT_SUMMARY: ModelTier.SMALL,
    TaskKind.EMBEDDING: ModelTier.EMBEDDING,
    TaskKind.DRAFTING: ModelTier.MID,
    TaskKind.ANALYSIS: ModelTier.MID,
    TaskKind.SYNTHESIS: ModelTier.FRONTIER,
    TaskKind.JUDGMENT: ModelTier.FRONTIER,
    TaskKind.MULTI_STEP: ModelTier.REASONING,
}

TIER_RANK = {ModelTier.SMALL: 0, ModelTier.MID: 1, ModelTier.FRONTIER: 2, ModelTier.REASONING: 3}


def recommended_tier(task_kind) -> ModelTier | None:
    return ROUTING_GUIDANCE.get(task_kind)


def is_above_recommendation(model, task_kind) -> bool:
    """True when `model` is a bigger tier than the task needs (embedding models never are)."""
    recommended = recommended_tier(task_kind)
    if recommended is None or model.tier not in TIER_RANK or recommended not in TIER_RANK:
        return False
    return TIER_RANK[model.tier] > TIER_RANK[recommended]


def routing_guidance_rows():
    """[(task label, tier label)] for pages that explain the guidance."""
    return [(TaskKind(task).label, ModelTier(tier).label) for task, tier in ROUTING_GUIDANCE.items()]


@dataclass(frozen=True)
class CostEstimate:
    monthly_cost: Decimal
    currency: str
    cost_per_call: Decimal


def estimate_monthly_cost(*, model, calls_per_month: int, input_tokens: int, output_tokens: int):
    """Cost of `calls_per_month` calls of `input_tokens` in and `output_tokens` out, at the price
    in force today (a negotiated one where the company has it) for that monthly volume."""
    costed = usage_cost(
        model,
        on_date=periods.today(),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        monthly_volume=max(0, calls_per_month) * (input_tokens + output_tokens),
    )
    monthly = (costed.amount * calls_per_month).quantize(CENTS, rounding=ROUND_HALF_UP)
    return CostEstimate(monthly_cost=monthly, currency=costed.currency, cost_per_call=costed.amount)
