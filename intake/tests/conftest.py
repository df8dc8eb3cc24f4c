from decimal import Decimal

import pytest

from portfolio.choices import ModelStatus, ModelTier
from portfolio.tests.factories import AIModelFactory, ProviderFactory


@pytest.fixture
def catalog(db):
    openai = ProviderFactory(slug="openai", name="OpenAI")
    return {
        "mini": AIModelFactory(
            provider=openai,
            key="gpt-4.1-mini",
            name="GPT-4.1 mini",
            tier=ModelTier.MID,
            input_price_per_mtok=Decimal("0.40"),
            output_price_per_mtok=Decimal("1.60"),
        ),
        "frontier": AIModelFactory(provider=openai, key="gpt-4.1", name="GPT-4.1", tier=ModelTier.FRONTIER),
        "restricted": AIModelFactory(
            provider=openai,
            key="o3-pro",
            name="o3-pro",
            tier=ModelTier.REASONING,
            status=ModelStatus.RESTRICTED,
        ),
        "blocked": AIModelFactory(
            provider=openai, key="old", name="Old model", tier=ModelTier.SMALL, status=ModelStatus.BLOCKED
        ),
    }


@pytest.fixture
def intake_data(cast, catalog):
    """A complete, low-risk intake of team A, as the page posts it."""
    return {
        "name": "Macro suggestions",
        "purpose": "Suggest canned replies for agents",
        "problem": "Agents retype the same answers",
        "team": "support",
        "business_owner": "owner",
        "technical_owner": "req-a",
        "user_audience": "internal",
        "expected_users": "40",
        "data_classification": "internal",
        "customer_impact": "none",
        "ai_models": ["openai/gpt-4.1-mini"],
        "task_kind": "drafting",
        "expected_monthly_cost": "250.00",
        "currency": "USD",
        "value_metric": "Minutes saved",
        "value_per_outcome": "0.50",
        "outcomes_per_month": "20000",
        "success_metric": "Handle time down 10 %",
        "autonomy_level": "assistive",
        "environment": "development",
        "tag_function": "customer_support",
        "tag_workflow": "ticket reply",
    }
