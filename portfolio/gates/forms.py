from django import forms

from aifinops.core.widgets import DateInput, label_empty_choices, style_fields

from ..models import UseCase


class GuardrailsForm(forms.ModelForm):
    class Meta:
        model = UseCase
        fields = [
            "token_budget_monthly",
            "max_output_tokens",
            "anomaly_threshold_pct",
            "routing_policy",
            "prompt_caching",
            "budget_threshold",
        ]
        labels = {
            "token_budget_monthly": "Monthly token budget",
            "max_output_tokens": "Max output tokens per call",
            "anomaly_threshold_pct": "Anomaly threshold (% above the recent daily average)",
            "routing_policy": "Model routing policy",
            "prompt_caching": "Prompt caching",
            "budget_threshold": "Monthly budget threshold",
        }
        widgets = {"routing_policy": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_fields(self.fields, small=True)
        label_empty_choices(self.fields, {"prompt_caching": "Not stated yet"})


class AttestForm(forms.Form):
    # Not required here: the service refuses blank evidence with a message that names it.
    evidence = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control form-control-sm"}),
        help_text="A link or a note that shows it is done.",
    )
    on = forms.DateField(
        required=False,
        widget=DateInput(attrs={"class": "form-control form-control-sm"}),
    )


class NotApplicableForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control form-control-sm"})
    )
