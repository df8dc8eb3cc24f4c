"""The main pages of the product, as the page sweeps open them.

`PERSONAS` are the demo logins, one per role (aifinops.core.demo.ROLE_LOGINS); `main_pages()` lists
every list and landing page the navigation leads to and one detail page of each kind, on the first
demo object of that kind.
"""

from django.urls import NoReverseMatch, reverse

PERSONAS = ("requester", "owner", "council", "chair", "finance", "admin")

# The main pages: every list and landing page a navigation entry leads to, by URL name.
MAIN_PAGES = (
    "home",
    "intake:index",
    "intake:create",
    "portfolio:use_case_list",
    "portfolio:team_list",
    "portfolio:model_catalog",
    "portfolio:optimization_backlog",
    "portfolio:subscription_list",
    "council:index",
    "council:meeting_list",
    "council:my_items",
    "showback:index",
    "showback:import_list",
    "showback:rule_list",
    "showback:unattributed",
    "showback:budget_list",
    "showback:reconciliation",
    "showback:chargeback",
    "showback:margins",
    "analytics:anomaly_list",
    "analytics:forecast_portfolio",
    "dashboard:index",
    "dashboard:narrative",
    "dashboard:maturity",
    "core:profile",
    "core:notification_list",
    "core:audit_log",
    "showback:commitment_list",
    "showback:exchange_rate_list",
    "admin_area:index",
    "admin_area:person_list",
    "admin_area:person_invite",
    "admin_area:role_list",
    "admin_area:team_list",
    "admin_area:triage_rule_list",
)


def _detail_pages():
    """One detail page of each kind, on the first demo object of that kind."""
    from django.contrib.auth import get_user_model

    from council.models import AgendaItem, Meeting
    from intake.models import IntakeRequest, TriageRule
    from portfolio.models import AIModel, Team, UseCase
    from showback.models import Budget, Commitment, ImportBatch

    pages = []
    first = {
        "portfolio:use_case_detail": (UseCase, "key"),
        "portfolio:team_detail": (Team, "slug"),
        "intake:detail": (IntakeRequest, "pk"),
        "showback:budget_detail": (Budget, "pk"),
        "showback:import_detail": (ImportBatch, "pk"),
        "council:meeting_detail": (Meeting, "pk"),
        "council:item_detail": (AgendaItem, "pk"),
        "portfolio:model_detail": (AIModel, "pk"),
        "showback:commitment_detail": (Commitment, "pk"),
        "admin_area:person_detail": (get_user_model(), "pk"),
        "admin_area:team_detail": (Team, "slug"),
        "admin_area:triage_rule_edit": (TriageRule, "code"),
    }
    for name, (model, field) in first.items():
        obj = model.objects.order_by("pk").first()
        if obj is None:
            continue
        try:
            pages.append(reverse(name, args=[getattr(obj, field)]))
        except NoReverseMatch:
            continue
    return pages


def main_pages():
    """The paths of the main pages and of one detail page of each kind."""
    return [reverse(name) for name in MAIN_PAGES] + _detail_pages() + ["/search/?q=support"]
