"""Administration's forms: input validation only; the services decide and write."""

from decimal import Decimal

from django import forms
from django.core.validators import MinValueValidator

from aifinops.core.roles import ROLE_GRANTS, Role
from intake.models import TriageRuleCode
from intake.retriage import THRESHOLD_RULES
from portfolio.choices import BusinessFunction, MembershipRole, RiskTier

TEXT = {"class": "form-control"}
SELECT = {"class": "form-select"}
ROLE_CHOICES = [(r.value, r.label) for r in Role]


class RoleCheckboxes(forms.CheckboxSelectMultiple):
    """One checkbox per role, each carrying the line that says what the role may do (`grants`),
    which admin_area/partials/_roles.html shows under its name."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        option["grants"] = ROLE_GRANTS.get(value, "")
        return option


def roles_field():
    return forms.MultipleChoiceField(
        choices=ROLE_CHOICES,
        required=False,
        widget=RoleCheckboxes(attrs={"class": "form-check-input"}),
        label="Roles",
    )


class PersonFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=100, label="Search", widget=forms.TextInput(attrs=TEXT))
    role = forms.ChoiceField(
        required=False, choices=[("", "Any role"), *ROLE_CHOICES], widget=forms.Select(attrs=SELECT)
    )
    status = forms.ChoiceField(
        required=False,
        choices=[("", "Active and inactive"), ("active", "Active"), ("inactive", "Inactive")],
        widget=forms.Select(attrs=SELECT),
    )


class InviteForm(forms.Form):
    username = forms.CharField(
        max_length=150, help_text="What they log in with.", widget=forms.TextInput(attrs=TEXT)
    )
    email = forms.EmailField(
        max_length=254, help_text="The invitation is sent here.", widget=forms.EmailInput(attrs=TEXT)
    )
    first_name = forms.CharField(max_length=150, required=False, widget=forms.TextInput(attrs=TEXT))
    last_name = forms.CharField(max_length=150, required=False, widget=forms.TextInput(attrs=TEXT))
    roles = roles_field()


class RolesForm(forms.Form):
    roles = roles_field()


class TeamForm(forms.Form):
    name = forms.CharField(max_length=100, widget=forms.TextInput(attrs=TEXT))
    business_function = forms.ChoiceField(choices=BusinessFunction.choices, widget=forms.Select(attrs=SELECT))
    cost_center = forms.CharField(
        max_length=32, help_text="The finance cost center, e.g. CC-4100.", widget=forms.TextInput(attrs=TEXT)
    )
    description = forms.CharField(
        max_length=2000, required=False, widget=forms.Textarea(attrs={**TEXT, "rows": 2})
    )


class MemberAddForm(forms.Form):
    username = forms.CharField(
        max_length=150, label="Person", help_text="Their username.", widget=forms.TextInput(attrs=TEXT)
    )
    role = forms.ChoiceField(
        choices=MembershipRole.choices, initial=MembershipRole.MEMBER, widget=forms.Select(attrs=SELECT)
    )

    def clean_username(self):
        from django.contrib.auth import get_user_model

        username = self.cleaned_data["username"].strip()
        user = get_user_model().objects.filter(username__iexact=username, is_active=True).first()
        if user is None:
            raise forms.ValidationError(f"Nobody active has the username “{username}”.")
        return user


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=MembershipRole.choices, widget=forms.Select(attrs=SELECT))


class TriageRuleForm(forms.Form):
    enabled = forms.BooleanField(
        required=False, label="Rule applies", widget=forms.CheckboxInput(attrs={"class": "form-check-input"})
    )
    tier = forms.ChoiceField(
        choices=RiskTier.choices, label="Risk tier it sets", widget=forms.Select(attrs=SELECT)
    )
    threshold = forms.DecimalField(
        required=False,
        max_digits=18,
        decimal_places=6,
        validators=[MinValueValidator(Decimal("0"))],
        widget=forms.NumberInput(attrs={**TEXT, "step": "any", "min": "0"}),
    )
    fingerprint = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args, code, **kwargs):
        super().__init__(*args, **kwargs)
        self.code = code
        if code in THRESHOLD_RULES:
            self.fields["threshold"].required = True
            self.fields["threshold"].label = (
                "How many high-risk factors"
                if code == TriageRuleCode.COMBINED_HIGH_RISKS
                else "Monthly amount, USD"
            )
        else:
            del self.fields["threshold"]
