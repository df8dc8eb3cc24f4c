"""Models of the call-path guardrails. Imported by showback.models, so their app is showback.

UsageEvent is range-partitioned by month on PostgreSQL (migration 0007 creates the parent table
and `services.usage_partitions_ensure` the monthly partitions); on SQLite (`make run`) it is a
plain table. Django sees the parent table only.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from aifinops.core.models import HashedKey
from portfolio.choices import PriceTier
from portfolio.models import AIModel, UseCase

# The same precision as SpendRecord's costs: per-call costs are fractions of a cent.
COST = {"max_digits": 24, "decimal_places": 10}

GATEWAY_KEY_PREFIX = "afo_gw_"  # a visible prefix, not a secret


class GatewayKey(HashedKey):
    """An API key of one use case, or of one agent of it, for gateways and agent runtimes.

    Only its hash is stored; the key is shown once, at creation. It may call the authorization
    and usage-event endpoints for its use case and nothing else.
    """

    KEY_PREFIX = GATEWAY_KEY_PREFIX
    PREFIX_LENGTH = 14

    use_case = models.ForeignKey(UseCase, on_delete=models.CASCADE, related_name="gateway_keys")
    agent = models.CharField(
        max_length=100, blank=True, help_text="Only this agent id may use the key; empty for any."
    )
    name = models.CharField(max_length=100, help_text="Where the key is used, e.g. litellm-prod.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]


class AgentPolicy(models.Model):
    """The run limits, approval gate and kill switch of a use case's agents (one per use case).

    The monthly spend cap is the use case's own `agent_spend_cap`; hard-cap budgets apply too.
    Empty limits mean no limit.
    """

    use_case = models.OneToOneField(UseCase, on_delete=models.CASCADE, related_name="agent_policy")
    kill_switch = models.BooleanField(default=False, help_text="On: every authorization is denied.")
    kill_switch_reason = models.CharField(max_length=250, blank=True)
    kill_switch_at = models.DateTimeField(null=True, blank=True)
    kill_switch_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approval_required = models.BooleanField(
        default=False, help_text="Deny every call until a person approves the agent."
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    max_steps_per_run = models.PositiveIntegerField(
        null=True, blank=True, help_text="Model calls one run may make."
    )
    max_tool_calls_per_run = models.PositiveIntegerField(null=True, blank=True)
    max_tokens_per_run = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Tokens one task (run) may consume, in and out."
    )
    max_run_seconds = models.PositiveIntegerField(
        null=True, blank=True, help_text="How long a run may go on after its first call."
    )
    max_calls_per_minute = models.PositiveIntegerField(
        null=True, blank=True, help_text="Rate limit of the use case, all agents together."
    )
    max_input_tokens_per_call = models.PositiveIntegerField(
        null=True, blank=True, help_text="Input (context) tokens one call may send."
    )
    max_batch_size = models.PositiveIntegerField(
        null=True, blank=True, help_text="Items one batch call may carry."
    )
    tools_restricted = models.BooleanField(
        default=False, help_text="Deny a call or run step that names a tool outside `allowed_tools`."
    )
    allowed_tools = models.JSONField(
        default=list, blank=True, help_text="The tool names the agent may call, when restricted."
    )
    warn_at_pct = models.PositiveSmallIntegerField(
        default=80,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="Answer warn once a call would take a capped budget past this percentage.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "agent policies"

    def __str__(self):
        return f"Agent policy of {self.use_case}"

    @property
    def approved(self):
        return self.approved_at is not None


class UsageStatus(models.TextChoices):
    OK = "ok", "OK"
    ERROR = "error", "Error"
    TIMEOUT = "timeout", "Timeout"
    CANCELLED = "cancelled", "Cancelled"


class UsageOutcome(models.TextChoices):
    """How the task a call served ended, reported on the call that ends it."""

    SUCCESS = "success", "Success"
    ACCEPTED = "accepted", "Accepted by a person"
    REJECTED = "rejected", "Rejected by a person"
    FAILURE = "failure", "Failure"


SUCCESSFUL_OUTCOMES = (UsageOutcome.SUCCESS, UsageOutcome.ACCEPTED)


class UsageEvent(models.Model):
    """One model call reported by a gateway or an agent runtime.

    `request_id` is the idempotency key: the same request id for the same use case is stored and
    counted once (claimed in UsageRequest). `cost` is the gateway's figure, or computed from the
    catalog's list prices.
    """

    occurred_at = models.DateTimeField(help_text="When the call was made (the partition key).")
    received_at = models.DateTimeField(default=timezone.now)
    # Like SpendRecord: a fact table, so no per-row foreign-key triggers; the ORM keeps on_delete.
    use_case = models.ForeignKey(
        UseCase, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    gateway_key = models.ForeignKey(
        GatewayKey,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    request_id = models.CharField(max_length=200)
    agent_id = models.CharField(max_length=100, blank=True)
    run_id = models.CharField(max_length=200, blank=True)
    provider_name = models.CharField(max_length=100, blank=True)
    model = models.ForeignKey(
        AIModel,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    model_name = models.CharField(max_length=150, blank=True)
    input_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    cached_tokens = models.BigIntegerField(default=0, help_text="Input tokens read from the prompt cache.")
    cache_write_tokens = models.BigIntegerField(
        default=0, help_text="Input tokens written to the prompt cache (priced apart from input)."
    )
    reasoning_tokens = models.BigIntegerField(default=0)
    service_tier = models.CharField(
        max_length=16,
        choices=PriceTier.choices,
        default=PriceTier.STANDARD,
        help_text="The provider's service tier the call ran at: the price book's tier it is costed at.",
    )
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    retries = models.PositiveSmallIntegerField(default=0)
    tool_calls = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, choices=UsageStatus.choices, default=UsageStatus.OK)
    cache_hit = models.BooleanField(default=False)
    human_review = models.BooleanField(default=False)
    outcome = models.CharField(max_length=16, choices=UsageOutcome.choices, blank=True)
    cost = models.DecimalField(**COST, default=Decimal("0"))
    currency = models.CharField(max_length=3, default="USD")
    cost_computed = models.BooleanField(default=False, help_text="Costed from the catalog's list prices.")
    customer = models.CharField(max_length=150, blank=True, help_text="The end customer the call served.")
    tags = models.JSONField(default=dict, blank=True, help_text="The call's tags: string keys and values.")

    class Meta:
        # No unique index of its own: the idempotency key is held by UsageRequest (a unique index
        # here would have to include the partition key, and would cost every row a second index).
        indexes = [models.Index(fields=["use_case", "occurred_at"], name="usageevent_uc_time")]

    def __str__(self):
        return f"{self.use_case_id}:{self.request_id}"


class UsageRequest(models.Model):
    """The idempotency key of the usage events: a (use case, request id) is stored once. UsageEvent
    is partitioned by month, so its unique index includes the time and cannot refuse the same
    request id sent again with another timestamp; this table can. A batch claims its ids here
    with INSERT ... ON CONFLICT DO NOTHING, so concurrent batches of a use case need no lock for
    it: a batch resending an id that another has claimed but not committed waits for that commit,
    then finds the id taken (counted once) or, if it rolled back, claims it."""

    pk = models.CompositePrimaryKey("use_case_id", "request_id")
    use_case_id = models.BigIntegerField()
    request_id = models.CharField(max_length=200)

    def __str__(self):
        return f"{self.use_case_id}:{self.request_id}"


class UsageHourly(models.Model):
    """Telemetry of one use case in one hour (and currency), kept current as events arrive.

    Counts add up across hours. Latencies are a histogram over LATENCY_BUCKETS_MS (see
    selectors), so p50 and p95 of any span come from summed histograms. `runs` counts the distinct
    runs active in the hour (a call without a run id is a run of its own).
    """

    hour = models.DateTimeField()
    use_case = models.ForeignKey(UseCase, on_delete=models.CASCADE, related_name="+")
    currency = models.CharField(max_length=3, default="USD")
    calls = models.PositiveBigIntegerField(default=0)
    errors = models.PositiveBigIntegerField(default=0)
    retried_calls = models.PositiveBigIntegerField(default=0)
    retries = models.PositiveBigIntegerField(default=0)
    cache_hits = models.PositiveBigIntegerField(default=0)
    tool_calls = models.PositiveBigIntegerField(default=0)
    runs = models.PositiveBigIntegerField(default=0)
    tasks = models.PositiveBigIntegerField(default=0, help_text="Calls that reported an outcome.")
    successes = models.PositiveBigIntegerField(default=0)
    human_reviews = models.PositiveBigIntegerField(default=0)
    accepted = models.PositiveBigIntegerField(default=0)
    input_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    cached_tokens = models.BigIntegerField(default=0)
    cache_write_tokens = models.BigIntegerField(default=0)
    reasoning_tokens = models.BigIntegerField(default=0)
    cost = models.DecimalField(**COST, default=Decimal("0"))
    latency_count = models.PositiveBigIntegerField(default=0)
    latency_hist = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["use_case", "hour", "currency"], name="usagehourly_once")
        ]

    def __str__(self):
        return f"{self.use_case_id} {self.hour:%Y-%m-%d %H}:00 {self.calls} calls"


class Decision(models.TextChoices):
    ALLOW = "allow", "Allow"
    WARN = "warn", "Warn"
    DENY = "deny", "Deny"


class AuthorizationDecision(models.Model):
    """A denial of the authorization endpoint, for the log on the use-case page.

    Written in batches from a Redis list (services.gateway_flush), so the endpoint never writes to
    the database; identical denials of one run in one batch are folded into one row with a count.
    """

    created_at = models.DateTimeField(default=timezone.now)
    use_case = models.ForeignKey(UseCase, on_delete=models.CASCADE, related_name="+")
    gateway_key = models.ForeignKey(
        GatewayKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision = models.CharField(max_length=8, choices=Decision.choices, default=Decision.DENY)
    reason = models.CharField(max_length=32)
    message = models.CharField(max_length=300, blank=True)
    agent_id = models.CharField(max_length=100, blank=True)
    run_id = models.CharField(max_length=200, blank=True)
    model_name = models.CharField(max_length=150, blank=True)
    estimated_cost = models.DecimalField(**COST, default=Decimal("0"))
    currency = models.CharField(max_length=3, default="USD")
    failure_policy = models.CharField(
        max_length=8, blank=True, help_text="open or closed when the counters were unavailable."
    )
    count = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["use_case", "created_at"], name="authdecision_uc_time")]

    def __str__(self):
        return f"{self.use_case_id} {self.decision} {self.reason}"


class GatewayReservation(models.Model):
    """An open reservation of the authorization endpoint on one cap, written through to the
    database so that counters rebuilt after a Redis loss include it (policy.cap_reserved).

    One row per (use case, reservation, cap); `amount` is in the cap's currency. Settled rows are
    deleted with the usage event that settles them; expired rows no longer count and are pruned.
    """

    use_case = models.ForeignKey(
        UseCase, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    reservation_id = models.CharField(max_length=200)
    cap = models.CharField(max_length=40, help_text="The cap's counter id, e.g. b12 or a3.")
    period_start = models.DateField()
    amount_micro = models.BigIntegerField(help_text="In micro-units of the cap's currency.")
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["use_case", "reservation_id", "cap"], name="gatewayreservation_once"
            )
        ]
        indexes = [
            models.Index(fields=["cap", "period_start", "expires_at"], name="gatewayres_cap_open"),
        ]

    def __str__(self):
        return f"{self.reservation_id} on {self.cap}: {self.amount_micro}"


class CapCorrection(models.Model):
    """A cap counter found drifted from the ledger by the reconciliation, and corrected.

    `spent` figures are what Redis held and what the ledger says; `reserved` figures what Redis
    held and what the open reservations in the database add up to. `drift` is the change made to
    the counter's total (spent + reserved): positive means Redis had too little (overspend risk),
    negative too much (a false block).
    """

    created_at = models.DateTimeField(default=timezone.now)
    use_case = models.ForeignKey(UseCase, on_delete=models.CASCADE, related_name="+")
    budget = models.ForeignKey(
        "showback.Budget", null=True, blank=True, on_delete=models.CASCADE, related_name="cap_corrections"
    )
    cap = models.CharField(max_length=40)
    period_start = models.DateField()
    currency = models.CharField(max_length=3)
    redis_spent = models.DecimalField(**COST)
    ledger_spent = models.DecimalField(**COST)
    redis_reserved = models.DecimalField(**COST)
    open_reserved = models.DecimalField(**COST)
    drift = models.DecimalField(**COST)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["budget", "created_at"], name="capcorrection_budget_time")]

    def __str__(self):
        return f"{self.cap} {self.period_start}: {self.drift} {self.currency}"


class UsageRollupDirty(models.Model):
    """A use case's day whose rollup rows (DailySpend and what is built from it) are behind its
    usage events. Written in the transaction that stores the events, deleted in the transaction
    that rebuilds the rows: durable, so a worker killed mid-rollup loses nothing. `version` grows
    with every batch that marks the day again, so a rebuild deletes only the mark it has seen."""

    use_case_id = models.BigIntegerField()
    day = models.DateField()
    version = models.BigIntegerField(default=1)
    marked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["use_case_id", "day"], name="usagerollupdirty_once")]

    def __str__(self):
        return f"{self.use_case_id} {self.day} v{self.version}"
