import datetime
from decimal import Decimal

import factory

from portfolio.tests.factories import ProviderFactory
from showback.models import DailySpend


class DailySpendFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DailySpend

    date = factory.LazyFunction(lambda: datetime.datetime.now(tz=datetime.UTC).date())
    provider = factory.SubFactory(ProviderFactory)
    currency = "USD"
    billed_cost = Decimal("100.00")
    effective_cost = Decimal("100.00")
    list_cost = Decimal("100.00")
    record_count = 1
