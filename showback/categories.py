"""Which spend is AI: a bill names a service category, and only one of them is AI. The importers
decide it on import and attribution again on re-attribution, from this one place."""

# FOCUS's ServiceCategory for AI spend, compared case-insensitively.
AI_CATEGORY = "ai and machine learning"


def is_ai_category(category: str) -> bool:
    """FOCUS bills hold all cloud spend: only the "AI and Machine Learning" category is AI."""
    return category.strip().casefold() == AI_CATEGORY
