"""Who may see and do what: the one module that pages, the API and selectors all ask.

Predicates take the user first. Visibility rules are also given as Q objects (`*_scope`) so that
selectors filter in the database with the same rule the object predicates apply one at a time.
Roles and team memberships are read once per user object and cached on it, so a page asks the
database a constant number of times however many predicates it calls.

A refusal is written once, beside its predicate: a `Rule` pairs a predicate with the message a
person reads when it does not hold, and `require(user, RULE, *args)` raises PermissionDenied with
it, for views, the API and services alike.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Q

from .roles import Role


@dataclass(frozen=True)
class Rule:
    """A predicate and the refusal a person reads when it does not hold."""

    predicate: Callable[..., bool]
    message: str

    def __call__(self, user, *args, **kwargs) -> bool:
        return self.predicate(user, *args, **kwargs)


def require(user, rule: Rule, *args, **kwargs) -> None:
    """Refuse (PermissionDenied with the rule's message) unless the rule allows `user`."""
    if not rule.predicate(user, *args, **kwargs):
        raise PermissionDenied(rule.message)


# Roles that read across every team: finance shows spend back to everyone, the council reviews
# the whole portfolio, and platform admins run the product.
CROSS_TEAM_ROLES = (
    Role.FINANCE_ANALYST,
    Role.COUNCIL_MEMBER,
    Role.COUNCIL_CHAIR,
    Role.PLATFORM_ADMIN,
)


def roles_of(user) -> frozenset[str]:
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, "_afo_roles", None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))
        if user.is_superuser:
            names.add(Role.PLATFORM_ADMIN)
        cached = frozenset(n for n in names if n in Role.values)
        user._afo_roles = cached
    return cached


def team_ids_of(user) -> frozenset[int]:
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, "_afo_team_ids", None)
    if cached is None:
        cached = frozenset(user.team_memberships.values_list("team_id", flat=True))
        user._afo_team_ids = cached
    return cached


def _team_model():
    """The team model, reached through the user model's memberships (`user.team_memberships`, whose
    `team` is the team): core imports no app, and the queries stay those on the team table."""
    membership = get_user_model()._meta.get_field("team_memberships").related_model
    return membership._meta.get_field("team").related_model


def forget(user):
    """Drop the cached roles and teams, after they change."""
    for attr in ("_afo_roles", "_afo_team_ids"):
        if hasattr(user, attr):
            delattr(user, attr)


def has_role(user, *roles) -> bool:
    return bool(roles_of(user) & set(roles))


def is_platform_admin(user) -> bool:
    return has_role(user, Role.PLATFORM_ADMIN)


CREATE_TEAM = Rule(is_platform_admin, "Only platform admins create teams.")
CHANGE_MEMBERSHIP = Rule(is_platform_admin, "Only platform admins change team membership.")
REGISTER_PAST_CONCEPT = Rule(
    is_platform_admin, "Only platform admins can register a use case past the concept stage."
)
CHANGE_MODEL_CATALOG = Rule(is_platform_admin, "Only platform admins change the model catalog.")
# Administration: people, their roles, teams and the triage rules, on the product's own pages.
ADMINISTER = Rule(is_platform_admin, "Only platform admins open Administration.")
MANAGE_PEOPLE = Rule(is_platform_admin, "Only platform admins invite, deactivate or reactivate people.")
CHANGE_ROLES = Rule(is_platform_admin, "Only platform admins change people's roles.")
CHANGE_TEAM = Rule(is_platform_admin, "Only platform admins rename teams.")


def sees_all_teams(user) -> bool:
    return has_role(user, *CROSS_TEAM_ROLES)


# Visibility as Q objects, for selectors.


def team_scope(user) -> Q:
    if sees_all_teams(user):
        return Q()
    return Q(pk__in=team_ids_of(user))


def use_case_scope(user, prefix="") -> Q:
    if sees_all_teams(user):
        return Q()
    uid = user.pk if getattr(user, "is_authenticated", False) else None
    return (
        Q(**{f"{prefix}team_id__in": team_ids_of(user)})
        | Q(**{f"{prefix}business_owner_id": uid})
        | Q(**{f"{prefix}technical_owner_id": uid})
    )


def spend_scope(user) -> Q:
    """Spend rows a user may see: their teams' spend, or all of it for cross-team roles."""
    if sees_all_teams(user):
        return Q()
    return Q(team_id__in=team_ids_of(user))


# Object predicates.


def can_view_team(user, team) -> bool:
    return sees_all_teams(user) or team.pk in team_ids_of(user)


def can_view_use_case(user, use_case) -> bool:
    if sees_all_teams(user):
        return True
    return use_case.team_id in team_ids_of(user) or user.pk in (
        use_case.business_owner_id,
        use_case.technical_owner_id,
    )


def can_view_audit_log(user) -> bool:
    return has_role(user, Role.PLATFORM_ADMIN, Role.FINANCE_ANALYST)


READ_AUDIT_LOG = Rule(can_view_audit_log, "Only finance and platform admins can read the whole audit log.")


def can_revoke_api_token(user, token) -> bool:
    return token.user_id == user.pk or is_platform_admin(user)


REVOKE_API_TOKEN = Rule(can_revoke_api_token, "Only the token's owner or a platform admin can revoke it.")


def can_view_spend(user) -> bool:
    return getattr(user, "is_authenticated", False)


# Sections of the product, in navigation order, and who may open each.

SECTIONS = {
    "intake": lambda user: getattr(user, "is_authenticated", False),
    "portfolio": lambda user: getattr(user, "is_authenticated", False),
    "dashboard": lambda user: getattr(user, "is_authenticated", False),
    "council": lambda user: has_role(
        user, Role.COUNCIL_MEMBER, Role.COUNCIL_CHAIR, Role.FINANCE_ANALYST, Role.PLATFORM_ADMIN
    ),
    "showback": lambda user: getattr(user, "is_authenticated", False),
    "admin": is_platform_admin,
}


def can_access_section(user, section: str) -> bool:
    return SECTIONS[section](user)


def require_section(user, section: str) -> None:
    if not can_access_section(user, section):
        raise PermissionDenied(f"Your roles do not give access to {section.title()}.")


# Intake.

INTAKE_DECIDERS = (Role.PLATFORM_ADMIN, Role.COUNCIL_CHAIR)


def intake_team_scope(user) -> Q:
    """Teams a user may file an intake for: their own, or any for platform admins."""
    if is_platform_admin(user):
        return Q()
    return Q(pk__in=team_ids_of(user))


def intake_scope(user) -> Q:
    """Intakes a user may see: their own, their teams', ones they own, or all for cross-team roles."""
    if sees_all_teams(user):
        return Q()
    uid = user.pk if getattr(user, "is_authenticated", False) else None
    return (
        Q(requester_id=uid)
        | Q(team_id__in=team_ids_of(user))
        | Q(business_owner_id=uid)
        | Q(technical_owner_id=uid)
    )


def can_create_intake(user, team=None) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    if team is None:
        return is_platform_admin(user) or bool(team_ids_of(user))
    return is_platform_admin(user) or team.pk in team_ids_of(user)


# Without a team: may the user file any intake at all; with one: for that team.
CREATE_INTAKE = Rule(can_create_intake, "You are in no team yet: ask a platform admin to add you to one.")
CREATE_INTAKE_FOR_TEAM = Rule(can_create_intake, "You can file intakes only for your own teams.")


def can_view_intake(user, intake) -> bool:
    if sees_all_teams(user):
        return True
    return intake.team_id in team_ids_of(user) or user.pk in (
        intake.requester_id,
        intake.business_owner_id,
        intake.technical_owner_id,
    )


def can_edit_intake(user, intake) -> bool:
    return intake.status == "draft" and (user.pk == intake.requester_id or is_platform_admin(user))


EDIT_INTAKE = Rule(can_edit_intake, "Only the requester can change an intake, and only while it is a draft.")


def is_requester_or_admin(user, intake) -> bool:
    """Submit or withdraw an intake (the lifecycle then says whether its status allows it)."""
    return user.pk == intake.requester_id or is_platform_admin(user)


SUBMIT_INTAKE = Rule(is_requester_or_admin, "Only the requester can submit this intake.")
WITHDRAW_INTAKE = Rule(
    is_requester_or_admin, "Only the requester or a platform admin can withdraw this intake."
)


def can_withdraw_intake(user, intake) -> bool:
    return intake.status in ("draft", "submitted", "triaged") and (
        user.pk == intake.requester_id or is_platform_admin(user)
    )


def can_decide_intake(user, intake=None) -> bool:
    """Accept or reject a triaged intake that needs review; never one you requested yourself."""
    if not has_role(user, *INTAKE_DECIDERS):
        return False
    return intake is None or (intake.status == "triaged" and intake.requester_id != user.pk)


def can_tune_triage(user) -> bool:
    return is_platform_admin(user)


TUNE_TRIAGE = Rule(can_tune_triage, "Only platform admins change the triage rules.")


# Stage gates and the use-case record.


def is_use_case_owner(user, use_case) -> bool:
    uid = getattr(user, "pk", None)
    return uid is not None and uid in (use_case.business_owner_id, use_case.technical_owner_id)


def can_manage_use_case(user, use_case) -> bool:
    """Keep the use case's record: gate items, guardrails, milestones, value, costs, backlog."""
    return is_use_case_owner(user, use_case) or is_platform_admin(user)


CHANGE_USE_CASE_RECORD = Rule(
    can_manage_use_case,
    "Only the use case's business or technical owner (or a platform admin) can change its record.",
)
# The gate items' wording, which names the owners only.
CHANGE_GATE_RECORD = Rule(
    can_manage_use_case, "Only the use case's business or technical owner can change its record."
)
CHANGE_GUARDRAILS = Rule(
    can_manage_use_case, "Only the use case's business or technical owner can change its guardrails."
)


def can_request_move(user, use_case) -> bool:
    return can_manage_use_case(user, use_case)


REQUEST_MOVE = Rule(can_request_move, "Only the use case's owners can request a stage move.")


def can_approve_stage(user) -> bool:
    """Record the approved funding decision for a milestone (the council chair, until the council
    records its own decisions)."""
    return has_role(user, Role.COUNCIL_CHAIR)


APPROVE_STAGE = Rule(can_approve_stage, "Only the council chair records a stage approval.")


def can_execute_move(user, use_case, *, target_stage, reviewed, council_decision=False) -> bool:
    """Owners execute moves that need no review; the chair executes reviewed ones; platform
    admins may sunset, and the chair too when carrying out a council decision to sunset."""
    if target_stage == "sunset":
        return is_platform_admin(user) or (council_decision and has_role(user, Role.COUNCIL_CHAIR))
    if reviewed:
        return has_role(user, Role.COUNCIL_CHAIR)
    return is_use_case_owner(user, use_case) or has_role(user, Role.COUNCIL_CHAIR)


# Showback.


def can_import_spend(user) -> bool:
    return has_role(user, Role.FINANCE_ANALYST, Role.PLATFORM_ADMIN)


IMPORT_SPEND = Rule(can_import_spend, "Only finance analysts and platform admins import spend.")
# Chargeback statements, reconciliation and the FOCUS export: the finance work on imported spend.
SEE_CHARGEBACK = Rule(can_import_spend, "Only finance analysts and platform admins see this.")


# Exchange rates and the reporting currency: finance keeps them, platform admins run the product;
# everyone who sees spend may read the rates its totals were converted with.
def can_keep_exchange_rates(user) -> bool:
    return has_role(user, Role.FINANCE_ANALYST, Role.PLATFORM_ADMIN)


LOAD_EXCHANGE_RATES = Rule(
    can_keep_exchange_rates, "Only finance analysts and platform admins load exchange rates."
)
SET_REPORTING_CURRENCY = Rule(
    can_keep_exchange_rates, "Only finance analysts and platform admins set the reporting currency."
)


def can_manage_attribution(user) -> bool:
    return has_role(user, Role.FINANCE_ANALYST, Role.PLATFORM_ADMIN)


KEEP_ATTRIBUTION_RULES = Rule(
    can_manage_attribution, "Only finance analysts and platform admins keep the attribution rules."
)


# Internal AI tools and licences.


def subscription_scope(user) -> Q:
    """Tool subscriptions a user may see: their teams', or all for cross-team roles."""
    if sees_all_teams(user):
        return Q()
    return Q(team_id__in=team_ids_of(user))


def can_manage_subscriptions(user, team=None) -> bool:
    """Register tools, change seats, import seat activity: finance and platform admins for every team;
    a use-case owner for their own teams."""
    if has_role(user, Role.FINANCE_ANALYST, Role.PLATFORM_ADMIN):
        return True
    if not has_role(user, Role.USE_CASE_OWNER):
        return False
    return team is None or team.pk in team_ids_of(user)


REGISTER_TOOLS = Rule(
    can_manage_subscriptions, "Only finance, platform admins and use-case owners register tools."
)
MANAGE_TEAM_TOOLS = Rule(
    can_manage_subscriptions, "Only finance, platform admins and the team's use-case owners manage its tools."
)
CHANGE_SUBSCRIPTION = Rule(
    can_manage_subscriptions, "Only finance, platform admins and the team's use-case owners change it."
)


# Budgets.


def can_manage_budgets(user) -> bool:
    """Create and change budgets and team webhooks, read every budget and the delivery log."""
    return has_role(user, Role.FINANCE_ANALYST, Role.PLATFORM_ADMIN)


SET_BUDGETS = Rule(can_manage_budgets, "Only finance analysts and platform admins set budgets.")
CHANGE_BUDGETS = Rule(can_manage_budgets, "Only finance analysts and platform admins change budgets.")
READ_WEBHOOK_LOG = Rule(
    can_manage_budgets, "Only finance analysts and platform admins read the webhook delivery log."
)


def budget_scope(user) -> Q:
    """Budgets a user may see: all for cross-team roles; otherwise the ones they own, their teams'
    budgets, budgets of use cases they may see, and budgets of their teams' business functions."""
    if sees_all_teams(user):
        return Q()
    if not getattr(user, "is_authenticated", False):
        return Q(pk__in=[])
    teams = team_ids_of(user)
    functions = _team_model().objects.filter(pk__in=teams).values("business_function")
    return (
        Q(owner_id=user.pk)
        | Q(team_id__in=teams)
        | (Q(use_case__isnull=False) & use_case_scope(user, prefix="use_case__"))
        | Q(scope="function", function__in=functions)
    )


def _budget_use_case_owner(user, budget) -> bool:
    use_case = budget.use_case if budget.use_case_id else None
    return use_case is not None and is_use_case_owner(user, use_case)


def can_view_budget(user, budget) -> bool:
    if sees_all_teams(user) or user.pk == budget.owner_id:
        return True
    if budget.team_id is not None:
        return budget.team_id in team_ids_of(user)
    if budget.use_case_id is not None:
        return can_view_use_case(user, budget.use_case)
    if budget.scope == "function":
        teams = _team_model().objects.filter(pk__in=team_ids_of(user), business_function=budget.function)
        return teams.exists()
    return False


def can_handle_budget_alert(user, budget) -> bool:
    """Acknowledge or resolve a budget's alerts: its owner, the owners of its use case, finance."""
    return can_manage_budgets(user) or user.pk == budget.owner_id or _budget_use_case_owner(user, budget)


HANDLE_BUDGET_ALERT = Rule(
    can_handle_budget_alert, "Only the budget's owner, the use case's owners or finance handle its alerts."
)


def can_decide_budget_increase(user, budget) -> bool:
    """Approve or reject a request to raise a budget: the budget's owner or finance."""
    return can_manage_budgets(user) or (
        getattr(user, "is_authenticated", False) and user.pk == budget.owner_id
    )


APPROVE_BUDGET_INCREASE = Rule(
    can_decide_budget_increase, "Only the budget's owner or finance approve a budget increase."
)
REJECT_BUDGET_INCREASE = Rule(
    can_decide_budget_increase, "Only the budget's owner or finance reject a budget increase."
)


# Anomalies, forecasts and commitments.


def anomaly_scope(user) -> Q:
    """Anomalies a user may see: those of the use cases they may see."""
    return use_case_scope(user, prefix="use_case__")


def can_triage_anomaly(user, anomaly) -> bool:
    """Acknowledge, explain or resolve: the people who run the workload (its team and owners) and
    finance. The council reads anomalies but does not triage them."""
    use_case = anomaly.use_case
    return (
        is_use_case_owner(user, use_case) or use_case.team_id in team_ids_of(user) or can_import_spend(user)
    )


TRIAGE_ANOMALY = Rule(
    can_triage_anomaly,
    "Only the use case's team, its owners and finance can acknowledge, explain or resolve its anomalies.",
)


def can_view_forecast(user, use_case=None) -> bool:
    """The portfolio forecast covers the spend a user may see; a use case's, that use case."""
    if use_case is None:
        return can_view_spend(user)
    return can_view_use_case(user, use_case)


def can_add_assumption(user, use_case=None) -> bool:
    """Finance plans the portfolio and any use case; owners plan their own use case."""
    if can_import_spend(user):
        return True
    return use_case is not None and can_manage_use_case(user, use_case)


PLAN_FORECAST = Rule(
    can_add_assumption, "Finance plans the portfolio; a use case's owners plan their own use case."
)
PLAN_PORTFOLIO_FORECAST = Rule(
    can_add_assumption, "Only finance analysts and platform admins add portfolio assumptions."
)
REMOVE_ASSUMPTION = Rule(can_add_assumption, "Only the people who may add this assumption may remove it.")


def can_plan_commitments(user) -> bool:
    """Commitments are bought per provider for the whole company: finance and platform admins."""
    return can_import_spend(user)


SEE_COMMITMENTS = Rule(can_plan_commitments, "Only finance analysts and platform admins see commitments.")
RECORD_COMMITMENTS = Rule(
    can_plan_commitments, "Only finance analysts and platform admins record and import commitments."
)


def assumption_scope(user) -> Q:
    """Use-case assumptions that shape the portfolio forecast a user sees: those of the use cases
    of the teams whose spend they see (the spend_scope rule, through the use case)."""
    if sees_all_teams(user):
        return Q()
    return Q(use_case__team_id__in=team_ids_of(user))


# Finance and executive views.


def can_view_portfolio_overview(user) -> bool:
    """The executive narrative and the maturity scorecard speak for the whole company, and name
    every team: cross-team roles only. (The dashboard is open to everyone, scoped to their spend.)"""
    return sees_all_teams(user)


VIEW_PORTFOLIO_OVERVIEW = Rule(
    can_view_portfolio_overview,
    "The narrative and the scorecard cover every team: finance, the council and admins.",
)


def can_view_margins(user) -> bool:
    """Revenue per customer is commercially sensitive: finance analysts and platform admins."""
    return has_role(user, Role.FINANCE_ANALYST, Role.PLATFORM_ADMIN)


SEE_MARGINS = Rule(can_view_margins, "Only finance analysts and platform admins see revenue and margins.")
SEE_REVENUE = Rule(can_view_margins, "Only finance analysts and platform admins see revenue.")


def can_load_revenue(user) -> bool:
    return has_role(user, Role.FINANCE_ANALYST, Role.PLATFORM_ADMIN)


LOAD_REVENUE = Rule(can_load_revenue, "Only finance analysts and platform admins load revenue.")


# The AI Investment Council.


def is_council_chair(user, council) -> bool:
    return getattr(user, "is_authenticated", False) and council.chair_id == user.pk


RECORD_DECISION = Rule(is_council_chair, "Only the council's chair records a decision.")


def can_build_agenda(user, council=None) -> bool:
    """Build (or rebuild) the next agenda: the council's chair or a platform admin."""
    if is_platform_admin(user):
        return True
    if council is None:
        return has_role(user, Role.COUNCIL_CHAIR)
    return is_council_chair(user, council)


SCHEDULE_MEETINGS = Rule(
    can_build_agenda, "Only the council's chair or a platform admin schedules its meetings."
)
BUILD_AGENDA = Rule(can_build_agenda, "Only the council's chair or a platform admin builds its agenda.")


def can_manage_meeting(user, meeting) -> bool:
    """Publish, start and close a meeting: the chair of its council."""
    return is_council_chair(user, meeting.council)


def can_vote(user, meeting, seat) -> bool:
    """Cast one's own vote: an active member of the meeting's council, while it is in session.
    `seat` is the user's CouncilMember row in that council (None if they have none): no proxies,
    so nobody votes through another member's seat."""
    return (
        seat is not None
        and seat.is_active
        and seat.user_id == getattr(user, "pk", None)
        and seat.council_id == meeting.council_id
        and meeting.state == "in_session"
    )


def can_record_decision(user, meeting) -> bool:
    """Record the council's decision on an item: the chair, while the meeting is in session."""
    return is_council_chair(user, meeting.council) and meeting.state == "in_session"


def can_request_funding(user, use_case) -> bool:
    """Ask the council for the next milestone's funding: the use case's owners (or a platform admin)."""
    return can_manage_use_case(user, use_case)


REQUEST_FUNDING = Rule(
    can_request_funding, "Only the use case's business or technical owner can ask the council for funding."
)


def can_set_review_thresholds(user, council) -> bool:
    return is_platform_admin(user) or is_council_chair(user, council)


SET_REVIEW_THRESHOLDS = Rule(
    can_set_review_thresholds, "Only the council's chair or a platform admin sets its review thresholds."
)


# Gateway keys, usage events and agent controls (showback.gateway).


def can_manage_gateway_keys(user, use_case) -> bool:
    """Create and revoke a use case's gateway keys, and set its agents' limits: its owners and
    platform admins."""
    return can_manage_use_case(user, use_case)


CREATE_GATEWAY_KEYS = Rule(
    can_manage_gateway_keys, "Only the use case's owners and platform admins create its gateway keys."
)
REVOKE_GATEWAY_KEYS = Rule(
    can_manage_gateway_keys, "Only the use case's owners and platform admins revoke its gateway keys."
)
SET_AGENT_LIMITS = Rule(
    can_manage_gateway_keys, "Only the use case's owners and platform admins set its agent limits."
)


def can_stop_agent(user, use_case) -> bool:
    """Pull the kill switch or approve an agent held at its approval gate: the owners, platform
    admins, and finance, who answer for the spend."""
    return can_manage_use_case(user, use_case) or has_role(user, Role.FINANCE_ANALYST)


USE_KILL_SWITCH = Rule(
    can_stop_agent, "Only the use case's owners, finance and platform admins use its kill switch."
)
APPROVE_AGENTS = Rule(
    can_stop_agent, "Only the use case's owners, finance and platform admins approve its agents."
)


def can_use_gateway(user, use_case) -> bool:
    """Call the authorization endpoint for a use case with a personal token (a gateway key needs
    no person: it acts for its own use case only)."""
    return can_manage_use_case(user, use_case)


AUTHORIZE_CALLS = Rule(can_use_gateway, "Only the use case's owners and platform admins authorize its calls.")


def can_report_usage(user, use_case) -> bool:
    """Post usage events for a use case with a personal token: its owners, platform admins and
    finance analysts (who load telemetry for gateways without keys of their own)."""
    return can_manage_use_case(user, use_case) or has_role(user, Role.FINANCE_ANALYST)


def can_report_unattributed_usage(user) -> bool:
    """Send telemetry (OpenTelemetry GenAI spans) that no use case claims, kept as spend with no
    use case for the unattributed page: finance analysts and platform admins, who make the
    attribution rules that then claim it. Owners name their use case in the spans instead."""
    return has_role(user, Role.FINANCE_ANALYST, Role.PLATFORM_ADMIN)
