"""The choices' own order (`in_choice_order`), which every list sorted by stage, risk, autonomy or
model tier follows instead of the alphabet of the stored values."""

import pytest

from portfolio.choices import AutonomyLevel, RiskTier, Stage, in_choice_order
from portfolio.models import UseCase
from portfolio.tests.factories import TeamFactory, UseCaseFactory

pytestmark = pytest.mark.django_db

CHOICE_FIELDS = [("stage", Stage), ("risk_tier", RiskTier), ("autonomy_level", AutonomyLevel)]


@pytest.mark.parametrize("field, choices", CHOICE_FIELDS)
def test_ordering_by_the_helper_gives_the_choices_order_not_the_alphabet(field, choices):
    # Given one use case per choice, made in reverse alphabetical order of the stored values
    team = TeamFactory()
    for value in sorted(choices.values, reverse=True):
        UseCaseFactory(team=team, **{field: value})

    # When they are ordered by the helper, one way and the other
    ascending = UseCase.objects.order_by(in_choice_order(field, choices), "pk")
    descending = UseCase.objects.order_by(in_choice_order(field, choices).desc(), "pk")

    # Then they come in the order the choices declare (which the alphabet would not give)
    assert list(ascending.values_list(field, flat=True)) == choices.values
    assert list(descending.values_list(field, flat=True)) == choices.values[::-1]
    assert choices.values != sorted(choices.values)


def test_a_value_the_choices_do_not_know_ranks_after_them_all():
    # Given a use case whose risk tier is no longer one of the choices (an old stored value)
    team = TeamFactory()
    UseCaseFactory(team=team, key="old", risk_tier="extreme")
    UseCaseFactory(team=team, key="critical", risk_tier=RiskTier.CRITICAL)
    UseCaseFactory(team=team, key="low", risk_tier=RiskTier.LOW)

    # When they are ordered by risk
    keys = UseCase.objects.order_by(in_choice_order("risk_tier", RiskTier)).values_list("key", flat=True)

    # Then the unknown one comes last
    assert list(keys) == ["low", "critical", "old"]
