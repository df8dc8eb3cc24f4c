from django.apps import AppConfig


class PortfolioConfig(AppConfig):
    name = "portfolio"
    verbose_name = "Portfolio"

    def ready(self):
        from aifinops.core.history import register_records

        from .models import GateItemState, StageApproval, StageMoveRequest

        # Written on the use case, these events carry the record of a gate item, an approval or a
        # move request: its history reads their fields and choices by their labels.
        register_records(
            {"gate_item": GateItemState, "stage_approval": StageApproval, "stage_move": StageMoveRequest}
        )
