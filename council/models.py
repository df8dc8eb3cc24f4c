from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models

from aifinops.core.models import TimeStampedModel


class Persona(models.TextChoices):
    BUSINESS_OWNER = "business_owner", "Business or product owner"
    TECHNOLOGY_LEAD = "technology_lead", "AI or technology lead"
    ENTERPRISE_ARCHITECTURE = "enterprise_architecture", "Enterprise architecture"
    AI_PLATFORM = "ai_platform", "AI platform"
    INFRASTRUCTURE = "infrastructure", "Infrastructure"
    SECURITY_RISK = "security_risk", "Security and risk"
    FINANCE = "finance", "Finance"
    FINOPS = "finops", "FinOps"
    PROCUREMENT = "procurement", "Procurement"


class Cadence(models.TextChoices):
    WEEKLY = "weekly", "Weekly"
    FORTNIGHTLY = "fortnightly", "Every two weeks"
    MONTHLY = "monthly", "Monthly"
    QUARTERLY = "quarterly", "Quarterly"


class Council(TimeStampedModel):
    """The AI Investment Council: funds AI one milestone at a time."""

    name = models.CharField(max_length=100, unique=True)
    cadence = models.CharField(max_length=16, choices=Cadence.choices, default=Cadence.MONTHLY)
    quorum = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(1)], help_text="Members who must vote for a decision."
    )
    chair = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    def __str__(self):
        return self.name


class CouncilMember(TimeStampedModel):
    council = models.ForeignKey(Council, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="council_seats")
    persona = models.CharField(max_length=32, choices=Persona.choices)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["persona", "user__username"]
        constraints = [models.UniqueConstraint(fields=["council", "user"], name="councilmember_unique")]

    def __str__(self):
        return f"{self.user} ({self.get_persona_display()})"
