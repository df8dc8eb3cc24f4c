from django import forms

from aifinops.core.widgets import style_fields

from .controls import tool_list
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
    max_output_tokens = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=10_000_000,
        label="Output tokens per call",
        help_text="The use case's per-call output cap: a call asking for more is denied.",
    )
    tools_text = forms.CharField(
        required=False,
        max_length=6400,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Permitted tools (one per line)",
        help_text="With the tool scope on, a call or run step naming another tool is denied.",
    )

    class Meta:
        model = AgentPolicy
        fields = [
            "max_steps_per_run",
            "max_tool_calls_per_run",
            "max_tokens_per_run",
            "max_run_seconds",
            "max_calls_per_minute",
            "max_input_tokens_per_call",
            "max_batch_size",
            "warn_at_pct",
            "tools_restricted",
            "approval_required",
        ]
        labels = {
            "max_steps_per_run": "Model calls per run",
            "max_tool_calls_per_run": "Tool calls per run",
            "max_tokens_per_run": "Tokens per task (run)",
            "max_run_seconds": "Run duration (seconds)",
            "max_calls_per_minute": "Calls per minute",
            "max_input_tokens_per_call": "Input (context) tokens per call",
            "max_batch_size": "Batch size (items per batch call)",
            "tools_restricted": "Tool scope: deny tools outside the list",
            "warn_at_pct": "Warn at (% of a cap)",
            "approval_required": "Approval gate: deny until a person approves",
        }

    def __init__(self, *args, use_case=None, **kwargs):
        # Its own ids: the use-case page also holds the guardrails form, with a max_output_tokens.
        kwargs.setdefault("auto_id", "agent_%s")
        super().__init__(*args, **kwargs)
        if use_case is not None and not self.is_bound:
            self.initial["spend_cap"] = use_case.agent_spend_cap
            self.initial["max_output_tokens"] = use_case.max_output_tokens
            self.initial["tools_text"] = "\n".join(self.instance.allowed_tools or [])
        style_fields(self.fields, small=True)

    def clean_tools_text(self):
        tools = tool_list(self.cleaned_data.get("tools_text", ""))
        if len(tools) > 64:
            raise forms.ValidationError("At most 64 tools.")
        for name in tools:
            if len(name) > 100:
                raise forms.ValidationError(f"“{name[:40]}…”: a tool name has at most 100 characters.")
            if any(0xD800 <= ord(ch) <= 0xDFFF for ch in name):
                raise forms.ValidationError("Remove the broken unicode from the tool names.")
        return tools

    def service_values(self) -> dict:
        """What agent_policy_update takes: the limits, the spend cap and the output-token cap."""
        data = dict(self.cleaned_data)
        data["allowed_tools"] = data.pop("tools_text")
        return data


class KillSwitchForm(forms.Form):
    reason = forms.CharField(max_length=250, required=False, help_text="Why the agent is stopped.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_fields(self.fields, small=True)
