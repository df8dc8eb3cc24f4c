"""Input of the council's pages and API: shapes and types only. The rules (quorum, next milestone
only, who may vote) live in council.services, which name the field when they refuse."""

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q

from aifinops.core.widgets import DateInput, style_fields
from portfolio.choices import MilestoneStatus, Stage
from portfolio.gates import rules as gates
from portfolio.models import Milestone
from portfolio.value.forms import CURRENCIES

from .models import VoteChoice


def add_service_errors(form, exc: ValidationError):
    """Put a service's ValidationError on the form, under the field it names where the form has it."""
    problems = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    for field, messages in problems.items():
        for message in messages:
            form.add_error(field if field in form.fields else None, message)


class VoteForm(forms.Form):
    choice = forms.ChoiceField(
        choices=VoteChoice.choices, widget=forms.RadioSelect, label="Your vote", help_text="No proxies."
    )
    comment = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why: the chair and the owners read it.",
    )
    conditions = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="For “approve with conditions”: one condition a line.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_fields(self.fields, small=True)


class DecisionForm(forms.Form):
    outcome = forms.ChoiceField(choices=VoteChoice.choices, label="Decision")
    amount = forms.DecimalField(
        required=False,
        min_value=Decimal("0"),
        max_digits=18,
        decimal_places=2,
        label="Amount approved",
        help_text="For an approval; empty approves the amount asked for.",
    )
    milestone_name = forms.CharField(
        required=False,
        max_length=150,
        label="Milestone funded",
        help_text="Without a funding request: what the money reaches (empty names the next stage).",
    )
    period_start = forms.DateField(
        required=False,
        label="Period from",
        widget=DateInput,
        help_text="Without a funding request: the first day the funding covers (YYYY-MM-DD).",
    )
    period_end = forms.DateField(
        required=False,
        label="Period to",
        widget=DateInput,
        help_text="The last day; empty periods run whole months from the meeting's month.",
    )
    conditions = forms.CharField(
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One a line; each becomes a milestone due by the next meeting. Empty takes the voters'.",
    )
    note = forms.CharField(
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Note",
        help_text="For a rejection, the reasons: the owners or the requester read them.",
    )

    def __init__(self, *args, **kwargs):
        # The chair's card holds the vote form too: its own ids keep each label on its own field.
        kwargs.setdefault("auto_id", "id_decision_%s")
        super().__init__(*args, **kwargs)
        style_fields(self.fields, small=True)


class MeetingCloseForm(forms.Form):
    minutes = forms.CharField(
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Anything the decisions do not say; the decisions are written into the minutes for you.",
    )
    confirm = forms.BooleanField(
        required=False,
        label="Carry the undecided items over and close",
        help_text="Needed when items have no decision, or were deferred: they carry over.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_fields(self.fields, small=True)


class FundingRequestForm(forms.Form):
    """A request for the next milestone only: the stage after the use case's current one."""

    target_stage = forms.ChoiceField(
        choices=Stage.choices,
        required=False,
        label="Next stage",
        help_text="The stage after the current one; empty means that one.",
    )
    milestone = forms.ModelChoiceField(
        queryset=Milestone.objects.none(),
        required=False,
        empty_label="None: the stage itself",
        label="Milestone",
        help_text="The pending milestone this funding reaches, if it has one.",
    )
    amount = forms.DecimalField(
        min_value=Decimal("0.01"), max_digits=18, decimal_places=2, label="Amount asked for"
    )
    currency = forms.ChoiceField(choices=CURRENCIES, required=False, label="Currency")
    period_start = forms.DateField(label="Period from", widget=DateInput, help_text="YYYY-MM-DD")
    period_end = forms.DateField(label="Period to", widget=DateInput, help_text="YYYY-MM-DD")
    expected_outcomes = forms.CharField(
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        label="What the milestone delivers",
        help_text="The outcomes the council can check at the next review.",
    )

    def __init__(self, *args, use_case=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.use_case = use_case
        if use_case is not None:
            next_stage = gates.next_stage(use_case)
            self.fields["milestone"].queryset = Milestone.objects.filter(
                Q(target_stage="") | Q(target_stage=next_stage),
                use_case=use_case,
                status=MilestoneStatus.PENDING,
            ).order_by("due_date", "id")
            self.fields["currency"].initial = use_case.currency
        style_fields(self.fields)

    def service_values(self, *, next_stage):
        data = self.cleaned_data
        return {
            "target_stage": data.get("target_stage") or next_stage or "",
            "milestone": data.get("milestone"),
            "amount": data["amount"],
            "currency": data.get("currency") or (self.use_case.currency if self.use_case else "USD"),
            "period_start": data["period_start"],
            "period_end": data["period_end"],
            "expected_outcomes": data["expected_outcomes"],
        }
