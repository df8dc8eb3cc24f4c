"""A small portfolio with known figures for the dashboard, narrative and scorecard tests.

Last month (L) and the month before (P), in USD unless said:

    use case   team     stage   risk / autonomy          L spend                       P spend
    drafter    Support  scale   high / supervised agent  600 GPT (frontier) + 200 Claude (mid)   400 GPT
    router     Support  launch  low / autonomous agent   100 mini (small) + 25 Haiku (small)     100 mini
    writer     Ads      pilot   medium / assistive       300 Claude (mid) + 70 EUR               -
    (none)     Support  -       -                        50 mini (small)                         -
    non-AI     Ads      -       -                        1000 (left out)                         -

Value in L: drafter 400 outcomes at 5 (and 200 of other costs), router 50 outcomes at 1; writer
reports nothing. Writer has no technical owner. The cast's two concept use cases have no spend.
"""

import datetime
from decimal import Decimal

from django.utils import timezone

from aifinops.core import periods
from portfolio.choices import (
    AutonomyLevel,
    BusinessFunction,
    CostCategory,
    ModelTier,
    MoveRequestStatus,
    OptimizationLever,
    OptimizationStatus,
    RiskTier,
    Stage,
    TaskKind,
)
from portfolio.models import CostLine, OptimizationItem, StageMoveRequest, Team, ValueSignal
from portfolio.tests.factories import AIModelFactory, ProviderFactory, TeamFactory, UseCaseFactory
from showback.models import BudgetScope
from showback.rollups import monthly_spend_rebuild
from showback.tests.budget_factories import BudgetFactory
from showback.tests.factories import DailySpendFactory


def months():
    today = periods.today()
    return periods.months_back(today, 1), periods.months_back(today, 2)


def cost(amount, **kwargs):
    amount = Decimal(amount)
    kwargs.setdefault("record_count", 1)
    return DailySpendFactory(billed_cost=amount, effective_cost=amount, list_cost=amount, **kwargs)


def build(cast):
    last, before = months()
    day_l, day_p = last + datetime.timedelta(days=9), before + datetime.timedelta(days=1)
    Team.objects.filter(pk=cast.team_a.pk).update(business_function=BusinessFunction.CUSTOMER_SUPPORT)
    Team.objects.filter(pk=cast.team_b.pk).update(name="Ads", business_function=BusinessFunction.MARKETING)
    cast.team_a.refresh_from_db()
    cast.team_b.refresh_from_db()
    openai = ProviderFactory(slug="openai", name="OpenAI")
    anthropic = ProviderFactory(slug="anthropic", name="Anthropic")
    gpt = AIModelFactory(provider=openai, key="gpt", name="GPT", tier=ModelTier.FRONTIER)
    mini = AIModelFactory(provider=openai, key="mini", name="Mini", tier=ModelTier.SMALL)
    claude = AIModelFactory(provider=anthropic, key="claude", name="Claude", tier=ModelTier.MID)
    haiku = AIModelFactory(provider=anthropic, key="haiku", name="Haiku", tier=ModelTier.SMALL)
    drafter = UseCaseFactory(
        key="drafter",
        name="Reply drafter",
        team=cast.team_a,
        business_function=BusinessFunction.CUSTOMER_SUPPORT,
        stage=Stage.SCALE,
        risk_tier=RiskTier.HIGH,
        autonomy_level=AutonomyLevel.SUPERVISED_AGENT,
        business_owner=cast.owner,
        technical_owner=cast.requester_a,
        task_kind=TaskKind.DRAFTING,
        routing_policy="Short replies to the small model.",
        anomaly_threshold_pct=Decimal("50"),
        workflow="Ticket handling",
    )
    router = UseCaseFactory(
        key="router",
        name="Ticket router",
        team=cast.team_a,
        business_function=BusinessFunction.CUSTOMER_SUPPORT,
        stage=Stage.LAUNCH,
        risk_tier=RiskTier.LOW,
        autonomy_level=AutonomyLevel.AUTONOMOUS_AGENT,
        business_owner=cast.owner,
        technical_owner=cast.owner,
        task_kind=TaskKind.MULTI_STEP,
        workflow="ticket handling ",
    )
    writer = UseCaseFactory(
        key="writer",
        name="Ad writer",
        team=cast.team_b,
        business_function=BusinessFunction.MARKETING,
        stage=Stage.PILOT,
        risk_tier=RiskTier.MEDIUM,
        autonomy_level=AutonomyLevel.ASSISTIVE,
        business_owner=cast.requester_b,
    )
    support = {"team": cast.team_a}
    cost(
        "600",
        date=day_l,
        use_case=drafter,
        provider=openai,
        model=gpt,
        model_tier="frontier",
        requests=1000,
        input_tokens=900_000,
        output_tokens=100_000,
        **support,
    )
    cost(
        "200",
        date=day_l,
        use_case=drafter,
        provider=anthropic,
        model=claude,
        model_tier="mid",
        requests=600,
        input_tokens=500_000,
        **support,
    )
    cost("400", date=day_p, use_case=drafter, provider=openai, model=gpt, model_tier="frontier", **support)
    cost("100", date=day_l, use_case=router, provider=openai, model=mini, model_tier="small", **support)
    cost("25", date=day_l, use_case=router, provider=anthropic, model=haiku, model_tier="small", **support)
    cost("100", date=day_p, use_case=router, provider=openai, model=mini, model_tier="small", **support)
    cost("50", date=day_l, provider=openai, model=mini, model_tier="small", **support)
    cost(
        "300",
        date=day_l,
        use_case=writer,
        team=cast.team_b,
        provider=anthropic,
        model=claude,
        model_tier="mid",
    )
    cost(
        "70",
        date=day_l,
        use_case=writer,
        team=cast.team_b,
        provider=anthropic,
        model=claude,
        model_tier="mid",
        currency="EUR",
    )
    cost("1000", date=day_l, team=cast.team_b, is_ai=False)
    # The factories write DailySpend rows directly; the service keeps the monthly rollup with them.
    monthly_spend_rebuild(start=before, end=day_l)

    ValueSignal.objects.create(
        use_case=drafter, month=last, outcomes=400, value_per_outcome=Decimal("5"), active_users=20
    )
    ValueSignal.objects.create(use_case=router, month=last, outcomes=50, value_per_outcome=Decimal("1"))
    CostLine.objects.create(
        use_case=drafter, month=last, category=CostCategory.HUMAN_REVIEW, amount=Decimal("200")
    )

    OptimizationItem.objects.create(
        use_case=drafter,
        title="Route short replies",
        lever=OptimizationLever.MODEL_ROUTING,
        expected_monthly_savings=Decimal("100"),
    )
    OptimizationItem.objects.create(
        use_case=drafter,
        title="Cache the policy prompt",
        lever=OptimizationLever.CACHING,
        expected_monthly_savings=Decimal("50"),
        realised_monthly_savings=Decimal("40"),
        status=OptimizationStatus.DONE,
    )
    OptimizationItem.objects.create(
        use_case=router,
        title="Retire",
        lever=OptimizationLever.RETIREMENT,
        expected_monthly_savings=Decimal("30"),
        status=OptimizationStatus.REJECTED,
    )

    budget = BudgetFactory(
        name="Support monthly",
        scope=BudgetScope.TEAM,
        team=cast.team_a,
        amount=Decimal("1000"),
        owner=cast.finance,
    )
    move = StageMoveRequest.objects.create(
        use_case=writer,
        target_stage=Stage.LAUNCH,
        requested_by=cast.requester_b,
        status=MoveRequestStatus.OPEN,
    )
    StageMoveRequest.objects.filter(pk=move.pk).update(created_at=timezone.now() - datetime.timedelta(days=5))
    return {
        "last": last,
        "before": before,
        "drafter": drafter,
        "router": router,
        "writer": writer,
        "budget": budget,
        "models": {"gpt": gpt, "mini": mini, "claude": claude, "haiku": haiku},
        "providers": {"openai": openai, "anthropic": anthropic},
    }


def grow(world, cast, n):
    """n more teams, each with a use case at every stage, a month of spend, a value signal, backlog
    items, a budget and a waiting move: more rows everywhere, the same shape."""
    last = world["last"]
    openai = world["providers"]["openai"]
    for i in range(n):
        team = TeamFactory(slug=f"extra-{i}", name=f"Extra {i}")
        BudgetFactory(name=f"Extra {i}", scope=BudgetScope.TEAM, team=team, owner=cast.finance)
        for j, stage in enumerate([Stage.MVP, Stage.PILOT, Stage.LAUNCH, Stage.SCALE]):
            uc = UseCaseFactory(key=f"extra-{i}-{j}", team=team, stage=stage, business_owner=cast.owner)
            for d in range(0, 28, 3):
                cost(
                    "10",
                    date=last + datetime.timedelta(days=d),
                    use_case=uc,
                    team=team,
                    provider=openai,
                    model=world["models"]["gpt"],
                    model_tier="frontier",
                )
            ValueSignal.objects.create(use_case=uc, month=last, outcomes=10, value_per_outcome=Decimal("3"))
            OptimizationItem.objects.create(
                use_case=uc, title="x", lever=OptimizationLever.CACHING, expected_monthly_savings=Decimal("1")
            )
            StageMoveRequest.objects.create(use_case=uc, target_stage=Stage.SCALE, requested_by=cast.owner)
    monthly_spend_rebuild(start=last, end=last + datetime.timedelta(days=27))
