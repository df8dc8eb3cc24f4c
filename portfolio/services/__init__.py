"""Every write of the portfolio: the registry (teams, members, use cases) and the model catalog."""

from ..gates.services import (
    gate_item_attest,
    gate_item_not_applicable,
    gate_item_reopen,
    stage_approval_record,
    stage_move_request,
    use_case_guardrails_update,
    use_case_move,
)
from .catalog import model_catalog_curated, model_catalog_load, model_prices_refresh
from .registry import membership_add, team_create, use_case_register

__all__ = [
    "gate_item_attest",
    "gate_item_not_applicable",
    "gate_item_reopen",
    "membership_add",
    "model_catalog_curated",
    "model_catalog_load",
    "model_prices_refresh",
    "stage_approval_record",
    "stage_move_request",
    "team_create",
    "use_case_guardrails_update",
    "use_case_move",
    "use_case_register",
]
