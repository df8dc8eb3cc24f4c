"""Input of budgets, alert notes, increase decisions and team webhooks.

The forms parse what a person (or an API client) sent; showback.budgets.services holds the rules
and names the field that is wrong, in the same words on the page and in the API.
"""

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from aifinops.core.widgets import label_empty_choices, style_fields
from portfolio.choices import BusinessFunction
from portfolio.models import AIModel, Provider, Team, UseCase

from ..currencies import ISO_4217
from ..models import BudgetMode, BudgetPeriod, BudgetScope

# A budget may be in any currency: the spend counted against it is converted day by day.
BUDGET_CURRENCIES = [(code, code) for code in sorted(ISO_4217)]


def add_service_errors(form, exc: ValidationError):
    """Put a service's ValidationError on the form, under the field it names where the form has it."""
    problems = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    for field, messages in problems.items():
        for message in messages:
            form.add_error(field if field in form.fields else None, message)


class BudgetForm(forms.Form):
    name = forms.CharField(max_length=150)
    scope = forms.ChoiceField(choices=BudgetScope.choices)
    function = forms.ChoiceField(choices=BusinessFunction.choices, required=False, label="Business function")
    team = forms.ModelChoiceField(
        queryset=Team.objects.order_by("name"),
        to_field_name="slug",
        required=False,
        help_text="For team budgets (the API takes its slug).",
    )
    use_case = forms.ModelChoiceField(
        queryset=UseCase.objects.order_by("name"),
        to_field_name="key",
        required=False,
        label="Use case or agent",
        help_text="For use-case and agent budgets (the API takes its key).",
    )
    provider = forms.ModelChoiceField(
        queryset=Provider.objects.order_by("name"),
        to_field_name="slug",
        required=False,
        help_text="For provider budgets (the API takes its slug).",
    )
    model = forms.ModelChoiceField(
        queryset=AIModel.objects.select_related("provider").order_by("provider__name", "name"),
        to_field_name="ref",
        required=False,
        help_text="For model budgets (the API takes provider/key, e.g. openai/gpt-4.1).",
    )
    customer = forms.CharField(
        max_length=150,
        required=False,
        label="End customer",
        help_text="For customer budgets: the customer id spend and gateway calls name.",
    )
    tag_key = forms.CharField(max_length=100, required=False, help_text="For tag budgets: the tag key.")
    tag_value = forms.CharField(
        max_length=200, required=False, help_text="For tag budgets: the tag value the calls carry."
    )
    period = forms.ChoiceField(choices=BudgetPeriod.choices, initial=BudgetPeriod.MONTHLY)
    amount = forms.DecimalField(
        max_digits=18,
        decimal_places=2,
        min_value=0.01,
        widget=forms.NumberInput(attrs={"min": "0.01", "step": "0.01"}),
        help_text="Per period.",
    )
    currency = forms.ChoiceField(
        choices=BUDGET_CURRENCIES,
        initial="USD",
        help_text="Any ISO 4217 currency: spend in others counts at each day's rate into it.",
    )
    mode = forms.ChoiceField(choices=BudgetMode.choices, initial=BudgetMode.ALERT)
    thresholds = forms.CharField(
        max_length=100,
        required=False,
        initial="50, 80, 100",
        help_text="Percentages of the amount that raise an alert, e.g. 50, 80, 100.",
    )
    approval_above_pct = forms.IntegerField(
        min_value=1,
        max_value=1000,
        initial=100,
        required=False,
        label="Approval needed above (%)",
        help_text="Approval mode: crossing this percentage opens a budget increase request.",
    )
    owner = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
        to_field_name="username",
        required=False,
        help_text="Who answers for the budget (a username in the API); you, if left empty.",
    )
    active = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_fields(self.fields, small=True)
        # Each scope names one of these; the others stay empty.
        label_empty_choices(
            self.fields,
            {
                "function": "No business function",
                "team": "No team",
                "use_case": "No use case",
                "provider": "No provider",
                "model": "No model",
                # A new budget is the author's; an edit left empty keeps its owner.
                "owner": "Keep the current owner" if self.initial.get("owner") else "You",
            },
        )

    @classmethod
    def initial_of(cls, budget):
        return {
            "name": budget.name,
            "scope": budget.scope,
            "function": budget.function,
            "team": budget.team.slug if budget.team_id else "",
            "use_case": budget.use_case.key if budget.use_case_id else "",
            "provider": budget.provider.slug if budget.provider_id else "",
            "model": budget.model.ref if budget.model_id else "",
            "customer": budget.customer,
            "tag_key": budget.tag_key,
            "tag_value": budget.tag_value,
            "period": budget.period,
            "amount": budget.amount,
            "currency": budget.currency,
            "mode": budget.mode,
            "thresholds": ", ".join(str(t) for t in budget.thresholds),
            "approval_above_pct": budget.approval_above_pct,
            "owner": budget.owner.get_username(),
            "active": budget.active,
        }

    @classmethod
    def for_budget(cls, budget, data=None):
        initial = cls.initial_of(budget)
        return cls(data, initial=initial) if data is not None else cls(initial=initial)

    def service_values(self):
        values = dict(self.cleaned_data)
        if values.get("approval_above_pct") is None:
            values["approval_above_pct"] = 100
        if values.get("owner") is None:
            values.pop("owner")
        return values


class AlertNoteForm(forms.Form):
    note = forms.CharField(max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_fields(self.fields, small=True)


class IncreaseDecisionForm(forms.Form):
    amount = forms.DecimalField(
        max_digits=18,
        decimal_places=2,
        min_value=0.01,
        required=False,
        help_text="Approve: the new budget amount; empty approves the amount requested.",
    )
    note = forms.CharField(max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_fields(self.fields, small=True)


class TeamWebhookForm(forms.Form):
    team = forms.ModelChoiceField(queryset=Team.objects.order_by("name"), to_field_name="slug")
    url = forms.URLField(
        max_length=500,
        assume_scheme="https",
        label="Webhook URL",
        help_text='A Slack-compatible incoming webhook: it receives {"text": ...} as JSON.',
    )
    secret = forms.CharField(
        max_length=200,
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Optional: signs each POST (X-Aifinops-Signature: sha256=HMAC of the body).",
    )
    active = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_fields(self.fields, small=True)
        label_empty_choices(self.fields, {"team": "Choose a team…"})
