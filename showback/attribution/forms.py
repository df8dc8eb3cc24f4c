from django import forms

from aifinops.core.widgets import label_empty_choices, style_fields
from portfolio.models import Team, UseCase

from ..models import AttributionRule, MatchField


class AttributionRuleForm(forms.ModelForm):
    use_case = forms.ModelChoiceField(
        queryset=UseCase.objects.order_by("name"), to_field_name="key", required=False, label="Use case"
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.order_by("name"), to_field_name="slug", required=False
    )

    class Meta:
        model = AttributionRule
        fields = [
            "priority",
            "name",
            "enabled",
            "match_field",
            "match_key",
            "match_value",
            "use_case",
            "team",
            "environment",
            "customer",
            "feature",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_fields(self.fields, small=True)
        label_empty_choices(
            self.fields,
            {
                "match_field": "Choose what to match…",
                "use_case": "No use case",
                "team": "No team",
                "environment": "No environment",
            },
        )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("match_field") == MatchField.TAG and not (cleaned.get("match_key") or "").strip():
            self.add_error("match_key", "A tag rule needs the tag key, e.g. project or ai-use-case.")
        assigns = ("use_case", "team", "environment", "customer", "feature")
        if not any(cleaned.get(name) for name in assigns):
            self.add_error(
                None,
                "Choose what the rule assigns: a use case, a team, an environment, a customer or a feature.",
            )
        return cleaned
