from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone

from portfolio.choices import Environment
from portfolio.models import MONEY, AIModel, Provider, Team, UseCase


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

    provider = models.ForeignKey(Provider, null=True, blank=True, on_delete=models.PROTECT)
    provider_name = models.CharField(max_length=100, blank=True)
    service_name = models.CharField(max_length=150, blank=True)
    service_category = models.CharField(max_length=100, blank=True)
    model = models.ForeignKey(AIModel, null=True, blank=True, on_delete=models.SET_NULL)
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
        UseCase, null=True, blank=True, on_delete=models.SET_NULL, related_name="spend_records"
    )
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
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
        ImportBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="records"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "source_row_key"], name="spendrecord_source_row")
        ]
        indexes = [
            models.Index(fields=["charge_period_start"]),
            models.Index(fields=["use_case", "charge_period_start"]),
        ]

    def __str__(self):
        return f"{self.source}:{self.source_row_key}"


class DailySpend(models.Model):
    """Spend per day x use case x team x provider x model x environment x currency.

    Rebuilt for the days an import touches (`showback.services.daily_spend_rebuild`); every page
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
