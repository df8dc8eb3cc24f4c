"""API for milestones, value signals, cost lines and the optimization backlog."""


def register(router):
    """Add this module's viewsets to the portfolio router."""
