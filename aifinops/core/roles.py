"""The roles of the product. Each role is a Django group of the same name (see migration 0002)."""

from django.db import models


class Role(models.TextChoices):
    REQUESTER = "requester", "Requester"
    USE_CASE_OWNER = "use_case_owner", "Use-case owner"
    COUNCIL_MEMBER = "council_member", "Council member"
    COUNCIL_CHAIR = "council_chair", "Council chair"
    FINANCE_ANALYST = "finance_analyst", "Finance analyst"
    PLATFORM_ADMIN = "platform_admin", "Platform admin"


# What each role may do, in one line a platform admin reads before granting it.
ROLE_GRANTS = {
    Role.REQUESTER: "Files intakes for their teams and follows them to a decision.",
    Role.USE_CASE_OWNER: "Keeps the record of the use cases they own: gates, milestones, value, "
    "costs, gateway keys and agent limits; manages their teams' AI tools.",
    Role.COUNCIL_MEMBER: "Sits on the AI Investment Council: reads the whole portfolio and votes on "
    "agenda items.",
    Role.COUNCIL_CHAIR: "Chairs the council: builds agendas, runs meetings, records decisions, "
    "decides intakes sent to review and approves stage moves.",
    Role.FINANCE_ANALYST: "Imports spend, keeps attribution rules, sets budgets, sees margins, "
    "chargeback and the audit log, for every team.",
    Role.PLATFORM_ADMIN: "Runs the product: Administration (people, roles, teams, triage rules), the "
    "model catalog, and every team's records.",
}
