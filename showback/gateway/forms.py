from django import forms

from aifinops.core.widgets import style_fields

from .models import AgentPolicy


class GatewayKeyForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="Where the key is used, e.g. litellm-prod.")
    agent = forms.CharField(
        max_length=100, required=False, help_text="Only this agent id may use it; leave empty for any."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_fields(self.fields, small=True)


class AgentControlsForm(forms.ModelForm):
    spend_cap = forms.DecimalField(
        required=False,
        min_value=0,
        max_digits=18,
        decimal_places=2,
        label="Monthly spend cap",
        help_text="The most the agents may spend in a month; empty for none.",
    )

    class Meta:
        model = AgentPolicy
        fields = [
            "max_steps_per_run",
            "max_tool_calls_per_run",
            "max_tokens_per_run",
            "max_run_seconds",
            "max_calls_per_minute",
            "warn_at_pct",
            "approval_required",
        ]
        labels = {
            "max_steps_per_run": "Model calls per run",
            "max_tool_calls_per_run": "Tool calls per run",
            "max_tokens_per_run": "Tokens per task (run)",
            "max_run_seconds": "Run duration (seconds)",
            "max_calls_per_minute": "Calls per minute",
            "warn_at_pct": "Warn at (% of a cap)",
            "approval_required": "Approval gate: deny until a person approves",
        }

    def __init__(self, *args, use_case=None, **kwargs):
        super().__init__(*args, **kwargs)
        if use_case is not None and not self.is_bound:
            self.initial["spend_cap"] = use_case.agent_spend_cap
        style_fields(self.fields, small=True)


class KillSwitchForm(forms.Form):
    reason = forms.CharField(max_length=250, required=False, help_text="Why the agent is stopped.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_fields(self.fields, small=True)
