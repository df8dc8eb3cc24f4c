import factory

from aifinops.core.tests.factories import UserFactory
from council.models import Council, CouncilMember, Persona


class CouncilFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Council

    name = factory.Sequence(lambda n: f"Council {n}")
    chair = factory.SubFactory(UserFactory, roles=["council_chair", "council_member"])


class CouncilMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CouncilMember

    council = factory.SubFactory(CouncilFactory)
    user = factory.SubFactory(UserFactory, roles=["council_member"])
    persona = Persona.FINOPS
