"""Input of the internal AI tools register; the rules live in portfolio.licenses.services."""

from django import forms

from aifinops.core.widgets import DateInput, style_fields

from ..models import BillingCycle, Team, UseCase
from ..value.forms import CURRENCIES


class SubscriptionForm(forms.Form):
    vendor = forms.CharField(max_length=100, help_text="e.g. GitHub, OpenAI, Anthropic.")
    product = forms.CharField(max_length=150, help_text="e.g. Copilot Business, ChatGPT Enterprise seats.")
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(), to_field_name="slug", empty_label="Choose a team…"
    )
    use_case = forms.ModelChoiceField(
        queryset=UseCase.objects.none(),
        to_field_name="key",
        required=False,
        empty_label="No use case",
        help_text="Unused seats become savings proposals in its backlog.",
    )
    seats = forms.IntegerField(min_value=1)
    price_per_seat = forms.DecimalField(
        min_value=0, max_digits=18, decimal_places=6, help_text="Per billing cycle."
    )
    billing_cycle = forms.ChoiceField(choices=BillingCycle.choices)
    currency = forms.ChoiceField(choices=CURRENCIES)
    renewal_date = forms.DateField(widget=DateInput)
    auto_renews = forms.BooleanField(required=False, initial=True)
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, teams, use_cases, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams
        self.fields["use_case"].queryset = use_cases
        style_fields(self.fields)

    @classmethod
    def for_subscription(cls, subscription, **kwargs):
        initial = {
            name: getattr(subscription, name)
            for name in ("vendor", "product", "seats", "price_per_seat", "billing_cycle", "currency")
        }
        initial |= {
            "team": subscription.team.slug,
            "use_case": subscription.use_case.key if subscription.use_case else None,
            "renewal_date": subscription.renewal_date,
            "auto_renews": subscription.auto_renews,
            "notes": subscription.notes,
        }
        return cls(initial=initial, **kwargs)


class SeatActivityForm(forms.Form):
    file = forms.FileField(
        label="Seat activity (CSV)",
        help_text="The vendor's seat export: a user (or email) column and a last-active date column.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_fields(self.fields)
