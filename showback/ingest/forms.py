from django import forms

from ..models import ImportMode
from .importers.registry import label_choices


class SpendUploadForm(forms.Form):
    # Empty files reach the service, whose message says what to do.
    file = forms.FileField(
        allow_empty_file=True,
        label="Spend file",
        help_text="FOCUS 1.0 to 1.3 CSV (plain or .gz), LiteLLM spend logs (CSV or JSON) or daily spend, "
        "OpenAI usage or costs (JSON), Anthropic usage or cost report (JSON), or the generic CSV.",
        widget=forms.ClearableFileInput(attrs={"class": "form-control"}),
    )
    source_format = forms.ChoiceField(
        label="Format", required=False, widget=forms.Select(attrs={"class": "form-select"})
    )
    mode = forms.ChoiceField(
        label="If some rows are bad",
        choices=ImportMode.choices,
        initial=ImportMode.ALL_OR_NOTHING,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source_format"].choices = [("", "Detect from the file"), *label_choices()]
