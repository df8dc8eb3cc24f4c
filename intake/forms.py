"""The intake form: one form for the browser and the API, so both give the same messages."""

from django import forms
from django.contrib.auth import get_user_model
from django.utils.text import slugify

from aifinops.core import permissions
from aifinops.core.widgets import label_empty_choices, style_fields
from portfolio.models import AIModel, TagKey, Team

from .models import IntakeRequest
from .selectors import catalog_models_for_choice
from .validation import AGENT_FIELDS, AGENTIC, submission_problems, tag_keys_for_use_cases

CURRENCIES = [("USD", "USD"), ("EUR", "EUR"), ("GBP", "GBP"), ("CHF", "CHF"), ("CAD", "CAD")]

SUBMIT, DRAFT = "submit", "draft"
DEFAULTED = (
    "user_audience",
    "data_classification",
    "customer_impact",
    "currency",
    "autonomy_level",
    "environment",
)


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.get_full_name() or obj.get_username()} ({obj.get_username()})"


class CatalogModelChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        status = "" if obj.status == "approved" else f", {obj.get_status_display().lower()}"
        return f"{obj.name} ({obj.provider.name}, {obj.get_tier_display().lower()}{status})"


class IntakeForm(forms.ModelForm):
    """Validates an intake. With mode="submit" it also checks what submission needs."""

    team = forms.ModelChoiceField(
        queryset=Team.objects.none(), to_field_name="slug", empty_label="Choose a team…"
    )
    business_owner = PersonChoiceField(
        queryset=get_user_model().objects.none(),
        to_field_name="username",
        required=False,
        empty_label="Not named yet",
    )
    technical_owner = PersonChoiceField(
        queryset=get_user_model().objects.none(),
        to_field_name="username",
        required=False,
        empty_label="Not named yet",
    )
    ai_models = CatalogModelChoiceField(
        queryset=AIModel.objects.none(),
        to_field_name="ref",
        required=False,
        label="Models",
        help_text="Hold Ctrl (Cmd on a Mac) to choose several.",
    )
    currency = forms.ChoiceField(choices=CURRENCIES, initial="USD")

    class Meta:
        model = IntakeRequest
        fields = list(IntakeRequest.INPUT_FIELDS)
        labels = {
            "name": "Use-case name",
            "proposed_key": "Key",
            "purpose": "Purpose",
            "problem": "Problem it solves",
            "user_audience": "Users",
            "expected_users": "Expected number of users",
            "data_classification": "Data touched",
            "personal_data": "Touches personal data",
            "unlisted_model": "Model not in the catalog",
            "task_kind": "Kind of task",
            "model_justification": "Why this model?",
            "expected_calls_per_month": "Calls per month",
            "input_tokens_per_call": "Input tokens per call",
            "output_tokens_per_call": "Output tokens per call",
            "expected_monthly_cost": "Expected monthly cost",
            "value_metric": "Value metric",
            "value_per_outcome": "Value per outcome",
            "outcomes_per_month": "Outcomes per month",
            "autonomy_level": "Autonomy",
            "tool_permissions": "Tool permissions",
            "external_actions": "Can act outside the company (email, payments, other systems)",
            "requested_spend_cap": "Requested monthly spend cap",
            "cost_center": "Cost center",
        }
        help_texts = {
            "proposed_key": "Used to tag spend; generated from the name when left blank.",
            "tool_permissions": "One tool per line, e.g. “read CRM”, “send email”.",
            "unlisted_model": "Provider and model, e.g. “Cohere Command R+”. Unlisted models need review.",
            "model_justification": "Needed when the model is bigger than the task needs.",
        }
        widgets = {
            "purpose": forms.Textarea(attrs={"rows": 2}),
            "problem": forms.Textarea(attrs={"rows": 2}),
            "model_justification": forms.Textarea(attrs={"rows": 2}),
            "tool_permissions": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, data=None, *args, user, mode=DRAFT, **kwargs):
        self.unknown_tags = []
        if data is not None and isinstance(data.get("tags"), dict):
            # The API sends tags as one object; the page sends one field per key.
            tags = data["tags"]
            data = {k: v for k, v in data.items() if k != "tags"}
            known = set(TagKey.objects.values_list("key", flat=True))
            for key, value in tags.items():
                if key in known:
                    data[f"tag_{key}"] = "" if value is None else str(value)
                else:
                    self.unknown_tags.append(str(key))
        super().__init__(data, *args, **kwargs)
        self.user = user
        self.mode = mode
        self.tag_keys = tag_keys_for_use_cases()
        self.fields["team"].queryset = Team.objects.filter(permissions.intake_team_scope(user)).order_by(
            "name"
        )
        people = (
            get_user_model().objects.filter(is_active=True).order_by("first_name", "last_name", "username")
        )
        self.fields["business_owner"].queryset = people
        self.fields["technical_owner"].queryset = people
        self.fields["ai_models"].queryset = catalog_models_for_choice()
        self.fields["ai_models"].widget.attrs["size"] = 8
        label_empty_choices(
            self.fields, {"task_kind": "Not sure yet", "run_frequency": "Choose how often it runs…"}
        )
        existing_tags = self.instance.tags if self.instance.pk else {}
        for tag_key in self.tag_keys:
            name = f"tag_{tag_key.key}"
            if tag_key.allowed_values:
                choices = [
                    (v, v.replace("_", " ").replace("-", " ").capitalize()) for v in tag_key.allowed_values
                ]
                empty = "Choose one…" if tag_key.required else "Not set"
                field = forms.ChoiceField(choices=[("", empty), *choices], required=False)
            else:
                field = forms.CharField(max_length=100, required=False)
            field.label = tag_key.label
            field.help_text = tag_key.description
            field.initial = existing_tags.get(tag_key.key, "")
            self.fields[name] = field
        # Fields with a sensible default may be left out (an API draft sends only what it knows).
        for name in DEFAULTED:
            self.fields[name].required = False
        style_fields(self.fields)
        for name, field in self.fields.items():
            field.widget.attrs.setdefault("aria-describedby", f"{name}-help")

    def _tag_values(self):
        return {t.key: (self.cleaned_data.get(f"tag_{t.key}") or "").strip() for t in self.tag_keys}

    def clean_proposed_key(self):
        return self.cleaned_data.get("proposed_key") or ""

    def clean(self):
        cleaned = super().clean()
        for name in DEFAULTED:
            if not cleaned.get(name) and name not in self.errors:
                cleaned[name] = IntakeRequest._meta.get_field(name).get_default()
        tags = {k: v for k, v in self._tag_values().items() if v}
        cleaned["tags"] = tags
        if not cleaned.get("proposed_key") and cleaned.get("name"):
            cleaned["proposed_key"] = slugify(cleaned["name"])[:80]
        for key in self.unknown_tags:
            self.add_error(None, f"“{key}” is not a key of the tag schema.")
        if cleaned.get("autonomy_level") not in AGENTIC:
            # Agent controls mean nothing for assistive use: the section is hidden, its values dropped.
            cleaned.update(
                tool_permissions="", external_actions=False, run_frequency="", requested_spend_cap=None
            )
        if not cleaned.get("cost_center") and cleaned.get("team"):
            cleaned["cost_center"] = cleaned["team"].cost_center
        if self.mode == SUBMIT and not self.errors:
            for field, messages in submission_problems(cleaned, tag_keys=self.tag_keys).items():
                for message in messages:
                    self.add_error(field if field in self.fields else None, message)
        return cleaned

    @property
    def fields_with_errors(self):
        return [self[name] for name in self.errors if name in self.fields]

    @property
    def agent_fields(self):
        return [self[name] for name in AGENT_FIELDS]

    @property
    def tag_fields(self):
        return [self[f"tag_{t.key}"] for t in self.tag_keys]

    def field_groups(self):
        """The form's sections, in order, for the template."""
        names = {
            "About the use case": [
                "name",
                "proposed_key",
                "purpose",
                "problem",
                "team",
                "business_owner",
                "technical_owner",
            ],
            "Users, data and customers": [
                "user_audience",
                "expected_users",
                "data_classification",
                "personal_data",
                "customer_impact",
            ],
            "Models": ["ai_models", "unlisted_model", "task_kind", "model_justification"],
            "Value": ["value_metric", "value_per_outcome", "outcomes_per_month", "success_metric"],
            "Operations": ["environment", "cost_center"],
        }
        return {title: [self[n] for n in fields] for title, fields in names.items()}
