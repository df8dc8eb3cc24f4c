"""Who may see and act on anomalies, forecasts and commitments.

Built only from the predicates and scopes of aifinops.core.permissions, so that the rule stays one
rule; these may move there.
"""

from django.db.models import Q

from aifinops.core import permissions


def anomaly_scope(user) -> Q:
    """Anomalies a user may see: those of the use cases they may see."""
    return permissions.use_case_scope(user, prefix="use_case__")


def can_view_anomaly(user, anomaly) -> bool:
    return permissions.can_view_use_case(user, anomaly.use_case)


def can_triage_anomaly(user, anomaly) -> bool:
    """Acknowledge, explain or resolve: the people who run the workload (its team and owners) and
    finance. The council reads anomalies but does not triage them."""
    use_case = anomaly.use_case
    return (
        permissions.is_use_case_owner(user, use_case)
        or use_case.team_id in permissions.team_ids_of(user)
        or permissions.can_import_spend(user)
    )


def can_view_forecast(user, use_case=None) -> bool:
    """The portfolio forecast covers the spend a user may see; a use case's, that use case."""
    if use_case is None:
        return permissions.can_view_spend(user)
    return permissions.can_view_use_case(user, use_case)


def can_add_assumption(user, use_case=None) -> bool:
    """Finance plans the portfolio and any use case; owners plan their own use case."""
    if permissions.can_import_spend(user):
        return True
    return use_case is not None and permissions.can_manage_use_case(user, use_case)


def can_plan_commitments(user) -> bool:
    """Commitments are bought per provider for the whole company: finance and platform admins."""
    return permissions.can_import_spend(user)


def assumption_scope(user) -> Q:
    """Use-case assumptions that shape the portfolio forecast a user sees: those of the use cases
    of the teams whose spend they see (the spend_scope rule, through the use case)."""
    if permissions.sees_all_teams(user):
        return Q()
    return Q(use_case__team_id__in=permissions.team_ids_of(user))
