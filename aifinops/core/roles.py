"""The roles of the product. Each role is a Django group of the same name (see migration 0002)."""

from django.db import models


class Role(models.TextChoices):
    REQUESTER = "requester", "Requester"
    USE_CASE_OWNER = "use_case_owner", "Use-case owner"
    COUNCIL_MEMBER = "council_member", "Council member"
    COUNCIL_CHAIR = "council_chair", "Council chair"
    FINANCE_ANALYST = "finance_analyst", "Finance analyst"
    PLATFORM_ADMIN = "platform_admin", "Platform admin"
