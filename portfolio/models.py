import datetime
import re
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.urls import reverse
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from aifinops.core.models import TimeStampedModel

from .choices import (
    AutonomyLevel,
    BusinessFunction,
    CostCategory,
    CustomerImpact,
    DataClassification,
    Environment,
    GateItemStatus,
    Level,
    MembershipRole,
    MilestoneStatus,
    ModelStatus,
    ModelTier,
    MoveRequestStatus,
    OptimizationLever,
    OptimizationStatus,
    PriceKind,
    PriceTier,
    PromptCaching,
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
    """An entry in the model catalog.

    Its price fields mirror the list price of the standard tier in force today (the price book,
    PriceBookEntry, holds every price with its date); they are kept for the pages and clients that
    read them, and costing never reads them but when a model has no price in the book.
    """

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


# The date a model's first known price takes effect: a price loaded with the catalog is the price
# "since always", so usage dated before the catalog was loaded is costed too.
PRICE_BOOK_EPOCH = datetime.date(2000, 1, 1)


class PriceBookEntry(TimeStampedModel):
    """One price of a model from a date: list or negotiated, for one service tier, from a monthly
    volume of tokens on. Prices are per million tokens in `currency`.

    Cache-read and cache-write prices default to the input price where the provider has none. Above
    `long_context_threshold` prompt tokens a call is priced at the long-context prices, as a whole.
    Costing picks the row in force with `portfolio.pricing.price_pick`.
    """

    model = models.ForeignKey(AIModel, on_delete=models.CASCADE, related_name="prices")
    kind = models.CharField(max_length=16, choices=PriceKind.choices, default=PriceKind.LIST)
    tier = models.CharField(max_length=16, choices=PriceTier.choices, default=PriceTier.STANDARD)
    effective_from = models.DateField()
    volume_threshold = models.PositiveBigIntegerField(
        default=0, help_text="Applies once the model's tokens in the month reach this many (0: always)."
    )
    input_price_per_mtok = models.DecimalField(**MONEY)
    output_price_per_mtok = models.DecimalField(**MONEY)
    cache_read_price_per_mtok = models.DecimalField(**MONEY, null=True, blank=True)
    cache_write_price_per_mtok = models.DecimalField(**MONEY, null=True, blank=True)
    long_context_threshold = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Prompt tokens above which a call takes the long-context prices."
    )
    long_context_input_price_per_mtok = models.DecimalField(**MONEY, null=True, blank=True)
    long_context_output_price_per_mtok = models.DecimalField(**MONEY, null=True, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    source = models.CharField(max_length=32, default="manual", help_text="manual, catalog or litellm.")
    note = models.CharField(max_length=250, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["model", "-effective_from", "kind", "tier", "volume_threshold"]
        verbose_name = "price book entry"
        verbose_name_plural = "price book"
        constraints = [
            models.UniqueConstraint(
                fields=["model", "kind", "tier", "effective_from", "volume_threshold"],
                name="pricebookentry_once",
            )
        ]

    def __str__(self):
        return (
            f"{self.get_kind_display()} {self.get_tier_display().lower()} price of {self.model_id} "
            f"from {self.effective_from:%Y-%m-%d}"
        )

    @property
    def label(self):
        """How pages name the price: "negotiated price, standard tier, from 1 Nov 2026"."""
        volume = f", from {self.volume_threshold:,} tokens a month" if self.volume_threshold else ""
        kind, tier = self.get_kind_display().lower(), self.get_tier_display().lower()
        since = (
            "since the catalog was loaded"
            if self.effective_from <= PRICE_BOOK_EPOCH
            else f"from {self.effective_from:%-d %b %Y}"
        )
        return f"{kind} price, {tier} tier, {since}{volume}"


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

    # Guardrail settings: the gates compute their items from these.
    token_budget_monthly = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Tokens the use case may consume in a month."
    )
    max_output_tokens = models.PositiveIntegerField(null=True, blank=True, help_text="Cap per call.")
    anomaly_threshold_pct = models.DecimalField(
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Daily spend above the recent average by this percentage raises an anomaly.",
    )
    routing_policy = models.TextField(blank=True, help_text="Which model serves which request, and why.")
    prompt_caching = models.CharField(max_length=16, choices=PromptCaching.choices, blank=True)
    budget_threshold = models.DecimalField(
        **MONEY,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Monthly spend at which the owners are alerted.",
    )
    consecutive_missed_milestones = models.PositiveSmallIntegerField(default=0)

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

    def get_tab_url(self, tab):
        """The URL of one tab of its page (portfolio.workspace.TABS); the overview is the page's own."""
        if tab == "overview":
            return self.get_absolute_url()
        return reverse(f"portfolio:use_case_tab_{tab}", args=[self.key])

    @property
    def is_agentic(self):
        return self.autonomy_level in (AutonomyLevel.SUPERVISED_AGENT, AutonomyLevel.AUTONOMOUS_AGENT)

    # Stage transitions. They only move the field; the stage-gate services check the gate, the
    # approval and the permission, save, and write the audit event in one transaction.

    @transition(field=stage, source=Stage.CONCEPT, target=Stage.MVP)
    def to_mvp(self):
        pass

    @transition(field=stage, source=Stage.MVP, target=Stage.PILOT)
    def to_pilot(self):
        pass

    @transition(field=stage, source=Stage.PILOT, target=Stage.LAUNCH)
    def to_launch(self):
        pass

    @transition(field=stage, source=Stage.LAUNCH, target=Stage.SCALE)
    def to_scale(self):
        pass

    @transition(field=stage, source=[s for s in Stage.values if s != Stage.SUNSET], target=Stage.SUNSET)
    def to_sunset(self):
        pass

    @property
    def expected_monthly_value(self):
        return self.value_per_outcome * self.outcomes_per_month


class GateItemState(TimeStampedModel):
    """The recorded state of one gate item of a use case: attested, or not applicable with a reason.

    Items that data can prove are computed (portfolio.gates.rules) and need no row unless they are
    marked not applicable.
    """

    use_case = models.ForeignKey(UseCase, on_delete=models.CASCADE, related_name="gate_items")
    code = models.CharField(max_length=48)
    status = models.CharField(max_length=16, choices=GateItemStatus.choices, default=GateItemStatus.OPEN)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    on = models.DateField(null=True, blank=True, help_text="When it was attested.")
    evidence = models.TextField(blank=True, help_text="A link or a note that shows it is done.")
    reason = models.TextField(blank=True, help_text="Why the item does not apply.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["use_case", "code"], name="gateitemstate_unique")]

    def __str__(self):
        return f"{self.use_case_id}:{self.code} {self.status}"


class StageApproval(TimeStampedModel):
    """An approved funding decision for one milestone: moving a use case into `target_stage`.

    Recorded by the council chair now; the council's decisions will record it later. A reviewed
    move consumes its approval.
    """

    use_case = models.ForeignKey(UseCase, on_delete=models.CASCADE, related_name="stage_approvals")
    target_stage = models.CharField(max_length=16, choices=Stage.choices)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    source = models.CharField(max_length=32, default="chair", help_text="chair, or council_decision.")
    reference = models.CharField(
        max_length=100, blank=True, help_text="The council decision, when there is one."
    )
    amount = models.DecimalField(
        **MONEY, null=True, blank=True, help_text="Funding approved for the milestone."
    )
    currency = models.CharField(max_length=3, default="USD")
    note = models.TextField(blank=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.use_case} → {self.get_target_stage_display()}"


class StageMoveRequest(TimeStampedModel):
    """An owner's request to move a use case to the next stage, waiting for whoever may execute it."""

    use_case = models.ForeignKey(UseCase, on_delete=models.CASCADE, related_name="move_requests")
    target_stage = models.CharField(max_length=16, choices=Stage.choices)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    note = models.TextField(blank=True)
    status = models.CharField(
        max_length=16, choices=MoveRequestStatus.choices, default=MoveRequestStatus.OPEN
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.use_case} → {self.get_target_stage_display()} ({self.get_status_display().lower()})"


class Milestone(TimeStampedModel):
    use_case = models.ForeignKey(UseCase, on_delete=models.CASCADE, related_name="milestones")
    name = models.CharField(max_length=150)
    target_stage = models.CharField(max_length=16, choices=Stage.choices, blank=True)
    due_date = models.DateField()
    status = models.CharField(max_length=16, choices=MilestoneStatus.choices, default=MilestoneStatus.PENDING)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_date", "id"]
        indexes = [models.Index(fields=["status", "due_date"])]

    def __str__(self):
        return self.name


class ValueSignal(TimeStampedModel):
    """What a use case delivered in one month, against its success metric."""

    use_case = models.ForeignKey(UseCase, on_delete=models.CASCADE, related_name="value_signals")
    month = models.DateField(help_text="The first day of the month.")
    outcomes = models.PositiveIntegerField(default=0)
    value_per_outcome = models.DecimalField(
        **MONEY, default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))]
    )
    currency = models.CharField(max_length=3, default="USD")
    quality_score = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="0 to 100, against the quality metric.",
    )
    active_users = models.PositiveIntegerField(null=True, blank=True)
    human_review_rate = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True, help_text="%"
    )
    acceptance_rate = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True, help_text="%"
    )
    note = models.CharField(max_length=250, blank=True)

    class Meta:
        ordering = ["-month"]
        constraints = [models.UniqueConstraint(fields=["use_case", "month"], name="valuesignal_month")]

    def __str__(self):
        return f"{self.use_case} {self.month:%Y-%m}"


class CostLine(TimeStampedModel):
    """A monthly cost of the use case beyond its model bill (the business case counts it)."""

    use_case = models.ForeignKey(UseCase, on_delete=models.CASCADE, related_name="cost_lines")
    month = models.DateField(help_text="The first day of the month.")
    category = models.CharField(max_length=32, choices=CostCategory.choices)
    amount = models.DecimalField(**MONEY, validators=[MinValueValidator(Decimal("0"))])
    currency = models.CharField(max_length=3, default="USD")
    note = models.CharField(max_length=250, blank=True)

    class Meta:
        ordering = ["-month", "category"]
        constraints = [
            models.UniqueConstraint(fields=["use_case", "month", "category"], name="costline_unique")
        ]

    def __str__(self):
        return f"{self.use_case} {self.month:%Y-%m} {self.get_category_display().lower()}"


class OptimizationItem(TimeStampedModel):
    use_case = models.ForeignKey(UseCase, on_delete=models.CASCADE, related_name="optimizations")
    title = models.CharField(max_length=150)
    lever = models.CharField(max_length=32, choices=OptimizationLever.choices)
    expected_monthly_savings = models.DecimalField(
        **MONEY, default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))]
    )
    realised_monthly_savings = models.DecimalField(
        **MONEY, null=True, blank=True, validators=[MinValueValidator(Decimal("0"))]
    )
    currency = models.CharField(max_length=3, default="USD")
    value_impact = models.CharField(max_length=250, blank=True, help_text="What it does to quality or value.")
    risk = models.CharField(max_length=8, choices=Level.choices, default=Level.LOW)
    effort = models.CharField(max_length=8, choices=Level.choices, default=Level.MEDIUM)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        max_length=16, choices=OptimizationStatus.choices, default=OptimizationStatus.PROPOSED
    )

    class Meta:
        ordering = ["status", "-expected_monthly_savings"]

    def __str__(self):
        return self.title


class BillingCycle(models.TextChoices):
    MONTHLY = "monthly", "Monthly"
    ANNUAL = "annual", "Annual"


class ToolSubscription(TimeStampedModel):
    """A subscription to an internal AI tool or seat plan: a coding assistant, chat seats.

    Seats are paid whether used or not: the seat activity a vendor exports says how many are.
    """

    vendor = models.CharField(max_length=100)
    product = models.CharField(max_length=150, help_text="e.g. Copilot Business, ChatGPT Enterprise seats.")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="subscriptions")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    use_case = models.ForeignKey(
        UseCase,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="subscriptions",
        help_text="The use case the tool serves; unused seats become its backlog items.",
    )
    seats = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    price_per_seat = models.DecimalField(
        **MONEY, validators=[MinValueValidator(Decimal("0"))], help_text="Per seat and billing cycle."
    )
    billing_cycle = models.CharField(max_length=8, choices=BillingCycle.choices, default=BillingCycle.MONTHLY)
    currency = models.CharField(max_length=3, default="USD")
    renewal_date = models.DateField()
    auto_renews = models.BooleanField(default=True)
    active = models.BooleanField(default=True)
    notes = models.TextField(blank=True)
    seat_proposal = models.OneToOneField(
        OptimizationItem,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="subscription",
        help_text="The backlog item proposing to drop unused seats.",
    )
    seat_activity_imported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["renewal_date", "vendor", "product"]
        constraints = [
            models.UniqueConstraint(fields=["team", "vendor", "product"], name="toolsubscription_unique")
        ]

    def __str__(self):
        return f"{self.vendor} {self.product} ({self.team})"

    @property
    def monthly_cost(self):
        total = self.seats * self.price_per_seat
        return total / 12 if self.billing_cycle == BillingCycle.ANNUAL else total

    @property
    def monthly_price_per_seat(self):
        return self.price_per_seat / 12 if self.billing_cycle == BillingCycle.ANNUAL else self.price_per_seat


class SeatActivity(models.Model):
    """One seat holder of a subscription and the day they last used the tool, from the vendor's export."""

    subscription = models.ForeignKey(ToolSubscription, on_delete=models.CASCADE, related_name="seat_activity")
    user_label = models.CharField(
        max_length=150, help_text="The user as the vendor names them (email, login)."
    )
    last_active = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["user_label"]
        constraints = [
            models.UniqueConstraint(fields=["subscription", "user_label"], name="seatactivity_unique")
        ]

    def __str__(self):
        return f"{self.user_label} ({self.subscription})"


class RenewalWarning(models.Model):
    """A 90, 60 or 30-day renewal warning, sent once per subscription, renewal date and lead time."""

    subscription = models.ForeignKey(ToolSubscription, on_delete=models.CASCADE, related_name="warnings")
    renewal_date = models.DateField()
    days_before = models.PositiveSmallIntegerField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "renewal_date", "days_before"], name="renewalwarning_once"
            )
        ]

    def __str__(self):
        return f"{self.subscription} renews {self.renewal_date}: {self.days_before}-day notice"
