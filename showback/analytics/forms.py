"""Input of anomalies' triage and of forecast assumptions.

The forms only parse what a person typed; showback.analytics.services holds the rules and says what
is wrong in the same words on the page and in the API.
"""

from django import forms

from aifinops.core.widgets import DateInput, label_empty_choices, style_fields
from portfolio.models import AIModel

from ..models import AssumptionKind
from .forecasting import MAX_HORIZON, MIN_HORIZON

NOTE_MAX = 2000


class AnomalyNoteForm(forms.Form):
    note = forms.CharField(
        required=False,
        max_length=NOTE_MAX,
        strip=True,
        widget=forms.TextInput(attrs={"placeholder": "What happened, or what you are doing about it"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_fields(self.fields, small=True)


def _model_field(label, help_text):
    return forms.ModelChoiceField(
        queryset=AIModel.objects.select_related("provider").order_by("provider__name", "name"),
        to_field_name="ref",
        required=False,
        label=label,
        help_text=help_text,
        error_messages={
            "invalid_choice": "No such model in the catalog: use provider/key, e.g. openai/gpt-4.1."
        },
    )


class ForecastAssumptionForm(forms.Form):
    kind = forms.ChoiceField(choices=AssumptionKind.choices, label="Assumption")
    effective_from = forms.DateField(label="From", widget=DateInput)
    growth_pct = forms.DecimalField(
        label="Percent",
        required=False,
        max_digits=7,
        decimal_places=2,
        help_text="Growth: % a month. Launch: the step-up in % (empty: up to the expected monthly cost).",
    )
    from_model = _model_field("Replaced model", "Model switch: empty means all of the use case's models.")
    target_model = _model_field("New model", "Model switch: the model it moves to.")
    note = forms.CharField(required=False, max_length=NOTE_MAX, label="Why (note)")

    def __init__(self, *args, portfolio=False, **kwargs):
        super().__init__(*args, **kwargs)
        if portfolio:
            # A launch is a use case's: it is planned on that use case's forecast.
            self.fields["kind"].choices = [
                c for c in AssumptionKind.choices if c[0] != AssumptionKind.LAUNCH_DATE
            ]
            self.fields["kind"].help_text = "Plan a launch on the use case's own forecast."
            self.fields["from_model"].help_text = "Model switch: the model that is replaced."
        style_fields(self.fields, small=True)
        label_empty_choices(
            self.fields,
            {
                "from_model": "Choose a model…" if portfolio else "All of its models",
                "target_model": "Choose a model…",
            },
        )

    def service_values(self):
        return {name: self.cleaned_data.get(name) for name in self.fields}


class ForecastQueryForm(forms.Form):
    months = forms.TypedChoiceField(
        choices=[(n, f"{n} months") for n in range(MIN_HORIZON, MAX_HORIZON + 1)],
        coerce=int,
        required=False,
        empty_value=MAX_HORIZON,
        label="Horizon",
        error_messages={
            "invalid_choice": (
                f"Months: forecast {MIN_HORIZON} to {MAX_HORIZON} months ahead; showing {MAX_HORIZON}."
            )
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_fields(self.fields, small=True)

    def horizon(self):
        """(months, error message or None): a bad value falls back to 12 with a message."""
        if self.is_valid():
            return self.cleaned_data["months"], None
        return MAX_HORIZON, " ".join(self.errors["months"])
