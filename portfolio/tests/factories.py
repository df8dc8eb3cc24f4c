from decimal import Decimal

import factory

from aifinops.core.tests.factories import UserFactory
from portfolio.choices import BusinessFunction, ModelTier, ProviderKind, Stage
from portfolio.models import AIModel, Membership, Provider, Team, UseCase


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.Sequence(lambda n: f"team-{n}")
    business_function = BusinessFunction.ENGINEERING
    cost_center = factory.Sequence(lambda n: f"CC-{1000 + n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    team = factory.SubFactory(TeamFactory)


class ProviderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Provider
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Provider {n}")
    slug = factory.Sequence(lambda n: f"provider-{n}")
    kind = ProviderKind.MODEL_API


class AIModelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AIModel

    provider = factory.SubFactory(ProviderFactory)
    key = factory.Sequence(lambda n: f"model-{n}")
    name = factory.Sequence(lambda n: f"Model {n}")
    tier = ModelTier.MID
    input_price_per_mtok = Decimal("2.00")
    output_price_per_mtok = Decimal("8.00")


class UseCaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UseCase

    key = factory.Sequence(lambda n: f"use-case-{n}")
    name = factory.Sequence(lambda n: f"Use case {n}")
    purpose = "Summarise support tickets for agents."
    team = factory.SubFactory(TeamFactory)
    business_function = BusinessFunction.CUSTOMER_SUPPORT
    stage = Stage.CONCEPT
    expected_monthly_cost = Decimal("1000.00")
    value_per_outcome = Decimal("2.50")
    outcomes_per_month = 1000
