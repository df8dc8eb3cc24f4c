from decimal import Decimal

from django import forms

from aifinops.core.widgets import DateInput, label_empty_choices, style_fields
from portfolio.models import AIModel, Provider

from ..currencies import is_currency
from ..models import Commitment, CommitmentCategory

MAX_UPLOAD = 5 * 1024 * 1024
MAX_AMOUNT = Decimal("999999999999.99")


class CommitmentForm(forms.ModelForm):
    class Meta:
        model = Commitment
        fields = [
            "name",
            "provider",
            "service_name",
            "models_covered",
            "category",
            "term_start",
            "term_end",
            "committed_amount",
            "capacity_units",
            "capacity_unit",
            "unit_price",
            "currency",
            "billing",
            "contract_id",
        ]
        widgets = {"term_start": DateInput(), "term_end": DateInput()}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provider"].queryset = Provider.objects.order_by("name")
        self.fields["models_covered"].queryset = AIModel.objects.select_related("provider").order_by(
            "provider__name", "name"
        )
        self.fields["models_covered"].required = False
        style_fields(self.fields)
        label_empty_choices(self.fields, {"provider": "Choose a provider…", "category": "Choose a category…"})

    def clean_currency(self):
        code = (self.cleaned_data.get("currency") or "").upper()
        if not is_currency(code):
            raise forms.ValidationError("Give an ISO 4217 currency code, such as USD or EUR.")
        return code

    def clean(self):
        data = super().clean()
        start, end = data.get("term_start"), data.get("term_end")
        if start and end and end < start:
            self.add_error("term_end", "The term ends before it starts.")
        if start and end and (end - start).days > 3660:
            self.add_error("term_end", "A term of more than ten years: check the dates.")
        for name in ("committed_amount", "capacity_units", "unit_price"):
            value = data.get(name)
            if value is not None and value < 0:
                self.add_error(name, "Must be zero or more.")
            elif value is not None and value > MAX_AMOUNT:
                self.add_error(name, f"Must be at most {MAX_AMOUNT:,}.")
        category = data.get("category")
        if category == CommitmentCategory.SPEND and data.get("committed_amount") is None:
            self.add_error("committed_amount", "Committed spend needs the amount committed over the term.")
        if category == CommitmentCategory.USAGE and data.get("committed_amount") is None:
            for name in ("capacity_units", "unit_price"):
                if data.get(name) is None:
                    self.add_error(
                        name,
                        "Capacity needs its units and the price of a unit a month (or a committed amount).",
                    )
            if not data.get("capacity_unit"):
                self.add_error("capacity_unit", "Name the unit: PTU, model units, seats…")
        models = data.get("models_covered")
        provider = data.get("provider")
        if models and provider and any(m.provider_id != provider.pk for m in models):
            self.add_error("models_covered", "Pick models of the commitment's provider only.")
        return data


class CommitmentImportForm(forms.Form):
    provider = forms.ModelChoiceField(
        queryset=Provider.objects.order_by("name"), help_text="Whom the file's commitments are with."
    )
    file = forms.FileField(
        allow_empty_file=True,
        label="FOCUS 1.3 contract-commitment file (CSV)",
        help_text="Columns: ContractCommitmentId, ContractId, ContractCommitmentCost, BillingCurrency, "
        "ContractCommitmentPeriodStart, ContractCommitmentPeriodEnd, and optionally "
        "ContractCommitmentCategory, ContractCommitmentQuantity, ContractCommitmentUnit, "
        "ContractCommitmentType, ContractCommitmentDescription.",
        widget=forms.ClearableFileInput(attrs={"class": "form-control", "accept": ".csv,text/csv"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_fields(self.fields)
        label_empty_choices(self.fields, {"provider": "Choose a provider…"})

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD:
            raise forms.ValidationError(
                f"The file is larger than {MAX_UPLOAD // (1024 * 1024)} MB: split it."
            )
        if upload.read(2) == b"\x1f\x8b":
            raise forms.ValidationError("The file is gzip-compressed: upload the CSV itself.")
        upload.seek(0)
        return upload
