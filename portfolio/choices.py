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
    PREMIUM = "premium", "Premium"
    STANDARD = "standard", "Standard"
    ECONOMY = "economy", "Economy"
    EMBEDDING = "embedding", "Embedding"
    SELF_HOSTED = "self_hosted", "Self-hosted"


class MembershipRole(models.TextChoices):
    MEMBER = "member", "Member"
    LEAD = "lead", "Team lead"
