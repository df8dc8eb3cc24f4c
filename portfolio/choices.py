from django.db import models


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
