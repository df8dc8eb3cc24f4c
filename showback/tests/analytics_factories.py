import datetime
from decimal import Decimal

import factory

from portfolio.tests.factories import UseCaseFactory
from showback.models import Anomaly, AnomalyKind, AnomalyStatus, AssumptionKind, ForecastAssumption, Severity
from showback.tests.factories import DailySpendFactory


class AnomalyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Anomaly

    date = factory.Sequence(lambda n: datetime.date(2025, 6, 1) + datetime.timedelta(days=n % 300))
    use_case = factory.SubFactory(UseCaseFactory)
    kind = AnomalyKind.SPIKE
    severity = Severity.HIGH
    expected = Decimal("100")
    actual = Decimal("450")
    currency = "USD"
    detail = factory.LazyFunction(lambda: {"score": "12.00", "basis": "weekday", "window_days": 28})
    status = AnomalyStatus.OPEN


class ForecastAssumptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ForecastAssumption

    kind = AssumptionKind.ADOPTION_GROWTH
    effective_from = datetime.date(2025, 7, 1)
    growth_pct = Decimal("10")


def daily_spend_rows(*, use_case, provider, model=None, costs, start, tier="mid", **extra):
    """Unsaved DailySpend rows, one a day from `start`, for bulk_create: costs are amounts or
    (amount, requests, input_tokens, cached_tokens, output_tokens)."""
    rows = []
    for i, cost in enumerate(costs):
        if isinstance(cost, tuple):
            amount, requests, tokens_in, tokens_cached, tokens_out = cost
        else:
            amount, requests, tokens_in, tokens_cached, tokens_out = cost, 0, 0, 0, 0
        amount = Decimal(str(amount))
        rows.append(
            DailySpendFactory.build(
                date=start + datetime.timedelta(days=i),
                use_case=use_case,
                team=use_case.team,
                provider=provider,
                model=model,
                model_tier=tier,
                billed_cost=amount,
                effective_cost=amount,
                list_cost=amount,
                requests=requests,
                input_tokens=tokens_in,
                cached_tokens=tokens_cached,
                output_tokens=tokens_out,
                **extra,
            )
        )
    return rows
