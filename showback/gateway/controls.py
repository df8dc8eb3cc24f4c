"""The agent controls a use case starts with: tighter the more autonomy and external impact it has.

An assistive tool or a human-in-the-loop workflow starts with no limits; a supervised agent with run,
rate, context and batch limits and its tools as a scope; an autonomous agent with tighter limits;
and an autonomous agent that acts outside the company (mail, payments, other systems) also with
the approval gate on. Applied when a use case's AgentPolicy is first created
(services.agent_policy_create) and, until then, to the unsaved policy the call path and the page
read, so an agent is never uncontrolled for want of a saved row.
"""

from dataclasses import dataclass, field

from portfolio.choices import AutonomyLevel

from .models import AgentPolicy

SUPERVISED = {
    "max_steps_per_run": 50,
    "max_tool_calls_per_run": 100,
    "max_run_seconds": 1800,
    "max_calls_per_minute": 120,
    "max_input_tokens_per_call": 128_000,
    "max_batch_size": 100,
}
AUTONOMOUS = {
    "max_steps_per_run": 25,
    "max_tool_calls_per_run": 50,
    "max_run_seconds": 900,
    "max_calls_per_minute": 60,
    "max_input_tokens_per_call": 64_000,
    "max_batch_size": 50,
}


@dataclass
class AgentDefaults:
    values: dict = field(default_factory=dict)
    reasons: list = field(default_factory=list)


def tool_list(text: str) -> list[str]:
    """The tool names of a use case's tool permissions (one per line), in order, once each."""
    seen = []
    for line in (text or "").splitlines():
        name = line.strip()
        if name and name not in seen:
            seen.append(name)
    return seen


def agent_defaults(use_case) -> AgentDefaults:
    """The controls a use case's agent starts with, and why, from its autonomy and external actions."""
    autonomous = use_case.autonomy_level == AutonomyLevel.AUTONOMOUS_AGENT
    agentic = use_case.is_agentic
    external = bool(use_case.external_actions)
    level = use_case.get_autonomy_level_display().lower()
    found = AgentDefaults()
    if not agentic:
        found.reasons.append(
            f"No limits and no approval gate by default: the use case is {level}, a person acts on "
            "every answer."
        )
        return found
    found.values.update(AUTONOMOUS if autonomous else SUPERVISED)
    found.reasons.append(
        "Tighter run, rate, context and batch limits because the agent is autonomous."
        if autonomous
        else "Run, rate, context and batch limits because the use case is a supervised agent."
    )
    tools = tool_list(use_case.tool_permissions)
    found.values["tools_restricted"] = True
    found.values["allowed_tools"] = tools
    found.reasons.append(
        "Tools limited to the use case's tool permissions ("
        + (", ".join(tools) if tools else "none listed, so no tool call is allowed")
        + ")."
    )
    if autonomous and external:
        found.values["approval_required"] = True
        found.reasons.append("Approval on because the agent is autonomous and acts externally.")
    elif external:
        found.reasons.append(
            "No approval gate by default: the agent acts externally but a person supervises it."
        )
    return found


def agent_policy_unsaved(use_case) -> AgentPolicy:
    """An unsaved AgentPolicy with the use case's defaults: what applies before one is saved."""
    return AgentPolicy(use_case=use_case, **agent_defaults(use_case).values)
