from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from aifinops.core.models import TimeStampedModel
from aifinops.core.templatetags.afo import money
from portfolio.choices import Stage


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


MONEY = {"max_digits": 18, "decimal_places": 6}


class ReviewThresholds(TimeStampedModel):
    """The configurable numbers of a council's review triggers and escalation rules, one row per
    council (created with the defaults the first time the triggers read it)."""

    council = models.OneToOneField(Council, on_delete=models.CASCADE, related_name="thresholds")
    spend_threshold = models.DecimalField(
        **MONEY,
        default=Decimal("5000"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Monthly spend of a use case (month to date or last full month) that needs review.",
    )
    currency = models.CharField(max_length=3, default="USD")
    over_budget_pct = models.DecimalField(
        max_digits=6,
        decimal_places=2,
        default=Decimal("15"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Escalate when spend is more than this percentage over the approved budget.",
    )
    missed_milestones = models.PositiveSmallIntegerField(
        default=2, validators=[MinValueValidator(1)], help_text="Consecutive missed milestones that escalate."
    )
    quality_floor = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("70"),
        help_text="A value signal's quality score (0 to 100) below this fails the quality gate.",
    )
    new_service_days = models.PositiveSmallIntegerField(
        default=30, help_text="A provider or model first seen in a use case's spend within these days is new."
    )
    anomaly_open_days = models.PositiveSmallIntegerField(
        default=2, help_text="A high-severity anomaly still open after these days escalates."
    )
    missed_criteria_reviews = models.PositiveSmallIntegerField(
        default=2,
        validators=[MinValueValidator(1)],
        help_text="Consecutive monthly reviews below the success criteria that recommend a sunset.",
    )
    success_criteria_pct = models.DecimalField(
        max_digits=6,
        decimal_places=2,
        default=Decimal("50"),
        help_text="A month meets the success criteria when its value reaches this % of the expected value.",
    )
    experiment_limit = models.DecimalField(
        **MONEY,
        default=Decimal("1000"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Concept and MVP use cases spending below this a month, within budget, are low-cost "
        "experiments: a new service alone does not bring them to the council.",
    )

    class Meta:
        verbose_name_plural = "review thresholds"

    def __str__(self):
        return f"Thresholds of {self.council}"


class MeetingKind(models.TextChoices):
    MONTHLY_OPERATING_REVIEW = "monthly_operating_review", "Monthly operating review"
    QUARTERLY_REVIEW = "quarterly_review", "Quarterly review"
    EXTRAORDINARY = "extraordinary", "Extraordinary meeting"


class MeetingState(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    IN_SESSION = "in_session", "In session"
    CLOSED = "closed", "Closed"


class Meeting(ConcurrentTransitionMixin, TimeStampedModel):
    council = models.ForeignKey(Council, on_delete=models.CASCADE, related_name="meetings")
    kind = models.CharField(
        max_length=32, choices=MeetingKind.choices, default=MeetingKind.MONTHLY_OPERATING_REVIEW
    )
    scheduled_for = models.DateTimeField()
    # Moved only by the transitions below, called from council.services.
    state = FSMField(max_length=16, choices=MeetingState.choices, default=MeetingState.DRAFT, protected=True)
    published_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    minutes = models.TextField(blank=True)

    class Meta:
        ordering = ["-scheduled_for", "-id"]
        indexes = [models.Index(fields=["council", "state", "scheduled_for"])]

    def __str__(self):
        return f"{self.get_kind_display()} {self.scheduled_for:%Y-%m-%d}"

    @transition(field=state, source=MeetingState.DRAFT, target=MeetingState.PUBLISHED)
    def publish(self):
        pass

    @transition(field=state, source=MeetingState.PUBLISHED, target=MeetingState.IN_SESSION)
    def start(self):
        pass

    @transition(field=state, source=MeetingState.IN_SESSION, target=MeetingState.CLOSED)
    def close(self):
        pass


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


SEVERITY_RANK = {Severity.LOW: 0, Severity.MEDIUM: 1, Severity.HIGH: 2, Severity.CRITICAL: 3}


class AgendaItemStatus(models.TextChoices):
    OPEN = "open", "Open"
    DECIDED = "decided", "Decided"
    CARRIED_OVER = "carried_over", "Carried over"
    # Taken off: its intake was accepted, rejected or withdrawn outside the council.
    WITHDRAWN = "withdrawn", "Taken off the agenda"


class AgendaItem(TimeStampedModel):
    """One use case, or one intake waiting for review, on a meeting's agenda, with every reason it
    is there.

    An intake has no use case until the council approves it: its item points at the intake, and the
    approval sets `use_case` to the use case it creates, so the decision then belongs to the use
    case's history like any other.

    `reasons` is a list of {code, label, detail, severity, key}; `key` names the fact that fired
    (a funding request, a month, a model...) so that building the agenda again adds nothing and a
    fact reviewed once does not come back. `review_pack` is frozen when the meeting is published.
    """

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="items")
    use_case = models.ForeignKey(
        "portfolio.UseCase", null=True, blank=True, on_delete=models.PROTECT, related_name="agenda_items"
    )
    intake = models.ForeignKey(
        "intake.IntakeRequest", null=True, blank=True, on_delete=models.PROTECT, related_name="agenda_items"
    )
    reasons = models.JSONField(default=list, blank=True)
    severity = models.CharField(max_length=8, choices=Severity.choices, default=Severity.MEDIUM)
    amount_at_stake = models.DecimalField(**MONEY, default=Decimal("0"))
    currency = models.CharField(max_length=3, default="USD")
    position = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, choices=AgendaItemStatus.choices, default=AgendaItemStatus.OPEN)
    review_pack = models.JSONField(null=True, blank=True)
    carried_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="carried_to"
    )
    # Why a withdrawn item left the agenda, in words the meeting page shows as they are
    # ("Accepted on the intake page by Carla Chair on 7 Dec 2026").
    closed_note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["meeting", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "use_case"], name="agendaitem_unique"),
            models.UniqueConstraint(
                fields=["meeting", "intake"],
                condition=models.Q(use_case__isnull=True),
                name="agendaitem_intake_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(use_case__isnull=False) | models.Q(intake__isnull=False),
                name="agendaitem_has_subject",
            ),
        ]

    def __str__(self):
        return f"{self.meeting}: {self.title}"

    @property
    def is_intake_review(self):
        """An intake waiting for the council's review (not yet a use case)."""
        return self.intake_id is not None and self.use_case_id is None

    @property
    def subject(self):
        """What the item is about: ("intake", id) before the use case exists, else ("use_case", id)."""
        return ("intake", self.intake_id) if self.use_case_id is None else ("use_case", self.use_case_id)

    @property
    def title(self):
        if self.use_case_id is not None:
            return self.use_case.name
        return f"{self.intake.reference} {self.intake.name} (intake)"

    @property
    def team(self):
        return self.use_case.team if self.use_case_id is not None else self.intake.team


class FundingStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"


class FundingRequest(TimeStampedModel):
    """An owner's request for the funding of the next milestone only."""

    use_case = models.ForeignKey(
        "portfolio.UseCase", on_delete=models.CASCADE, related_name="funding_requests"
    )
    milestone = models.ForeignKey(
        "portfolio.Milestone",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="funding_requests",
    )
    target_stage = models.CharField(max_length=16, choices=Stage.choices)
    amount = models.DecimalField(**MONEY, validators=[MinValueValidator(Decimal("0"))])
    currency = models.CharField(max_length=3, default="USD")
    period_start = models.DateField()
    period_end = models.DateField()
    expected_outcomes = models.TextField(help_text="What the milestone delivers.")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=FundingStatus.choices, default=FundingStatus.DRAFT)
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "use_case"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(period_end__gte=models.F("period_start")), name="fundingrequest_period"
            ),
            models.UniqueConstraint(
                fields=["use_case"],
                condition=models.Q(status="submitted"),
                name="fundingrequest_one_submitted",
                violation_error_message="This use case already has a funding request waiting for review.",
            ),
        ]

    def __str__(self):
        # Read by people in the audit log and the admin: the stage's name and the amount as money.
        return f"{self.use_case} → {self.get_target_stage_display()}: {money(self.amount, self.currency)}"

    @property
    def period_months(self):
        months = (
            (self.period_end.year - self.period_start.year) * 12
            + self.period_end.month
            - self.period_start.month
        )
        return months + 1


class VoteChoice(models.TextChoices):
    APPROVE = "approve", "Approve"
    APPROVE_WITH_CONDITIONS = "approve_with_conditions", "Approve with conditions"
    DEFER = "defer", "Defer"
    REJECT = "reject", "Reject"
    SUNSET = "sunset", "Sunset"


class Vote(TimeStampedModel):
    """One member's own vote on one item: no proxies, so the member is the voter."""

    item = models.ForeignKey(AgendaItem, on_delete=models.CASCADE, related_name="votes")
    member = models.ForeignKey(CouncilMember, on_delete=models.PROTECT, related_name="votes")
    choice = models.CharField(max_length=32, choices=VoteChoice.choices)
    comment = models.TextField(blank=True)
    conditions = models.TextField(blank=True)

    class Meta:
        ordering = ["item", "member__persona"]
        constraints = [models.UniqueConstraint(fields=["item", "member"], name="vote_one_per_member")]

    def __str__(self):
        return f"{self.member} on {self.item}: {self.get_choice_display().lower()}"


class Decision(models.Model):
    """The chair's record of the council's decision on one item. One per item: the OneToOne makes
    two simultaneous recordings leave one."""

    item = models.OneToOneField(AgendaItem, on_delete=models.CASCADE, related_name="decision")
    outcome = models.CharField(max_length=32, choices=VoteChoice.choices)
    funding_request = models.ForeignKey(
        FundingRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="decisions"
    )
    amount_approved = models.DecimalField(**MONEY, null=True, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    conditions = models.TextField(blank=True)
    # What the approved money is for and when: copied from the funding request, or (with no request,
    # e.g. an intake's first milestone) the milestone the decision funds and the period it names.
    milestone = models.ForeignKey(
        "portfolio.Milestone", null=True, blank=True, on_delete=models.SET_NULL, related_name="decisions"
    )
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    note = models.TextField(blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-recorded_at", "-id"]

    def __str__(self):
        return f"{self.item}: {self.get_outcome_display().lower()}"
