"""Demo people: one login per role plus a cast of named colleagues, for `manage.py seed_demo`.

Every demo user has the password `settings.DEMO_PASSWORD` ("demo" unless set). Roles are given
through `user_roles_set`, so the first run writes their audit events and later runs write none.
"""

import re
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ImproperlyConfigured

from .roles import Role
from .services import user_roles_set

EMAIL_DOMAIN = "example.com"


@dataclass(frozen=True)
class DemoPerson:
    username: str
    first_name: str
    last_name: str
    roles: tuple[str, ...]
    is_superuser: bool = False

    @property
    def email(self) -> str:
        local = ".".join(re.sub(r"[^a-z]", "", part.lower()) for part in (self.first_name, self.last_name))
        return f"{local}@{EMAIL_DOMAIN}"


# The six logins printed after seeding, one per role, named after that role.
ROLE_LOGINS = (
    DemoPerson("requester", "Rosa", "Quintero", (Role.REQUESTER,)),
    DemoPerson("owner", "Omar", "Haddad", (Role.USE_CASE_OWNER,)),
    DemoPerson("council", "Camille", "Laurent", (Role.COUNCIL_MEMBER,)),
    DemoPerson("chair", "Helena", "Strand", (Role.COUNCIL_CHAIR, Role.COUNCIL_MEMBER)),
    DemoPerson("finance", "Frank", "Moreau", (Role.FINANCE_ANALYST,)),
    DemoPerson("admin", "Ada", "Kim", (Role.PLATFORM_ADMIN,), is_superuser=True),
)

# Colleagues who lead teams, own use cases and sit on the council.
COLLEAGUES = (
    DemoPerson("mhernandez", "Maria", "Hernandez", (Role.USE_CASE_OWNER,)),
    DemoPerson("jchen", "James", "Chen", (Role.USE_CASE_OWNER,)),
    DemoPerson("cdubois", "Claire", "Dubois", (Role.USE_CASE_OWNER,)),
    DemoPerson("aokafor", "Adaeze", "Okafor", (Role.USE_CASE_OWNER,)),
    DemoPerson("lmartin", "Lucas", "Martin", (Role.USE_CASE_OWNER,)),
    DemoPerson("ewilson", "Emma", "Wilson", (Role.USE_CASE_OWNER,)),
    DemoPerson("sgupta", "Sanjay", "Gupta", (Role.USE_CASE_OWNER,)),
    DemoPerson("kyamamoto", "Kenji", "Yamamoto", (Role.USE_CASE_OWNER,)),
    DemoPerson("rpatel", "Rajesh", "Patel", (Role.COUNCIL_MEMBER, Role.FINANCE_ANALYST)),
    DemoPerson("okowalski", "Olga", "Kowalski", (Role.COUNCIL_MEMBER,)),
    DemoPerson("dnguyen", "David", "Nguyen", (Role.COUNCIL_MEMBER, Role.USE_CASE_OWNER)),
    DemoPerson("sobrien", "Siobhan", "O'Brien", (Role.COUNCIL_MEMBER, Role.USE_CASE_OWNER)),
    DemoPerson("abaker", "Aaron", "Baker", (Role.COUNCIL_MEMBER, Role.USE_CASE_OWNER)),
)

PEOPLE = ROLE_LOGINS + COLLEAGUES


def demo_password() -> str:
    return getattr(settings, "DEMO_PASSWORD", "") or "demo"


def ensure_roles(user, roles) -> bool:
    """Give `user` at least `roles`, keeping any others. Returns True if anything changed.

    Adding rather than replacing means a second run finds nothing to do, and roles a platform
    admin granted to a demo user since are kept.
    """
    current = set(user.groups.filter(name__in=Role.values).values_list("name", flat=True))
    wanted = current | {str(r) for r in roles}
    if wanted == current:
        return False
    user_roles_set(user=user, roles=sorted(wanted), actor=None)
    return True


def demo_user(username):
    return get_user_model().objects.get(username=username)


def seed(*, stdout):
    # Defence in depth: the command refuses first, but this module must never run in production.
    if getattr(settings, "AIFINOPS_PROFILE", "") == "production":
        raise ImproperlyConfigured("Demo users must not be created in the production profile.")
    User = get_user_model()
    password_hash = None  # hashed once, lazily: the default hasher is slow on purpose
    created = roles_changed = 0
    for person in PEOPLE:
        user = User.objects.filter(username=person.username).first()
        if user is None:
            if password_hash is None:
                password_hash = make_password(demo_password())
            user = User.objects.create(
                username=person.username,
                first_name=person.first_name,
                last_name=person.last_name,
                email=person.email,
                password=password_hash,
                is_superuser=person.is_superuser,
                is_staff=person.is_superuser,
            )
            created += 1
        roles_changed += ensure_roles(user, person.roles)
    stdout.write(f"  users: {created} created, roles set for {roles_changed}, {len(PEOPLE)} in the cast")
