"""Input of the value record: milestones, value signals, cost lines and backlog items.

The forms only parse what a person typed; the services in portfolio.value.services hold the rules
and say what is wrong in the same words on the page and in the API. The backlog's FilterSet serves
both the portfolio-wide backlog page and the API list.
"""

from django import forms

from aifinops.core.widgets import DateInput, MonthInput, label_empty_choices, style_fields

from ..choices import CostCategory, Level, OptimizationLever, OptimizationStatus, Stage
from ..models import MONEY

CURRENCIES = [("USD", "USD"), ("EUR", "EUR"), ("GBP", "GBP"), ("CHF", "CHF"), ("CAD", "CAD")]
MONTH_FORMATS = ["%Y-%m", "%Y-%m-%d"]
# Effort and risk share their levels; distinct labels keep them two choice sets in the API schema.
EFFORT_CHOICES = [(value, f"{label} effort") for value, label in Level.choices]


def _money_field(label, *, required=True, help_text=""):
    return forms.DecimalField(
        label=label,
        required=required,
        max_digits=MONEY["max_digits"],
        decimal_places=MONEY["decimal_places"],
        help_text=help_text,
        widget=forms.NumberInput(attrs={"min": "0", "step": "0.01"}),
    )


def _rate_field(label):
    return forms.DecimalField(
        label=label,
        required=False,
        max_digits=5,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"min": "0", "max": "100", "step": "0.1"}),
    )


def _plain(amount):
    """300.000000 -> "300", 0.500000 -> "0.5": what a person would type, never 3E+2."""
    return None if amount is None else format(amount.normalize(), "f")


class StyledForm(forms.Form):
    """Bootstrap classes, and each widget described by its help and error block.

    Several of these forms share one page, so each kind has its own id prefix.
    """

    id_prefix = "value"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", f"id_{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)
        style_fields(self.fields, small=True)
        for name, field in self.fields.items():
            if self.auto_id:
                field.widget.attrs.setdefault("aria-describedby", f"{self.auto_id % name}-help")

    def service_values(self):
        """The cleaned values, in the keyword arguments the service takes."""
        return dict(self.cleaned_data)


class MilestoneForm(StyledForm):
    id_prefix = "milestone"
    name = forms.CharField(max_length=150, label="Milestone", help_text="e.g. “Pilot with 50 agents”.")
    target_stage = forms.ChoiceField(choices=Stage.choices, required=False, label="Target stage")
    due_date = forms.DateField(label="Due date", widget=DateInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        label_empty_choices(self.fields, {"target_stage": "No stage move"})

    @classmethod
    def for_milestone(cls, milestone, data=None):
        return cls(
            data,
            initial={
                "name": milestone.name,
                "target_stage": milestone.target_stage,
                "due_date": milestone.due_date,
            },
            auto_id=f"id_milestone{milestone.pk}_%s",
        )


class ValueSignalForm(StyledForm):
    id_prefix = "signal"
    month = forms.DateField(label="Month", input_formats=MONTH_FORMATS, widget=MonthInput)
    outcomes = forms.IntegerField(
        label="Outcomes",
        widget=forms.NumberInput(attrs={"min": "0", "step": "1"}),
        help_text="Measured against the use case's success metric.",
    )
    value_per_outcome = _money_field(
        "Value per outcome", required=False, help_text="Blank: the use case's expected value per outcome."
    )
    quality_score = _rate_field("Quality score (0 to 100)")
    active_users = forms.IntegerField(
        label="Active users", required=False, widget=forms.NumberInput(attrs={"min": "0", "step": "1"})
    )
    human_review_rate = _rate_field("Human review rate (%)")
    acceptance_rate = _rate_field("Acceptance rate (%)")
    note = forms.CharField(max_length=250, required=False, label="Note")


class CostLineForm(StyledForm):
    id_prefix = "cost"
    month = forms.DateField(label="Month", input_formats=MONTH_FORMATS, widget=MonthInput)
    category = forms.ChoiceField(choices=CostCategory.choices, label="Category")
    amount = _money_field("Amount")
    note = forms.CharField(max_length=250, required=False, label="Note")


class OptimizationForm(StyledForm):
    id_prefix = "optimization"
    title = forms.CharField(
        max_length=150, label="Optimization", help_text="e.g. “Route FAQs to a small model”."
    )
    lever = forms.ChoiceField(choices=OptimizationLever.choices, label="Lever")
    expected_monthly_savings = _money_field("Expected savings / month")
    currency = forms.ChoiceField(choices=CURRENCIES, required=False, label="Currency")
    value_impact = forms.CharField(
        max_length=250, required=False, label="Value impact", help_text="What it does to quality or value."
    )
    risk = forms.ChoiceField(choices=Level.choices, initial=Level.LOW, required=False, label="Risk")
    effort = forms.ChoiceField(choices=EFFORT_CHOICES, initial=Level.MEDIUM, required=False, label="Effort")
    owner = forms.ChoiceField(choices=(), required=False, label="Owner")
    status = forms.ChoiceField(
        choices=OptimizationStatus.choices,
        initial=OptimizationStatus.PROPOSED,
        required=False,
        label="Status",
    )
    realised_monthly_savings = _money_field(
        "Realised savings / month", required=False, help_text="Once it is done (0 if none)."
    )

    def __init__(self, *args, people=(), **kwargs):
        super().__init__(*args, **kwargs)
        # The people are read once per page and shared by every backlog form on it.
        self.fields["owner"].choices = [
            (p.get_username(), p.get_full_name() or p.get_username()) for p in people
        ]
        label_empty_choices(self.fields, {"owner": "No owner yet"})

    @classmethod
    def for_item(cls, item, data=None, *, people=()):
        return cls(
            data,
            people=people,
            initial={
                "title": item.title,
                "lever": item.lever,
                "expected_monthly_savings": _plain(item.expected_monthly_savings),
                "currency": item.currency,
                "value_impact": item.value_impact,
                "risk": item.risk,
                "effort": item.effort,
                "owner": item.owner.get_username() if item.owner_id else "",
                "status": item.status,
                "realised_monthly_savings": _plain(item.realised_monthly_savings),
            },
            auto_id=f"id_optimization{item.pk}_%s",
        )

    def service_values(self):
        # Left out, these keep their defaults (or, on an update, their current values).
        return {
            k: v
            for k, v in self.cleaned_data.items()
            if v not in ("", None) or k not in ("currency", "risk", "effort", "status")
        }
