from django import forms


class RevenueUploadForm(forms.Form):
    file = forms.FileField(
        allow_empty_file=True,
        label="Revenue file (CSV)",
        help_text="Columns: month (YYYY-MM), customer, revenue, currency, and optionally plan and segment. "
        "One row per customer and month; loading a customer and month again replaces it.",
        widget=forms.ClearableFileInput(attrs={"class": "form-control", "accept": ".csv,text/csv"}),
    )
