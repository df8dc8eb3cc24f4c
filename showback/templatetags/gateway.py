"""What the gateway adds to pages of other features, which their views do not compute (budgets
do not import the gateway): the gateway section of the use-case page,
`{% use_case_gateway use_case as gateway %}` (a constant number of queries, five or six), and a
hard cap's reconciliation with the ledger on the budget page, `{% cap_reconciliation budget as r %}`."""

from django import template

from ..gateway.caps import cap_reconciliation_get
from ..gateway.forms import AgentControlsForm, GatewayKeyForm, KillSwitchForm
from ..gateway.selectors import agent_policy_get
from ..gateway.selectors import use_case_gateway as gateway_context

register = template.Library()


@register.simple_tag(takes_context=True)
def use_case_gateway(context, use_case):
    data = gateway_context(use_case=use_case, user=context["request"].user)
    if data["can_manage"]:
        data["key_form"] = GatewayKeyForm()
        data["controls_form"] = AgentControlsForm(instance=data["policy"], use_case=use_case)
    if data["can_stop"]:
        data["kill_form"] = KillSwitchForm()
    return data


@register.filter
def pct(value):
    """A share in percent with one decimal, or a dash when there is nothing to share."""
    return "—" if value is None else f"{value:.1f} %"


@register.filter
def ms(value):
    return "—" if value is None else f"{value:,.0f} ms"


@register.simple_tag
def cap_reconciliation(budget):
    """A hard cap's counter against the ledger: the last reconciliation and its last correction."""
    return cap_reconciliation_get(budget) if budget.mode == "hard_cap" and budget.active else None


@register.filter
def active_keys(keys):
    """The keys still in use: what a kill switch stops, or lets call again."""
    return [k for k in keys if k.is_active]


@register.simple_tag
def use_case_agent_policy(use_case):
    """The use case's agent policy (its kill switch, its approval), for a page's header: one query."""
    return agent_policy_get(use_case=use_case)
