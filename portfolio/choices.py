from django.db import models
from django.db.models import Case, IntegerField, Value, When


def in_choice_order(field, choices):
    """An expression ranking `field` in the order `choices` declares (concept, MVP, pilot, launch,
    scale, sunset; low, medium, high, critical), to `order_by` it (`.desc()` for the other end):
    sorting by the stored value would put "launch" before "mvp" and "high" before "low". A value
    the choices do not know ranks after them all."""
    values = [value for value, _ in choices.choices]
    return Case(
        *(When(**{field: value}, then=Value(rank)) for rank, value in enumerate(values)),
        default=Value(len(values)),
        output_field=IntegerField(),
    )


class BusinessFunction(models.TextChoices):
    ENGINEERING = "engineering", "Engineering"
    PRODUCT = "product", "Product"
    CUSTOMER_SUPPORT = "customer_support", "Customer support"
    SALES = "sales", "Sales"
    MARKETING = "marketing", "Marketing"
    FINANCE = "finance", "Finance"
    OPERATIONS = "operations", "Operations"
    PEOPLE = "people", "People"
    LEGAL = "legal", "Legal"
    DATA = "data", "Data and analytics"


class Stage(models.TextChoices):
    CONCEPT = "concept", "Concept"
    MVP = "mvp", "MVP"
    PILOT = "pilot", "Pilot"
    LAUNCH = "launch", "Launch"
    SCALE = "scale", "Scale"
    SUNSET = "sunset", "Sunset"


class RiskTier(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class AutonomyLevel(models.TextChoices):
    ASSISTIVE = "assistive", "Assistive"
    HUMAN_IN_THE_LOOP = "human_in_the_loop", "Human in the loop"
    SUPERVISED_AGENT = "supervised_agent", "Supervised agent"
    AUTONOMOUS_AGENT = "autonomous_agent", "Autonomous agent"


class CustomerImpact(models.TextChoices):
    NONE = "none", "None"
    INDIRECT = "indirect", "Indirect"
    CUSTOMER_FACING = "customer_facing", "Customer-facing"


class DataClassification(models.TextChoices):
    PUBLIC = "public", "Public"
    INTERNAL = "internal", "Internal"
    CONFIDENTIAL = "confidential", "Confidential"
    RESTRICTED = "restricted", "Restricted"


class Environment(models.TextChoices):
    DEVELOPMENT = "development", "Development"
    STAGING = "staging", "Staging"
    PRODUCTION = "production", "Production"


class ProviderKind(models.TextChoices):
    MODEL_API = "model_api", "Model API"
    CLOUD_AI = "cloud_ai", "Cloud AI service"
    SELF_HOSTED = "self_hosted", "Self-hosted"
    SAAS = "saas", "SaaS / copilot"


class ModelTier(models.TextChoices):
    """Capability tiers, in rising order of price and power (embedding models stand apart)."""

    SMALL = "small", "Small"
    MID = "mid", "Mid"
    FRONTIER = "frontier", "Frontier"
    REASONING = "reasoning", "Reasoning"
    EMBEDDING = "embedding", "Embedding"


class ModelStatus(models.TextChoices):
    APPROVED = "approved", "Approved"
    RESTRICTED = "restricted", "Restricted (needs review)"
    BLOCKED = "blocked", "Blocked"


class PriceKind(models.TextChoices):
    """Where a price comes from: the provider's public list, or the company's own agreement."""

    LIST = "list", "List"
    NEGOTIATED = "negotiated", "Negotiated"


class PriceTier(models.TextChoices):
    """The provider's service tier a call ran at: each has its own price."""

    STANDARD = "standard", "Standard"
    BATCH = "batch", "Batch"
    PRIORITY = "priority", "Priority"
    FLEX = "flex", "Flex"


class TaskKind(models.TextChoices):
    """The kind of work a use case asks of its model, for routing guidance."""

    CLASSIFICATION = "classification", "Classification"
    EXTRACTION = "extraction", "Extraction"
    FORMATTING = "formatting", "Formatting"
    SHORT_SUMMARY = "short_summary", "Short summaries"
    EMBEDDING = "embedding", "Search and embeddings"
    DRAFTING = "drafting", "Drafting"
    ANALYSIS = "analysis", "Moderate analysis"
    SYNTHESIS = "synthesis", "Complex synthesis"
    JUDGMENT = "judgment", "High-impact judgment"
    MULTI_STEP = "multi_step", "Hard multi-step problems"


class UserAudience(models.TextChoices):
    INTERNAL = "internal", "Internal"
    EXTERNAL = "external", "External"
    BOTH = "both", "Internal and external"


class RunFrequency(models.TextChoices):
    ON_DEMAND = "on_demand", "On demand"
    CONTINUOUS = "continuous", "Continuously"
    HOURLY = "hourly", "Hourly"
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"


class MembershipRole(models.TextChoices):
    MEMBER = "member", "Member"
    LEAD = "lead", "Team lead"


class PromptCaching(models.TextChoices):
    ENABLED = "enabled", "Enabled"
    NOT_APPLICABLE = "not_applicable", "Not applicable"
    DISABLED = "disabled", "Not enabled"


class GateItemStatus(models.TextChoices):
    OPEN = "open", "Open"
    ATTESTED = "attested", "Attested"
    NOT_APPLICABLE = "not_applicable", "Not applicable"


class MilestoneStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    MET = "met", "Met"
    MISSED = "missed", "Missed"


class MoveRequestStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    WITHDRAWN = "withdrawn", "Withdrawn"


class CostCategory(models.TextChoices):
    """The costs of an AI use case beyond its model bill."""

    PROMPT_ENGINEERING = "prompt_engineering", "Prompt engineering"
    EVALUATION = "evaluation", "Evaluation"
    SAFETY_COMPLIANCE = "safety_compliance", "Safety and compliance"
    OBSERVABILITY = "observability", "Observability"
    HUMAN_REVIEW = "human_review", "Human review"
    ENABLEMENT = "enablement", "Enablement"
    PLATFORM_OPERATIONS = "platform_operations", "Platform operations"


class OptimizationLever(models.TextChoices):
    PROMPT_COMPRESSION = "prompt_compression", "Prompt compression"
    MODEL_ROUTING = "model_routing", "Model routing"
    CONTEXT_ENGINEERING = "context_engineering", "Context engineering"
    CACHING = "caching", "Caching"
    BATCH_ASYNC = "batch_async", "Batch or asynchronous processing"
    INFRASTRUCTURE = "infrastructure", "Infrastructure"
    VENDOR_CONTRACT = "vendor_contract", "Vendor or contract"
    LICENSE_CLEANUP = "license_cleanup", "License clean-up"
    RETIREMENT = "retirement", "Retirement"


class OptimizationStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"
    REJECTED = "rejected", "Rejected"


class Level(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
