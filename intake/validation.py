"""What an intake needs before it can be submitted, in one place.

`submission_problems(values)` reads a plain dict of values (a form's cleaned data, or a saved
intake through `intake_values`), so the form, the API and the submit service refuse the same
things with the same words.
"""

from decimal import Decimal

from portfolio.catalog import is_above_recommendation, recommended_tier
from portfolio.choices import AutonomyLevel, ModelStatus, ModelTier
from portfolio.models import UseCase
from portfolio.tags import tag_keys_for_use_cases, tag_problems

AGENTIC = (AutonomyLevel.SUPERVISED_AGENT, AutonomyLevel.AUTONOMOUS_AGENT)
AGENT_FIELDS = ("tool_permissions", "external_actions", "run_frequency", "requested_spend_cap")

REQUIRED_TO_SUBMIT = {
    "purpose": "Say what the use case is for.",
    "problem": "Describe the problem it solves.",
    "business_owner": "Name the business owner, who answers for its value.",
    "technical_owner": "Name the technical owner, who answers for how it runs.",
    "task_kind": "Choose the kind of task, so that the model choice can be checked.",
    "value_metric": "Name the metric of value, e.g. tickets resolved.",
    "value_per_outcome": "Give the value of one outcome (0 if none yet).",
    "outcomes_per_month": "Give the expected outcomes per month.",
    "expected_monthly_cost": "Give the expected monthly cost, or use the calculator.",
    "success_metric": "Say how success will be measured.",
    "cost_center": "Give the cost center that pays.",
}


def intake_values(intake):
    """The values of a saved intake in the shape of the form's cleaned data."""
    values = {f.name: getattr(intake, f.name) for f in intake._meta.concrete_fields}
    values["business_owner"] = intake.business_owner
    values["technical_owner"] = intake.technical_owner
    values["ai_models"] = list(intake.ai_models.all())
    return values


def submission_problems(values, *, tag_keys=None):
    """{field: [messages]} for everything that keeps these values from being submitted."""
    problems = {}

    def add(field, message):
        problems.setdefault(field, []).append(message)

    for field, message in REQUIRED_TO_SUBMIT.items():
        value = values.get(field)
        if value is None or (isinstance(value, str) and not value.strip()):
            add(field, message)

    if not values.get("expected_users"):
        add("expected_users", "Give the expected number of users (at least 1).")

    models = list(values.get("ai_models") or [])
    unlisted = (values.get("unlisted_model") or "").strip()
    if not models and not unlisted:
        add("ai_models", "Choose at least one model from the catalog, or name an unlisted one.")
    for model in models:
        if model.status == ModelStatus.BLOCKED:
            add("ai_models", f"{model.name} is blocked in the catalog: choose another model.")

    task_kind = values.get("task_kind")
    above = [m for m in models if task_kind and is_above_recommendation(m, task_kind)]
    if above and not (values.get("model_justification") or "").strip():
        needed = ModelTier(recommended_tier(task_kind)).label.lower()
        add(
            "model_justification",
            f"{', '.join(m.name for m in above)} is more than this kind of task needs (a {needed} model "
            "usually suffices): say why it is needed, or choose a smaller model.",
        )

    if values.get("autonomy_level") in AGENTIC:
        autonomous = values.get("autonomy_level") == AutonomyLevel.AUTONOMOUS_AGENT
        if not (values.get("tool_permissions") or "").strip():
            kind = "An autonomous agent" if autonomous else "An agent"
            add("tool_permissions", f"{kind} must list the tools it may use, one per line.")
        if not values.get("run_frequency"):
            add("run_frequency", "Say how often the agent runs.")
        cap = values.get("requested_spend_cap")
        if cap is None and values.get("external_actions"):
            add(
                "requested_spend_cap",
                "An agent that can act outside the company needs a spend cap: no autonomous spending "
                "authority.",
            )
        elif cap is None and autonomous:
            add("requested_spend_cap", "An autonomous agent needs a spend cap.")
        elif cap is not None and cap <= Decimal("0"):
            add("requested_spend_cap", "The spend cap must be more than zero.")

    key = values.get("proposed_key")
    taken = UseCase.objects.filter(key=key).only("name").first() if key else None
    if taken is not None:
        add("proposed_key", f"The key “{key}” is already used by the use case {taken.name}: choose another.")

    tag_keys = tag_keys_for_use_cases() if tag_keys is None else tag_keys
    for key, message in tag_problems(values.get("tags") or {}, tag_keys).items():
        add(f"tag_{key}", message)

    return problems
