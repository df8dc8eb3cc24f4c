from decimal import Decimal

import factory

from aifinops.core.tests.factories import UserFactory
from showback.models import Budget, BudgetMode, BudgetPeriod, BudgetScope


class BudgetFactory(factory.django.DjangoModelFactory):
    """A monthly alert-mode portfolio budget unless told otherwise; set the target of other scopes."""

    class Meta:
        model = Budget

    name = factory.Sequence(lambda n: f"Budget {n}")
    scope = BudgetScope.PORTFOLIO
    period = BudgetPeriod.MONTHLY
    amount = Decimal("1000.00")
    currency = "USD"
    mode = BudgetMode.ALERT
    thresholds = factory.LazyFunction(lambda: [50, 80, 100])
    owner = factory.SubFactory(UserFactory)
