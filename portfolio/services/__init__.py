"""Every write of the portfolio: the registry (teams, members, use cases) and the model catalog."""

from .catalog import model_catalog_curated, model_catalog_load, model_prices_refresh
from .registry import membership_add, team_create, use_case_register

__all__ = [
    "membership_add",
    "model_catalog_curated",
    "model_catalog_load",
    "model_prices_refresh",
    "team_create",
    "use_case_register",
]
