"""Demo council: the AI Investment Council, its chair and members with their personas.

There is no council service yet, so the council and its seats are get_or_create'd here, with their
audit events written in the same transaction the first time only.
"""

from django.db import transaction

from aifinops.core.audit import audit_record, snapshot
from aifinops.core.demo import demo_user, ensure_roles
from aifinops.core.roles import Role

from .models import Cadence, Council, CouncilMember, Persona

COUNCIL_NAME = "AI Investment Council"
CHAIR = "chair"
QUORUM = 4

SEATS = (
    # username, persona
    ("chair", Persona.BUSINESS_OWNER),
    ("council", Persona.AI_PLATFORM),
    ("rpatel", Persona.FINANCE),
    ("okowalski", Persona.SECURITY_RISK),
    ("dnguyen", Persona.ENTERPRISE_ARCHITECTURE),
    ("sobrien", Persona.PROCUREMENT),
    ("abaker", Persona.INFRASTRUCTURE),
)


@transaction.atomic
def seed(*, stdout):
    chair = demo_user(CHAIR)
    ensure_roles(chair, [Role.COUNCIL_CHAIR, Role.COUNCIL_MEMBER])
    council, created = Council.objects.get_or_create(
        name=COUNCIL_NAME, defaults={"cadence": Cadence.MONTHLY, "quorum": QUORUM, "chair": chair}
    )
    if created:
        audit_record(actor=None, action="council.create", obj=council, after=snapshot(council))
    seats_created = 0
    for username, persona in SEATS:
        user = demo_user(username)
        ensure_roles(user, [Role.COUNCIL_MEMBER])
        seat, seat_created = CouncilMember.objects.get_or_create(
            council=council, user=user, defaults={"persona": persona}
        )
        if seat_created:
            audit_record(actor=None, action="council_member.add", obj=seat, after=snapshot(seat))
            seats_created += 1
    stdout.write(
        f"  council: {COUNCIL_NAME} {'created' if created else 'already present'}, "
        f"{seats_created} seats added, {len(SEATS)} in all"
    )
