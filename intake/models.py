from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from aifinops.core.models import TimeStampedModel
from portfolio.choices import (
    AutonomyLevel,
    CustomerImpact,
    DataClassification,
    Environment,
    RiskTier,
    RunFrequency,
    TaskKind,
    UserAudience,
)
from portfolio.models import MONEY, AIModel, Team, UseCase

NON_NEGATIVE = [MinValueValidator(Decimal("0"))]


class IntakeStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    TRIAGED = "triaged", "Triaged"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"


class ReviewPath(models.TextChoices):
    FAST_TRACK = "fast_track", "Fast track: becomes a Concept use case, no council review"
    REVIEW = "review", "Review required: waits for the council or a platform admin"


class IntakeRequest(ConcurrentTransitionMixin, TimeStampedModel):
    """A team's request to register an AI use case, from draft to a decision."""

    # What a requester fills in: the form, the API and the save service all use this one list.
    INPUT_FIELDS = (
        "name",
        "proposed_key",
        "purpose",
        "problem",
        "team",
        "business_owner",
        "technical_owner",
        "user_audience",
        "expected_users",
        "data_classification",
        "personal_data",
        "customer_impact",
        "ai_models",
        "unlisted_model",
        "task_kind",
        "model_justification",
        "expected_calls_per_month",
        "input_tokens_per_call",
        "output_tokens_per_call",
        "expected_monthly_cost",
        "currency",
        "value_metric",
        "value_per_outcome",
        "outcomes_per_month",
        "success_metric",
        "autonomy_level",
        "tool_permissions",
        "external_actions",
        "run_frequency",
        "requested_spend_cap",
        "environment",
        "cost_center",
    )

    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="intakes")
    status = FSMField(max_length=16, choices=IntakeStatus.choices, default=IntakeStatus.DRAFT, protected=True)

    name = models.CharField(max_length=150)
    proposed_key = models.SlugField(
        max_length=80, blank=True, help_text="Stable key for spend tags; generated from the name when blank."
    )
    purpose = models.TextField(blank=True)
    problem = models.TextField(blank=True)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="intakes")
    business_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    technical_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    user_audience = models.CharField(
        max_length=16, choices=UserAudience.choices, default=UserAudience.INTERNAL
    )
    expected_users = models.PositiveIntegerField(null=True, blank=True)

    data_classification = models.CharField(
        max_length=16, choices=DataClassification.choices, default=DataClassification.INTERNAL
    )
    personal_data = models.BooleanField(default=False)

    ai_models = models.ManyToManyField(AIModel, blank=True, related_name="intakes")
    unlisted_model = models.CharField(
        max_length=150, blank=True, help_text="A model that is not in the catalog: provider and model name."
    )
    task_kind = models.CharField(max_length=24, choices=TaskKind.choices, blank=True)
    model_justification = models.TextField(blank=True)

    value_metric = models.CharField(max_length=150, blank=True)
    value_per_outcome = models.DecimalField(**MONEY, null=True, blank=True, validators=NON_NEGATIVE)
    outcomes_per_month = models.PositiveIntegerField(null=True, blank=True)
    expected_monthly_cost = models.DecimalField(**MONEY, null=True, blank=True, validators=NON_NEGATIVE)
    currency = models.CharField(max_length=3, default="USD")
    expected_calls_per_month = models.PositiveIntegerField(null=True, blank=True)
    input_tokens_per_call = models.PositiveIntegerField(null=True, blank=True)
    output_tokens_per_call = models.PositiveIntegerField(null=True, blank=True)

    customer_impact = models.CharField(
        max_length=16, choices=CustomerImpact.choices, default=CustomerImpact.NONE
    )
    autonomy_level = models.CharField(
        max_length=24, choices=AutonomyLevel.choices, default=AutonomyLevel.ASSISTIVE
    )
    tool_permissions = models.TextField(blank=True)
    external_actions = models.BooleanField(default=False)
    run_frequency = models.CharField(max_length=16, choices=RunFrequency.choices, blank=True)
    requested_spend_cap = models.DecimalField(**MONEY, null=True, blank=True, validators=NON_NEGATIVE)

    environment = models.CharField(
        max_length=16, choices=Environment.choices, default=Environment.DEVELOPMENT
    )
    success_metric = models.CharField(max_length=250, blank=True)
    cost_center = models.CharField(max_length=32, blank=True)
    tags = models.JSONField(default=dict, blank=True)

    risk_tier = models.CharField(max_length=16, choices=RiskTier.choices, blank=True)
    review_path = models.CharField(max_length=16, choices=ReviewPath.choices, blank=True)
    triage_reasons = models.JSONField(default=list, blank=True)
    triage_warnings = models.JSONField(default=list, blank=True)

    submitted_at = models.DateTimeField(null=True, blank=True)
    triaged_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_note = models.TextField(blank=True)
    use_case = models.OneToOneField(
        UseCase, null=True, blank=True, on_delete=models.PROTECT, related_name="intake"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status"]), models.Index(fields=["team", "status"])]

    def __str__(self):
        return f"{self.reference} {self.name}"

    def get_absolute_url(self):
        return reverse("intake:detail", args=[self.pk])

    @property
    def reference(self):
        return f"INT-{self.pk:04d}" if self.pk else "INT-new"

    @property
    def is_agentic(self):
        return self.autonomy_level in (AutonomyLevel.SUPERVISED_AGENT, AutonomyLevel.AUTONOMOUS_AGENT)

    @property
    def review_required(self):
        return self.review_path == ReviewPath.REVIEW

    @property
    def triage_reason_rows(self):
        """The triage reasons for a page: each with its tier's label ("High"), not its stored value."""
        labels = dict(RiskTier.choices)
        return [
            {**r, "tier_label": labels.get(r.get("tier", ""), r.get("tier", ""))}
            for r in self.triage_reasons or ()
            if isinstance(r, dict)
        ]

    # Transitions change fields only; the services save, audit and notify.

    @transition(field=status, source=IntakeStatus.DRAFT, target=IntakeStatus.SUBMITTED)
    def submit(self):
        self.submitted_at = timezone.now()

    @transition(field=status, source=IntakeStatus.SUBMITTED, target=IntakeStatus.TRIAGED)
    def triage(self, result):
        self.risk_tier = result.risk_tier
        self.review_path = result.review_path
        self.triage_reasons = [r.as_dict() for r in result.reasons]
        self.triage_warnings = [w.as_dict() for w in result.warnings]
        self.triaged_at = timezone.now()

    @transition(field=status, source=IntakeStatus.TRIAGED, target=IntakeStatus.TRIAGED)
    def retriage(self, result):
        """The triage rules changed while the intake waits for its decision: it takes the new result."""
        self.risk_tier = result.risk_tier
        self.review_path = result.review_path
        self.triage_reasons = [r.as_dict() for r in result.reasons]
        self.triage_warnings = [w.as_dict() for w in result.warnings]
        self.triaged_at = timezone.now()

    @transition(field=status, source=IntakeStatus.TRIAGED, target=IntakeStatus.ACCEPTED)
    def accept(self, *, by, use_case, note=""):
        self.use_case = use_case
        self._decide(by, note)

    @transition(field=status, source=IntakeStatus.TRIAGED, target=IntakeStatus.REJECTED)
    def reject(self, *, by, reason):
        self._decide(by, reason)

    @transition(
        field=status,
        source=[IntakeStatus.DRAFT, IntakeStatus.SUBMITTED, IntakeStatus.TRIAGED],
        target=IntakeStatus.WITHDRAWN,
    )
    def withdraw(self, *, by, note=""):
        self._decide(by, note)

    def _decide(self, by, note):
        self.decided_at = timezone.now()
        self.decided_by = by if getattr(by, "is_authenticated", False) else None
        self.decision_note = note


class TriageRuleCode(models.TextChoices):
    CUSTOMER_FACING = "customer_facing", "Customer-facing"
    INDIRECT_CUSTOMER_IMPACT = "indirect_customer_impact", "Indirect customer impact"
    EXTERNAL_USERS = "external_users", "Used by people outside the company"
    RESTRICTED_DATA = "restricted_data", "Restricted data"
    CONFIDENTIAL_DATA = "confidential_data", "Confidential data"
    PERSONAL_DATA = "personal_data", "Personal data"
    SUPERVISED_AGENT = "supervised_agent", "Supervised agent"
    AUTONOMOUS_AGENT = "autonomous_agent", "Autonomous agent"
    AGENT_EXTERNAL_ACTIONS = "agent_external_actions", "Agent with external actions"
    AUTONOMOUS_EXTERNAL_ACTIONS = "autonomous_external_actions", "Autonomous agent with external actions"
    COST_ABOVE_THRESHOLD = "cost_above_threshold", "Expected cost above the review threshold"
    COST_ABOVE_HIGH_THRESHOLD = "cost_above_high_threshold", "Expected cost above the high threshold"
    UNLISTED_MODEL = "unlisted_model", "Unlisted model"
    RESTRICTED_MODEL = "restricted_model", "Model restricted in the catalog"
    COMBINED_HIGH_RISKS = "combined_high_risks", "Several high-risk factors together"


class TriageRule(models.Model):
    """One triage rule's settings, tuned by platform admins. The logic is in intake/triage.py."""

    code = models.CharField(max_length=40, choices=TriageRuleCode.choices, unique=True)
    enabled = models.BooleanField(default=True)
    tier = models.CharField(
        max_length=16, choices=RiskTier.choices, help_text="The risk tier this rule sets."
    )
    threshold = models.DecimalField(
        **MONEY,
        null=True,
        blank=True,
        validators=NON_NEGATIVE,
        help_text="For cost rules: the monthly amount in USD; for combined risks: how many high factors.",
    )

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return self.get_code_display()
