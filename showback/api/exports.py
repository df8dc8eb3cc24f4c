"""API for chargeback statements, reconciliation and the FOCUS export."""


def register(router):
    """Add this module's routes to the showback router."""


urlpatterns = []
