from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone

from aifinops.core.models import TimeStampedModel
from portfolio.choices import BusinessFunction, Environment
from portfolio.models import MONEY, AIModel, Provider, Team, UseCase

from .commitment_schedule import capacity_total, term_schedule

# raw_extras key of an estimated row costed from the price book, which a price change or a volume
# tier reached re-costs: [uncached input, cache read, cache write, output] tokens as costed (the
# record merges cache reads and writes). Usage-only import rows and the gateway's records of events
# it costed carry it; estimated rows that brought their own cost do not.
PRICED_TOKENS = "priced_tokens"


class TokenType(models.TextChoices):
    INPUT = "input", "Input"
    OUTPUT = "output", "Output"
    CACHED_INPUT = "cached_input", "Cached input (read)"
    CACHE_WRITE = "cache_write", "Cache write"
    REASONING = "reasoning", "Reasoning"
    NONE = "", "Not tokens"


# Bills carry costs to many decimal places; rounding each row would drift over millions of rows.
COST = {"max_digits": 24, "decimal_places": 10}


class ImportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Imported"
    FAILED = "failed", "Rejected"
    CANCELLED = "cancelled", "Cancelled"
    UNDONE = "undone", "Undone"


class ImportMode(models.TextChoices):
    ALL_OR_NOTHING = "all_or_nothing", "Import the whole file, or nothing if any row is bad"
    VALID_ROWS = "valid_rows", "Import the valid rows and give me the rejects"


class ImportBatch(models.Model):
    """One file imported into showback: what it was, how it went, and the rows it rejected."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    file = models.FileField(upload_to="imports/%Y/%m/", max_length=300)
    original_name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, db_index=True)
    source_format = models.CharField(max_length=32)
    mode = models.CharField(max_length=16, choices=ImportMode.choices, default=ImportMode.ALL_OR_NOTHING)
    status = models.CharField(max_length=16, choices=ImportStatus.choices, default=ImportStatus.QUEUED)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="The running import's last sign of life."
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    rows_read = models.PositiveIntegerField(default=0)
    rows_imported = models.PositiveIntegerField(default=0)
    rows_duplicate = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    rejects = models.JSONField(default=list, blank=True, help_text="[{line, column, message}], first 10,000.")
    error = models.TextField(blank=True)
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    totals = models.JSONField(
        default=dict, blank=True, help_text="{currency: billed cost} of the rows imported."
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"Import #{self.pk} {self.original_name}"


class SpendRecord(models.Model):
    """One canonical row per source row, whatever the source format.

    `source` + `source_row_key` identify the row in its source, so importing the same file twice
    changes nothing. Billed, effective and list cost are kept apart, with their currency.
    """

    source = models.CharField(max_length=32, help_text="focus, litellm, openai, anthropic, generic, demo…")
    source_row_key = models.CharField(max_length=200)
    imported_at = models.DateTimeField(default=timezone.now)
    charge_period_start = models.DateTimeField()
    charge_period_end = models.DateTimeField()

    # The fact table takes millions of rows per import: its foreign keys are kept by Django (on_delete
    # runs in the ORM) and by the import services, not by per-row database triggers, and only the
    # indexes that reads use are kept (pages read DailySpend; history is scanned by period).
    provider = models.ForeignKey(
        Provider, null=True, blank=True, on_delete=models.PROTECT, db_constraint=False, db_index=False
    )
    provider_name = models.CharField(max_length=100, blank=True)
    service_name = models.CharField(max_length=150, blank=True)
    service_category = models.CharField(max_length=100, blank=True)
    model = models.ForeignKey(
        AIModel, null=True, blank=True, on_delete=models.SET_NULL, db_constraint=False, db_index=False
    )
    model_name = models.CharField(max_length=150, blank=True)
    token_type = models.CharField(max_length=16, choices=TokenType.choices, blank=True, default="")
    quantity = models.DecimalField(max_digits=24, decimal_places=6, default=Decimal("0"))
    unit = models.CharField(max_length=32, blank=True)

    billed_cost = models.DecimalField(**COST, default=Decimal("0"))
    effective_cost = models.DecimalField(**COST, default=Decimal("0"))
    list_cost = models.DecimalField(**COST, default=Decimal("0"))
    currency = models.CharField(max_length=3, default="USD")
    is_estimated = models.BooleanField(
        default=False, help_text="Costed from the model catalog, not billed by the provider."
    )
    is_ai = models.BooleanField(default=True, help_text="Counts as AI spend on showback pages.")

    billing_account = models.CharField(max_length=150, blank=True)
    sub_account = models.CharField(max_length=150, blank=True)
    api_key = models.CharField(max_length=150, blank=True)
    user_label = models.CharField(max_length=150, blank=True)
    tags = models.JSONField(default=dict, blank=True)

    use_case = models.ForeignKey(
        UseCase,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="spend_records",
        db_constraint=False,
        db_index=False,  # (use_case, charge_period_start) below serves it
    )
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    environment = models.CharField(max_length=16, choices=Environment.choices, blank=True)
    raw_extras = models.JSONField(default=dict, blank=True)
    customer = models.CharField(
        max_length=150, blank=True, help_text="Who the spend served, for cost to serve."
    )
    feature = models.CharField(max_length=150, blank=True)
    attributed_by = models.CharField(
        max_length=64, blank=True, help_text="rule:<id>, or tag:<key> for the built-in tag convention."
    )
    input_tokens = models.BigIntegerField(default=0, help_text="Uncached input tokens.")
    cached_tokens = models.BigIntegerField(default=0, help_text="Cached input tokens (read or written).")
    output_tokens = models.BigIntegerField(default=0)
    requests = models.PositiveIntegerField(default=0)
    import_batch = models.ForeignKey(
        ImportBatch,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="records",
        db_constraint=False,
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "source_row_key"], name="spendrecord_source_row")
        ]
        indexes = [
            models.Index(fields=["charge_period_start"]),
            models.Index(fields=["use_case", "charge_period_start"]),
            # A model's month volume (showback.selectors.model_month_volumes), read on every
            # gateway batch and import of a model with volume tiers.
            models.Index(fields=["model", "charge_period_start"], name="spendrecord_model_period"),
        ]

    def __str__(self):
        return f"{self.source}:{self.source_row_key}"


class DailySpend(models.Model):
    """Spend per day x use case x team x provider x model x environment x currency, and the bill's
    own provider, service, account, region and charge category, and the import they came from.

    Rebuilt for the days an import touches (`showback.rollups.daily_spend_rebuild`); every page
    reads these rows, never the raw records.
    """

    date = models.DateField()
    use_case = models.ForeignKey(UseCase, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    provider = models.ForeignKey(Provider, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    model = models.ForeignKey(AIModel, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    environment = models.CharField(max_length=16, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    is_ai = models.BooleanField(default=True)
    is_estimated = models.BooleanField(default=False)

    billed_cost = models.DecimalField(**COST, default=Decimal("0"))
    effective_cost = models.DecimalField(**COST, default=Decimal("0"))
    list_cost = models.DecimalField(**COST, default=Decimal("0"))
    model_tier = models.CharField(max_length=16, blank=True)
    # The bill's own names, as the file states them: showback breaks spend down and filters it by
    # these whether or not the catalog knows the provider or the model.
    provider_name = models.CharField(max_length=100, blank=True)
    service_name = models.CharField(max_length=150, blank=True)
    service_category = models.CharField(max_length=100, blank=True)
    billing_account = models.CharField(max_length=150, blank=True)
    sub_account = models.CharField(max_length=150, blank=True)
    region = models.CharField(max_length=100, blank=True)
    charge_category = models.CharField(max_length=32, blank=True)
    import_batch = models.ForeignKey(
        ImportBatch,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        help_text="The file the rows came from, so showback can show one import's spend.",
    )
    estimated_cost = models.DecimalField(
        **MONEY, default=Decimal("0"), help_text="Of rows costed by estimate."
    )
    input_tokens = models.BigIntegerField(default=0)
    cached_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    requests = models.PositiveBigIntegerField(default=0)
    record_count = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["date"]),
            models.Index(fields=["team", "date"]),
            models.Index(fields=["use_case", "date"]),
        ]

    def __str__(self):
        return f"{self.date} {self.use_case_id or 'unattributed'} {self.effective_cost} {self.currency}"


class MatchField(models.TextChoices):
    TAG = "tag", "Tag (key and value)"
    SUB_ACCOUNT = "sub_account", "Sub account (account, subscription, project, workspace)"
    BILLING_ACCOUNT = "billing_account", "Billing account"
    API_KEY = "api_key", "API key or key alias"
    SERVICE = "service", "Service name"
    PROVIDER = "provider", "Provider name"


class AttributionRule(models.Model):
    """A finance rule: spend whose field matches is assigned to a use case, team, environment,
    customer or feature. Rules apply in priority order (lowest number first); the first that
    matches a row decides each thing it assigns."""

    priority = models.PositiveIntegerField(default=100, db_index=True)
    name = models.CharField(max_length=150)
    enabled = models.BooleanField(default=True)
    match_field = models.CharField(max_length=24, choices=MatchField.choices)
    match_key = models.CharField(
        max_length=150, blank=True, help_text="For tags: the tag key (case and stray spaces do not matter)."
    )
    match_value = models.CharField(
        max_length=255, help_text="The value to match exactly, or ending in * to match a prefix."
    )
    use_case = models.ForeignKey(UseCase, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    environment = models.CharField(max_length=16, choices=Environment.choices, blank=True)
    customer = models.CharField(max_length=150, blank=True)
    feature = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["priority", "id"]

    def __str__(self):
        return self.name


# Budgets, alerts and the workflow around them.

BUDGET_MONEY = {"max_digits": 18, "decimal_places": 2}


class BudgetScope(models.TextChoices):
    PORTFOLIO = "portfolio", "Portfolio (all AI spend)"
    FUNCTION = "function", "Business function"
    TEAM = "team", "Team"
    USE_CASE = "use_case", "Use case"
    PROVIDER = "provider", "Provider"
    MODEL = "model", "Model"
    AGENT = "agent", "Agent"
    CUSTOMER = "customer", "End customer"
    TAG = "tag", "Tag value"


class BudgetPeriod(models.TextChoices):
    MONTHLY = "monthly", "Monthly"
    QUARTERLY = "quarterly", "Quarterly"
    ANNUAL = "annual", "Annual"


class BudgetMode(models.TextChoices):
    ALERT = "alert", "Alert only"
    APPROVAL = "approval", "Approval required above a threshold"
    HARD_CAP = "hard_cap", "Hard cap"


def default_thresholds():
    return [50, 80, 100]


def _only(scope, **set_fields):
    """The scope's own target is set and every other target is empty."""
    targets = {"team": None, "use_case": None, "provider": None, "model": None}
    q = models.Q(scope=scope)
    for name in targets:
        if name in set_fields:
            q &= models.Q(**{f"{name}__isnull": False})
        else:
            q &= models.Q(**{f"{name}__isnull": True})
    for name in ("function", "customer", "tag_key", "tag_value"):
        if name in set_fields:
            q &= ~models.Q(**{name: ""})
        else:
            q &= models.Q(**{name: ""})
    return q


class Budget(TimeStampedModel):
    """An amount of AI spend allowed per period for one scope, and what happens as it is used.

    Exactly one target matches the scope: a team for team budgets, a use case for use-case and
    agent budgets (an agent is an agentic use case), a provider, a model, a business function, an
    end customer (as spend and gateway calls name it), a tag key and value, or nothing for the
    portfolio. Customer and tag budgets cover that customer's or tag's spend in every use case.
    `thresholds` are percentages of the amount that raise an alert once per period. In approval
    mode, crossing `approval_above_pct` opens one budget increase request per period; in hard-cap
    mode, reaching the amount stops the calls of the use case, agent, customer or tag.
    """

    name = models.CharField(max_length=150)
    scope = models.CharField(max_length=16, choices=BudgetScope.choices)
    function = models.CharField(max_length=32, choices=BusinessFunction.choices, blank=True)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.PROTECT, related_name="budgets")
    use_case = models.ForeignKey(
        UseCase, null=True, blank=True, on_delete=models.PROTECT, related_name="budgets"
    )
    provider = models.ForeignKey(
        Provider, null=True, blank=True, on_delete=models.PROTECT, related_name="budgets"
    )
    model = models.ForeignKey(
        AIModel, null=True, blank=True, on_delete=models.PROTECT, related_name="budgets"
    )
    customer = models.CharField(
        max_length=150, blank=True, help_text="For customer budgets: the customer id spend names."
    )
    tag_key = models.CharField(max_length=100, blank=True, help_text="For tag budgets: the tag key.")
    tag_value = models.CharField(max_length=200, blank=True, help_text="For tag budgets: the tag value.")
    period = models.CharField(max_length=16, choices=BudgetPeriod.choices, default=BudgetPeriod.MONTHLY)
    amount = models.DecimalField(**BUDGET_MONEY)
    currency = models.CharField(max_length=3, default="USD")
    mode = models.CharField(max_length=16, choices=BudgetMode.choices, default=BudgetMode.ALERT)
    thresholds = models.JSONField(
        default=default_thresholds, blank=True, help_text="Percentages of the amount that raise an alert."
    )
    approval_above_pct = models.PositiveSmallIntegerField(
        default=100,
        help_text="Approval mode: spend above this percentage of the amount needs an approved increase.",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_budgets"
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    _only(BudgetScope.PORTFOLIO)
                    | _only(BudgetScope.FUNCTION, function=True)
                    | _only(BudgetScope.TEAM, team=True)
                    | _only(BudgetScope.USE_CASE, use_case=True)
                    | _only(BudgetScope.AGENT, use_case=True)
                    | _only(BudgetScope.PROVIDER, provider=True)
                    | _only(BudgetScope.MODEL, model=True)
                    | _only(BudgetScope.CUSTOMER, customer=True)
                    | _only(BudgetScope.TAG, tag_key=True, tag_value=True)
                ),
                name="budget_scope_target",
                violation_error_message="Set exactly the target that matches the scope, and nothing else.",
            ),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="budget_amount_positive"),
        ]
        indexes = [models.Index(fields=["active", "scope"])]

    def __str__(self):
        return self.name

    @property
    def target(self):
        """What the budget covers, in words: the team, use case, provider, model or function."""
        if self.scope == BudgetScope.PORTFOLIO:
            return "All AI spend"
        if self.scope == BudgetScope.FUNCTION:
            return self.get_function_display()
        if self.scope == BudgetScope.CUSTOMER:
            return f"Customer {self.customer}"
        if self.scope == BudgetScope.TAG:
            return f"Tag {self.tag_key}={self.tag_value}"
        name = {"team": "team", "provider": "provider", "model": "model"}.get(self.scope, "use_case")
        return str(getattr(self, name))

    @property
    def target_url(self):
        if self.scope in (BudgetScope.USE_CASE, BudgetScope.AGENT) and self.use_case_id:
            return self.use_case.get_absolute_url()
        if self.scope == BudgetScope.TEAM and self.team_id:
            return self.team.get_absolute_url()
        return ""


class BudgetAlertKind(models.TextChoices):
    THRESHOLD = "threshold", "Threshold crossed"
    PROJECTION = "projection", "Projected to exceed"


class BudgetAlertStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


class BudgetAlert(models.Model):
    """One alert of a budget in one period: a threshold crossed, or the projection over the amount.

    Unique per budget, period, kind and threshold, so evaluation may run any number of times.
    """

    budget = models.ForeignKey(Budget, on_delete=models.CASCADE, related_name="alerts")
    period_start = models.DateField()
    kind = models.CharField(max_length=16, choices=BudgetAlertKind.choices)
    threshold = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Percentage crossed; empty for a projection warning."
    )
    actual = models.DecimalField(**BUDGET_MONEY)
    projected = models.DecimalField(**BUDGET_MONEY)
    amount = models.DecimalField(**BUDGET_MONEY, help_text="The budget amount when the alert fired.")
    currency = models.CharField(max_length=3, default="USD")
    status = models.CharField(
        max_length=16, choices=BudgetAlertStatus.choices, default=BudgetAlertStatus.OPEN
    )
    note = models.TextField(blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        # Two partial constraints instead of nulls_distinct=False, which SQLite (make run) lacks.
        constraints = [
            models.UniqueConstraint(
                fields=["budget", "period_start", "kind", "threshold"],
                condition=models.Q(threshold__isnull=False),
                name="budgetalert_once_per_threshold",
            ),
            models.UniqueConstraint(
                fields=["budget", "period_start", "kind"],
                condition=models.Q(threshold__isnull=True),
                name="budgetalert_once_per_kind",
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self):
        what = f"{self.threshold}%" if self.threshold is not None else "projection"
        return f"{self.budget} {self.period_start:%Y-%m-%d} {what}"


class IncreaseRequestStatus(models.TextChoices):
    OPEN = "open", "Open"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class BudgetIncreaseRequest(models.Model):
    """A request to raise an approval-mode budget, opened when spend crosses its approval threshold.

    `needs_council` is set when the requested amount is above AIFINOPS_COUNCIL_BUDGET_INCREASE_ABOVE;
    the council reads it to put the request on its agenda.
    """

    budget = models.ForeignKey(Budget, on_delete=models.CASCADE, related_name="increase_requests")
    period_start = models.DateField()
    current_amount = models.DecimalField(**BUDGET_MONEY)
    requested_amount = models.DecimalField(**BUDGET_MONEY, help_text="The new amount asked for.")
    currency = models.CharField(max_length=3, default="USD")
    reason = models.TextField(blank=True)
    status = models.CharField(
        max_length=16, choices=IncreaseRequestStatus.choices, default=IncreaseRequestStatus.OPEN
    )
    needs_council = models.BooleanField(default=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["budget", "period_start"],
                condition=models.Q(status="open"),
                name="budgetincrease_one_open_per_period",
            ),
        ]

    def __str__(self):
        return f"{self.budget}: {self.requested_amount} {self.currency}"


class TeamWebhook(TimeStampedModel):
    """A Slack-compatible incoming webhook ({"text": ...}) that receives a team's budget alerts."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=500)
    active = models.BooleanField(default=True)
    secret = models.CharField(
        max_length=200, blank=True, help_text="If set, each POST carries an X-Aifinops-Signature HMAC-SHA256."
    )

    class Meta:
        ordering = ["team__name", "id"]

    def __str__(self):
        return f"{self.team} webhook"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    webhook = models.ForeignKey(TeamWebhook, on_delete=models.CASCADE, related_name="deliveries")
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self):
        return f"Delivery #{self.pk} to {self.webhook}"


# Anomalies and forecast assumptions (their services live in showback.analytics).


class AnomalyKind(models.TextChoices):
    SPIKE = "spike", "Spend spike"
    COST_PER_CALL = "cost_per_call", "Cost per call rising"
    OUTPUT_RATIO = "output_ratio", "Output-to-input token ratio rising"
    PREMIUM_SHARE = "premium_share", "Premium model share rising"
    CACHE_SHARE = "cache_share", "Cache share falling"
    RETRY_RATE = "retry_rate", "Retry rate rising"


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class AnomalyStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    EXPLAINED = "explained", "Explained"
    RESOLVED = "resolved", "Resolved"


class Anomaly(models.Model):
    """An unusual day of a use case, or of one model within it (model empty = the use case whole)."""

    date = models.DateField()
    use_case = models.ForeignKey(UseCase, on_delete=models.CASCADE, related_name="anomalies")
    model = models.ForeignKey(AIModel, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=AnomalyKind.choices)
    severity = models.CharField(max_length=8, choices=Severity.choices)
    expected = models.DecimalField(max_digits=20, decimal_places=6)
    actual = models.DecimalField(max_digits=20, decimal_places=6)
    currency = models.CharField(max_length=3, default="USD")
    detail = models.JSONField(default=dict, blank=True, help_text="Baseline median, MAD, score, window.")
    status = models.CharField(max_length=16, choices=AnomalyStatus.choices, default=AnomalyStatus.OPEN)
    note = models.TextField(blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name_plural = "anomalies"
        # Same as one UniqueConstraint with nulls_distinct=False, which SQLite (make run) lacks.
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "use_case", "model", "date"],
                condition=models.Q(model__isnull=False),
                name="anomaly_once_per_model_day",
            ),
            models.UniqueConstraint(
                fields=["kind", "use_case", "date"],
                condition=models.Q(model__isnull=True),
                name="anomaly_once_per_use_case_day",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "severity"]),
            models.Index(fields=["use_case", "date"]),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.use_case} {self.date}"


class AssumptionKind(models.TextChoices):
    LAUNCH_DATE = "launch_date", "Launch date"
    ADOPTION_GROWTH = "adoption_growth", "Adoption growth"
    MODEL_SWITCH = "model_switch", "Planned model switch"


class ForecastAssumption(models.Model):
    """A planner's driver assumption that adjusts a forecast (use case empty = the portfolio)."""

    use_case = models.ForeignKey(
        UseCase, null=True, blank=True, on_delete=models.CASCADE, related_name="forecast_assumptions"
    )
    kind = models.CharField(max_length=16, choices=AssumptionKind.choices)
    effective_from = models.DateField()
    growth_pct = models.DecimalField(
        max_digits=7, decimal_places=2, null=True, blank=True, help_text="Adoption growth: % per month."
    )
    from_model = models.ForeignKey(
        AIModel,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Model switch: the model replaced (empty = the use case's current models).",
    )
    target_model = models.ForeignKey(
        AIModel, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["effective_from", "id"]

    def __str__(self):
        return f"{self.get_kind_display()} from {self.effective_from}"


class MonthlySpend(models.Model):
    """DailySpend summed per month: the same dimensions but the day and environment.

    Rebuilt with DailySpend for every month a rebuild touches (`daily_spend_rebuild`), so pages
    that read whole months (the dashboard's trend, forecast and presets) read a dozen rows a use
    case a year instead of hundreds.
    """

    month = models.DateField(help_text="The first day of the month.")
    use_case = models.ForeignKey(UseCase, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    provider = models.ForeignKey(Provider, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    model = models.ForeignKey(AIModel, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    model_tier = models.CharField(max_length=16, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    is_ai = models.BooleanField(default=True)
    billed_cost = models.DecimalField(**COST, default=Decimal("0"))
    effective_cost = models.DecimalField(**COST, default=Decimal("0"))
    list_cost = models.DecimalField(**COST, default=Decimal("0"))
    estimated_cost = models.DecimalField(**COST, default=Decimal("0"))
    input_tokens = models.BigIntegerField(default=0)
    cached_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    requests = models.PositiveBigIntegerField(default=0)
    record_count = models.PositiveBigIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["month"]), models.Index(fields=["use_case", "month"])]

    def __str__(self):
        who = self.use_case_id or "unattributed"
        return f"{self.month:%Y-%m} {who} {self.effective_cost} {self.currency}"


# Cost to serve and product margins.


class CustomerDailySpend(models.Model):
    """AI spend per day x customer x use case x feature x currency, of the spend records that name
    the customer they served.

    Rebuilt with DailySpend (`showback.rollups.daily_spend_rebuild`); the margins pages read these
    rows, never the raw records. Spend that names no customer is not here: it is shared cost.
    """

    date = models.DateField()
    customer = models.CharField(max_length=150)
    use_case = models.ForeignKey(UseCase, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    feature = models.CharField(max_length=150, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    billed_cost = models.DecimalField(**COST, default=Decimal("0"))
    effective_cost = models.DecimalField(**COST, default=Decimal("0"))
    requests = models.PositiveBigIntegerField(default=0)
    record_count = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["date"]), models.Index(fields=["customer", "date"])]

    def __str__(self):
        return f"{self.date} {self.customer} {self.effective_cost} {self.currency}"


REVENUE_MONEY = {"max_digits": 18, "decimal_places": 2}


class CustomerRevenue(TimeStampedModel):
    """What one customer paid in one month, with the plan and segment they were on.

    Loaded by finance from a CSV or the API (`showback.margins.services.revenue_import`); a later
    load of the same customer and month replaces the row.
    """

    month = models.DateField(help_text="The first day of the month.")
    customer = models.CharField(
        max_length=150, help_text="The customer as spend names it (SpendRecord.customer)."
    )
    plan = models.CharField(max_length=100, blank=True)
    segment = models.CharField(max_length=100, blank=True)
    revenue = models.DecimalField(**REVENUE_MONEY)
    currency = models.CharField(max_length=3, default="USD")
    loaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-month", "customer"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "month"], name="customerrevenue_customer_month"),
            models.CheckConstraint(condition=models.Q(revenue__gte=0), name="customerrevenue_not_negative"),
        ]
        indexes = [models.Index(fields=["month"])]

    def __str__(self):
        return f"{self.customer} {self.month:%Y-%m}: {self.revenue} {self.currency}"


class ExchangeRate(models.Model):
    """One recorded rate: 1 `base` buys `rate` of `quote`, from `valid_from` until the next rate
    of the pair. Hard caps convert amounts in another currency with it (showback.fx.rate_for)."""

    base = models.CharField(max_length=3, help_text="ISO 4217 code, e.g. EUR.")
    quote = models.CharField(max_length=3, help_text="ISO 4217 code, e.g. USD.")
    rate = models.DecimalField(max_digits=24, decimal_places=10)
    valid_from = models.DateField()
    source = models.CharField(max_length=100, help_text="Where the rate comes from, e.g. ECB reference.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["base", "quote", "-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["base", "quote", "valid_from"], name="exchangerate_once"),
            models.CheckConstraint(condition=models.Q(rate__gt=0), name="exchangerate_positive"),
        ]

    def __str__(self):
        return f"1 {self.base} = {self.rate} {self.quote} from {self.valid_from}"


# Commitments: reserved and provisioned capacity and committed spend.


class CommitmentCategory(models.TextChoices):
    """FOCUS 1.3 ContractCommitmentCategory."""

    SPEND = "spend", "Committed spend"
    USAGE = "usage", "Committed capacity (units)"


class CommitmentBilling(models.TextChoices):
    UPFRONT = "upfront", "Paid upfront"
    MONTHLY = "monthly", "Billed monthly"


class CommitmentSource(models.TextChoices):
    MANUAL = "manual", "Entered by hand"
    FOCUS = "focus", "FOCUS 1.3 contract-commitment import"


class Commitment(TimeStampedModel):
    """A contract with a provider for a term: an amount of spend, or capacity units (PTU,
    provisioned throughput model units, seats) at a price per unit and month.

    Its cost is the committed amount for the whole term, or units x unit price for each month of
    it; `showback.commitment_schedule` spreads that cost over the term's months to the cent.
    Covered usage is the spend on `provider`, narrowed to `models` and `service_name` when given.
    """

    name = models.CharField(max_length=150)
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="+")
    service_name = models.CharField(
        max_length=150, blank=True, help_text="Only spend on this service counts as covered (empty: any)."
    )
    models_covered = models.ManyToManyField(
        AIModel, blank=True, related_name="+", help_text="Only these models count as covered (none: any)."
    )
    category = models.CharField(max_length=8, choices=CommitmentCategory.choices)
    term_start = models.DateField()
    term_end = models.DateField(help_text="The term's last day, included.")
    committed_amount = models.DecimalField(
        **MONEY, null=True, blank=True, help_text="Committed spend over the whole term."
    )
    capacity_units = models.DecimalField(max_digits=18, decimal_places=6, null=True, blank=True)
    capacity_unit = models.CharField(max_length=32, blank=True, help_text="PTU, model units, seats…")
    unit_price = models.DecimalField(
        **MONEY, null=True, blank=True, help_text="The price of one unit for one month."
    )
    currency = models.CharField(max_length=3, default="USD")
    billing = models.CharField(
        max_length=8, choices=CommitmentBilling.choices, default=CommitmentBilling.MONTHLY
    )
    source = models.CharField(max_length=8, choices=CommitmentSource.choices, default=CommitmentSource.MANUAL)
    contract_id = models.CharField(max_length=150, blank=True)
    commitment_id = models.CharField(
        max_length=150,
        blank=True,
        help_text="FOCUS ContractCommitmentId: bill rows name it in ContractApplied.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-term_start", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["commitment_id"],
                condition=~models.Q(commitment_id=""),
                name="commitment_unique_commitment_id",
            ),
            models.CheckConstraint(
                condition=models.Q(term_end__gte=models.F("term_start")), name="commitment_term"
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def total_cost(self) -> Decimal:
        if self.committed_amount is not None:
            return self.committed_amount
        return capacity_total(
            (self.capacity_units or Decimal(0)) * (self.unit_price or Decimal(0)),
            self.term_start,
            self.term_end,
        )

    def schedule(self) -> list:
        """[(month, cost)] over the term, to the cent, adding up to `total_cost`."""
        return term_schedule(self.total_cost, self.term_start, self.term_end)


class ReportingCurrency(models.Model):
    """The organisation's reporting currency: the one row (pk 1) every total across currencies is
    converted into, by the rates of ExchangeRate. Without the row, settings.AIFINOPS_REPORTING_CURRENCY."""

    code = models.CharField(max_length=3, help_text="ISO 4217 code, e.g. USD.")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(pk=1), name="reportingcurrency_one_row")]

    def __str__(self):
        return f"Reporting currency {self.code}"


# The call-path guardrails keep their models in a module of their own (showback/gateway).
from .gateway.models import (  # noqa: E402, F401
    AgentPolicy,
    AuthorizationDecision,
    CapCorrection,
    GatewayKey,
    GatewayReservation,
    UsageEvent,
    UsageHourly,
    UsageRequest,
)
