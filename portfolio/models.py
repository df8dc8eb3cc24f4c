import re
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.urls import reverse
from django_fsm import ConcurrentTransitionMixin, FSMField

from aifinops.core.models import TimeStampedModel

from .choices import (
    AutonomyLevel,
    BusinessFunction,
    CustomerImpact,
    DataClassification,
    Environment,
    MembershipRole,
    ModelStatus,
    ModelTier,
    ProviderKind,
    RiskTier,
    RunFrequency,
    Stage,
    TaskKind,
    UserAudience,
)

MONEY = {"max_digits": 18, "decimal_places": 6}


class Team(TimeStampedModel):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    business_function = models.CharField(max_length=32, choices=BusinessFunction.choices)
    cost_center = models.CharField(max_length=32, help_text="The finance cost center, e.g. CC-4100.")
    description = models.TextField(blank=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="teams")

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("portfolio:team_detail", args=[self.slug])


class Membership(TimeStampedModel):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_memberships"
    )
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=MembershipRole.choices, default=MembershipRole.MEMBER)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "team"], name="membership_unique")]
        ordering = ["team__name", "user__username"]

    def __str__(self):
        return f"{self.user} in {self.team}"


class Provider(TimeStampedModel):
    """Who bills for AI: a model API, a cloud AI service, a self-hosted platform or a SaaS tool."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=ProviderKind.choices)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class AIModel(TimeStampedModel):
    """An entry in the model catalog, with list prices per million tokens."""

    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="models")
    key = models.CharField(max_length=150, help_text="The model id as the provider names it.")
    ref = models.CharField(
        max_length=200,
        unique=True,
        editable=False,
        help_text="provider/key: how forms, the API and imports name this model.",
    )
    name = models.CharField(max_length=150)
    tier = models.CharField(max_length=16, choices=ModelTier.choices)
    status = models.CharField(max_length=16, choices=ModelStatus.choices, default=ModelStatus.APPROVED)
    input_price_per_mtok = models.DecimalField(**MONEY, default=Decimal("0"))
    output_price_per_mtok = models.DecimalField(**MONEY, default=Decimal("0"))
    cached_input_price_per_mtok = models.DecimalField(**MONEY, null=True, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    context_window = models.PositiveIntegerField(null=True, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["provider__name", "name"]
        verbose_name = "model"
        constraints = [models.UniqueConstraint(fields=["provider", "key"], name="aimodel_provider_key")]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        self.ref = f"{self.provider.slug}/{self.key}"
        super().save(*args, **kwargs)


class TagAppliesTo(models.TextChoices):
    USE_CASE = "use_case", "Use-case classification"
    SPEND = "spend", "Spend tags"
    BOTH = "both", "Both"


class TagKey(TimeStampedModel):
    """One key of the tag schema, maintained by admins.

    It validates a use case's classification tags (at intake) and the tags on imported spend.
    A value must be one of `allowed_values` when that list is not empty, and match `pattern`
    when one is set.
    """

    key = models.SlugField(max_length=64, unique=True)
    label = models.CharField(max_length=100)
    description = models.CharField(max_length=250, blank=True)
    applies_to = models.CharField(max_length=16, choices=TagAppliesTo.choices, default=TagAppliesTo.BOTH)
    allowed_values = models.JSONField(default=list, blank=True)
    pattern = models.CharField(
        max_length=200, blank=True, help_text="A regular expression a value must match."
    )
    required = models.BooleanField(default=False)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "key"]

    def __str__(self):
        return self.key

    def clean(self):
        if self.pattern:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValidationError({"pattern": f"Not a valid regular expression: {exc}."}) from exc

    def check_value(self, value) -> str | None:
        """The problem with `value` for this key, in words, or None when it is valid."""
        value = "" if value is None else str(value).strip()
        if not value:
            return f"{self.label} is required." if self.required else None
        if self.allowed_values and value not in self.allowed_values:
            return f"{self.label} must be one of: {', '.join(self.allowed_values)}."
        if self.pattern and not re.fullmatch(self.pattern, value):
            return f"{self.label} “{value}” does not match the pattern {self.pattern}."
        return None


class UseCase(ConcurrentTransitionMixin, TimeStampedModel):
    """One AI use case: the unit that spend is attributed to, gates are kept for and the
    council funds."""

    key = models.SlugField(
        max_length=80, unique=True, help_text="Stable key used in spend tags, e.g. support-summarizer."
    )
    name = models.CharField(max_length=150)
    purpose = models.TextField()
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="use_cases")
    business_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    technical_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cost_center = models.CharField(max_length=32, blank=True)

    business_function = models.CharField(max_length=32, choices=BusinessFunction.choices)
    product = models.CharField(max_length=100, blank=True)
    customer_segment = models.CharField(max_length=100, blank=True)
    workflow = models.CharField(max_length=100, blank=True)
    environment = models.CharField(
        max_length=16, choices=Environment.choices, default=Environment.DEVELOPMENT
    )

    data_classification = models.CharField(
        max_length=16, choices=DataClassification.choices, default=DataClassification.INTERNAL
    )
    personal_data = models.BooleanField(default=False)
    customer_impact = models.CharField(
        max_length=16, choices=CustomerImpact.choices, default=CustomerImpact.NONE
    )
    autonomy_level = models.CharField(
        max_length=24, choices=AutonomyLevel.choices, default=AutonomyLevel.ASSISTIVE
    )
    risk_tier = models.CharField(max_length=16, choices=RiskTier.choices, default=RiskTier.LOW)
    # Moved only by the transitions of the stage-gate services, never assigned.
    stage = FSMField(max_length=16, choices=Stage.choices, default=Stage.CONCEPT, protected=True)

    ai_models = models.ManyToManyField(AIModel, blank=True, related_name="use_cases")
    task_kind = models.CharField(max_length=24, choices=TaskKind.choices, blank=True)
    tags = models.JSONField(default=dict, blank=True, help_text="Classification tags from the tag schema.")
    user_audience = models.CharField(
        max_length=16, choices=UserAudience.choices, default=UserAudience.INTERNAL
    )
    expected_users = models.PositiveIntegerField(default=0)

    # Agent controls, for supervised and autonomous agents.
    tool_permissions = models.TextField(blank=True, help_text="The tools the agent may call, one per line.")
    external_actions = models.BooleanField(
        default=False, help_text="Can act outside the company: send mail, pay, change records elsewhere."
    )
    run_frequency = models.CharField(max_length=16, choices=RunFrequency.choices, blank=True)
    agent_spend_cap = models.DecimalField(
        **MONEY,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Most the agent may spend in a month.",
    )

    expected_monthly_cost = models.DecimalField(
        **MONEY, default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))]
    )
    currency = models.CharField(max_length=3, default="USD")
    value_metric = models.CharField(max_length=150, blank=True)
    value_per_outcome = models.DecimalField(
        **MONEY, default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))]
    )
    outcomes_per_month = models.PositiveIntegerField(default=0)
    success_metric = models.CharField(max_length=250, blank=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["stage"]), models.Index(fields=["team", "stage"])]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("portfolio:use_case_detail", args=[self.key])

    @property
    def is_agentic(self):
        return self.autonomy_level in (AutonomyLevel.SUPERVISED_AGENT, AutonomyLevel.AUTONOMOUS_AGENT)

    @property
    def expected_monthly_value(self):
        return self.value_per_outcome * self.outcomes_per_month
