"""The agent controls in the call path: per-call output and context tokens, the tool scope, the
batch size, and the defaults that tighten with autonomy and external impact."""

import pytest
from django.urls import reverse

from aifinops.core.models import AuditEvent
from showback.gateway import services
from showback.gateway.controls import agent_defaults
from showback.models import AgentPolicy

from .gateway_helpers import AgentPolicyFactory, bearer

pytestmark = pytest.mark.django_db

URL = "/api/v1/authorize/"


def ask(key, **body):
    body.setdefault("model", "openai/gpt-mini")
    return bearer(key.raw).post(URL, body, format="json").json()


def make(use_case, **fields):
    for name, value in fields.items():
        setattr(use_case, name, value)
    use_case.save()
    return use_case


# Each control denies with its reason and allows within it.


def test_the_use_cases_output_token_cap_denies_a_call_asking_for_more(cast, gateway_key, redis_clean):
    make(cast.use_case_a, max_output_tokens=1000)

    within = ask(gateway_key, output_tokens=1000)
    over = ask(gateway_key, output_tokens=1001)

    assert within["decision"] == "allow"
    assert (over["decision"], over["reason"]) == ("deny", "output_token_limit")
    assert "at most 1,000" in over["message"]
    assert over["limits"]["max_output_tokens_per_call"] == 1000


def test_the_context_limit_denies_a_call_sending_more_input_tokens(cast, gateway_key, redis_clean):
    AgentPolicyFactory(use_case=cast.use_case_a, max_input_tokens_per_call=8000)

    assert ask(gateway_key, input_tokens=8000)["decision"] == "allow"
    over = ask(gateway_key, input_tokens=8001)

    assert (over["decision"], over["reason"]) == ("deny", "context_token_limit")


def test_a_call_naming_a_tool_outside_the_scope_is_denied(cast, gateway_key, redis_clean):
    AgentPolicyFactory(
        use_case=cast.use_case_a, tools_restricted=True, allowed_tools=["search_kb", "read_ticket"]
    )

    within = ask(gateway_key, tools=["search_kb"], run_id="run-1")
    outside = ask(gateway_key, tools=["search_kb", "send_email"], run_id="run-1")
    no_tools = ask(gateway_key)

    assert within["decision"] == "allow"
    assert (outside["decision"], outside["reason"]) == ("deny", "tool_not_permitted")
    assert "send_email" in outside["message"]
    assert no_tools["decision"] == "allow"
    assert outside["limits"]["tools"] == ["search_kb", "read_ticket"]


def test_without_a_tool_scope_any_tool_passes(cast, gateway_key, redis_clean):
    AgentPolicyFactory(use_case=cast.use_case_a, tools_restricted=False, allowed_tools=["search_kb"])

    assert ask(gateway_key, tools=["send_email"])["decision"] == "allow"


def test_a_restricted_scope_with_no_tools_denies_every_tool(cast, gateway_key, redis_clean):
    AgentPolicyFactory(use_case=cast.use_case_a, tools_restricted=True, allowed_tools=[])

    assert ask(gateway_key, tools=["search_kb"])["reason"] == "tool_not_permitted"
    assert ask(gateway_key)["decision"] == "allow"


def test_the_batch_size_limit_denies_a_larger_batch(cast, gateway_key, redis_clean):
    AgentPolicyFactory(use_case=cast.use_case_a, max_batch_size=100)

    assert ask(gateway_key, batch_size=100)["decision"] == "allow"
    over = ask(gateway_key, batch_size=101)

    assert (over["decision"], over["reason"]) == ("deny", "batch_size_limit")


def test_a_denial_by_an_agent_control_reaches_the_log(cast, gateway_key, redis_clean):
    from showback.models import AuthorizationDecision

    AgentPolicyFactory(use_case=cast.use_case_a, max_batch_size=10)
    ask(gateway_key, batch_size=11)

    services.gateway_flush()

    assert AuthorizationDecision.objects.get(use_case=cast.use_case_a).reason == "batch_size_limit"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"tools": "send_email"}, "tools"),
        ({"tools": [1]}, "tools"),
        ({"tools": ["x" * 101]}, "tools"),
        ({"tools": ["ok", "bad\u0000"]}, "tools"),
        ({"tools": [f"t{i}" for i in range(65)]}, "tools"),
        ({"batch_size": -1}, "batch_size"),
        ({"batch_size": "10"}, "batch_size"),
        ({"batch_size": True}, "batch_size"),
    ],
)
def test_bad_tools_or_batch_size_are_400_naming_the_field(cast, gateway_key, redis_clean, body, field):
    response = bearer(gateway_key.raw).post(URL, {"model": "openai/gpt-mini", **body}, format="json")

    assert response.status_code == 400
    assert any(name.startswith(field) for name in response.json()["error"]["fields"])


# Defaults by autonomy and external impact.


def test_an_assistive_tool_starts_without_limits_nor_approval(cast, gateway_key, redis_clean):
    make(cast.use_case_a, autonomy_level="assistive", external_actions=True)

    policy = services.agent_policy_create(use_case=cast.use_case_a, actor=cast.owner)

    assert policy.approval_required is False
    assert (policy.max_steps_per_run, policy.max_calls_per_minute, policy.tools_restricted) == (
        None,
        None,
        False,
    )
    assert ask(gateway_key, tools=["anything"], batch_size=10_000)["decision"] == "allow"


def test_an_autonomous_agent_that_acts_externally_starts_with_limits_and_approval_on(
    cast, gateway_key, redis_clean, django_capture_on_commit_callbacks
):
    make(
        cast.use_case_a,
        autonomy_level="autonomous_agent",
        external_actions=True,
        tool_permissions="search_kb\nsend_email\n",
    )

    # Before any policy is saved, the call path already applies the defaults.
    assert ask(gateway_key)["reason"] == "approval_required"
    policy = services.agent_policy_create(use_case=cast.use_case_a, actor=cast.owner)

    assert policy.approval_required is True and policy.approved is False
    assert policy.max_steps_per_run == 25 and policy.max_calls_per_minute == 60
    assert (policy.tools_restricted, policy.allowed_tools) == (True, ["search_kb", "send_email"])
    created = AuditEvent.objects.get(action="agent_policy.create")
    assert (
        "Approval on because the agent is autonomous and acts externally."
        in created.after["defaults_because"]
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.agent_approve(use_case=cast.use_case_a, actor=cast.owner)
    assert ask(gateway_key, tools=["send_email"])["decision"] == "allow"
    assert ask(gateway_key, tools=["delete_repo"])["reason"] == "tool_not_permitted"


def test_a_supervised_agent_starts_with_looser_limits_and_no_approval(cast):
    make(cast.use_case_a, autonomy_level="supervised_agent", external_actions=True)

    defaults = agent_defaults(cast.use_case_a)

    assert defaults.values["max_steps_per_run"] == 50
    assert "approval_required" not in defaults.values
    assert any("a person supervises it" in reason for reason in defaults.reasons)


def test_an_existing_policy_is_not_reset_to_the_defaults(cast):
    AgentPolicyFactory(use_case=cast.use_case_a, max_steps_per_run=7)
    make(cast.use_case_a, autonomy_level="autonomous_agent", external_actions=True)

    policy = services.agent_policy_create(use_case=cast.use_case_a, actor=cast.owner)

    assert (policy.max_steps_per_run, policy.approval_required) == (7, False)
    assert not AuditEvent.objects.filter(action="agent_policy.create").exists()


# The use-case page.


def test_the_page_shows_the_defaults_and_why(login, cast):
    make(
        cast.use_case_a,
        autonomy_level="autonomous_agent",
        external_actions=True,
        tool_permissions="search_kb",
    )

    body = (
        login(cast.owner)
        .get(reverse("portfolio:use_case_tab_agents", args=[cast.use_case_a.key]))
        .content.decode()
    )

    assert "Approval on because the agent is autonomous and acts externally." in body
    assert "Waiting for approval" in body
    assert "search_kb" in body


def test_the_page_says_an_assistive_tool_has_no_limits_by_default(login, cast):
    body = (
        login(cast.owner)
        .get(reverse("portfolio:use_case_tab_agents", args=[cast.use_case_a.key]))
        .content.decode()
    )

    assert "No limits and no approval gate by default" in body


def test_the_owner_sets_the_new_controls_on_the_page(login, cast, gateway_key, redis_clean):
    response = login(cast.owner).post(
        reverse("showback:agent_controls_update", args=[cast.use_case_a.key]),
        {"warn_at_pct": "80", "max_output_tokens": "500", "max_input_tokens_per_call": "4000",
         "max_batch_size": "20", "tools_restricted": "on", "tools_text": "search_kb\nread_ticket\nsearch_kb"},
    )  # fmt: skip

    assert response.status_code == 302
    policy = AgentPolicy.objects.get(use_case=cast.use_case_a)
    assert (policy.max_input_tokens_per_call, policy.max_batch_size) == (4000, 20)
    assert (policy.tools_restricted, policy.allowed_tools) == (True, ["search_kb", "read_ticket"])
    cast.use_case_a.refresh_from_db()
    assert cast.use_case_a.max_output_tokens == 500
    update = AuditEvent.objects.get(action="agent_policy.update")
    assert update.after["max_output_tokens"] == 500
    assert ask(gateway_key, output_tokens=501)["reason"] == "output_token_limit"
    assert ask(gateway_key, tools=["write_db"])["reason"] == "tool_not_permitted"
