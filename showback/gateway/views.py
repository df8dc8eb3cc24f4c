"""The gateway's forms on the use-case page: keys, agent limits, the kill switch and approvals.

Each is a POST that calls one service and returns to the page (a new key is shown once, on a page
of its own). The page's section itself is rendered by the `use_case_gateway` template tag.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from aifinops.core import permissions
from portfolio import selectors as portfolio_selectors

from . import services
from .forms import AgentControlsForm, GatewayKeyForm, KillSwitchForm
from .models import GatewayKey
from .selectors import agent_policy_get


def _back(use_case, anchor="h-gateway"):
    return redirect(f"{use_case.get_tab_url('agents')}#{anchor}")


def _errors(request, error):
    if isinstance(error, ValidationError):
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.error(request, str(error))


def _form_errors(request, form):
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        for error in errors:
            messages.error(request, f"{label}: {error}" if label else error)


@require_POST
def gateway_key_create(request, key):
    use_case = portfolio_selectors.use_case_get(user=request.user, key=key)
    permissions.require(request.user, permissions.CREATE_GATEWAY_KEYS, use_case)
    form = GatewayKeyForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _back(use_case, "h-gateway-keys")
    try:
        gateway_key, raw = services.gateway_key_create(
            use_case=use_case,
            actor=request.user,
            name=form.cleaned_data["name"],
            agent=form.cleaned_data["agent"],
        )
    except ValidationError as error:
        _errors(request, error)
        return _back(use_case, "h-gateway-keys")
    # Shown once, on this response only: the key is not stored, only its hash.
    response = render(
        request,
        "showback/gateway/key_created.html",
        {"use_case": use_case, "gateway_key": gateway_key, "raw": raw},
    )
    response["Cache-Control"] = "no-store"
    return response


@require_POST
def gateway_key_revoke(request, key, pk):
    use_case = portfolio_selectors.use_case_get(user=request.user, key=key)
    gateway_key = get_object_or_404(GatewayKey, pk=pk, use_case=use_case)
    services.gateway_key_revoke(key=gateway_key, actor=request.user)
    messages.success(request, f"Key “{gateway_key.name}” revoked: calls with it are refused from now on.")
    return _back(use_case, "h-gateway-keys")


@require_POST
def agent_controls_update(request, key):
    use_case = portfolio_selectors.use_case_get(user=request.user, key=key)
    permissions.require(request.user, permissions.SET_AGENT_LIMITS, use_case)
    form = AgentControlsForm(request.POST, instance=agent_policy_get(use_case=use_case), use_case=use_case)
    if not form.is_valid():
        _form_errors(request, form)
        return _back(use_case, "h-agent")
    data = form.service_values()
    try:
        services.agent_policy_update(
            use_case=use_case, actor=request.user, spend_cap=data.pop("spend_cap"), **data
        )
    except ValidationError as error:
        _errors(request, error)
        return _back(use_case, "h-agent")
    messages.success(request, "Agent limits saved: they apply from the next authorization.")
    return _back(use_case, "h-agent")


@require_POST
def agent_kill_switch(request, key, action):
    use_case = portfolio_selectors.use_case_get(user=request.user, key=key)
    form = KillSwitchForm(request.POST)
    form.is_valid()
    try:
        services.agent_kill_switch_set(
            use_case=use_case,
            actor=request.user,
            on=action == "on",
            reason=form.cleaned_data.get("reason", ""),
            confirm=request.POST.get("confirm") == "yes",
        )
    except ValidationError as error:
        _errors(request, error)
        return _back(use_case, "h-agent")
    if action == "on":
        messages.warning(request, "Kill switch on: every authorization of this use case is now denied.")
    else:
        messages.success(request, "Kill switch off: authorizations follow the limits and budgets again.")
    return _back(use_case, "h-agent")


@require_POST
def agent_approve(request, key):
    use_case = portfolio_selectors.use_case_get(user=request.user, key=key)
    try:
        services.agent_approve(use_case=use_case, actor=request.user)
    except ValidationError as error:
        _errors(request, error)
        return _back(use_case, "h-agent")
    messages.success(request, "Agent approved: its calls are authorized again.")
    return _back(use_case, "h-agent")


urlpatterns = [
    path("use-cases/<slug:key>/gateway-keys/", gateway_key_create, name="gateway_key_create"),
    path("use-cases/<slug:key>/gateway-keys/<int:pk>/revoke/", gateway_key_revoke, name="gateway_key_revoke"),
    path("use-cases/<slug:key>/agent/", agent_controls_update, name="agent_controls_update"),
    path(
        "use-cases/<slug:key>/agent/kill-switch/on/",
        agent_kill_switch,
        {"action": "on"},
        name="agent_kill_switch_on",
    ),
    path(
        "use-cases/<slug:key>/agent/kill-switch/off/",
        agent_kill_switch,
        {"action": "off"},
        name="agent_kill_switch_off",
    ),
    path("use-cases/<slug:key>/agent/approve/", agent_approve, name="agent_approve"),
]
