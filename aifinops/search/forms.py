from django import forms

from aifinops.core.api.parsers import text_problem
from aifinops.core.search import MAX_QUERY_LENGTH

from .selectors import KINDS


class SearchForm(forms.Form):
    """One validation of a search for the page, the dropdown and the API."""

    q = forms.CharField(
        required=False,
        max_length=MAX_QUERY_LENGTH,
        label="Search",
        help_text="Words of a name, a key or a purpose; each word may be the start of one.",
    )
    kind = forms.ChoiceField(
        required=False,
        choices=[("", "Everything"), *((k, k) for k in KINDS)],
        help_text="Only this kind of record.",
    )
    page = forms.IntegerField(required=False, min_value=1, max_value=1000, help_text="With kind: the page.")

    def clean_q(self):
        q = self.cleaned_data["q"]
        problem = text_problem(q)
        if problem:
            raise forms.ValidationError(problem)
        return q
